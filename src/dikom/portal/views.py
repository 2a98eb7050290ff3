"""Citizen pages of the portal: thin views over actions, access and steps."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.authproviders import registry as auth_registry
from dikom.authproviders.service import clear_identity, current_identity
from dikom.authproviders.service import start_url as auth_start_url
from dikom.eservices.definition import fees as fee_rules
from dikom.eservices.definition.fields import clean_answers
from dikom.eservices.definition.schema import text
from dikom.eservices.service import ServiceSummary, adoption_for, local_fees, offered_summaries
from dikom.lib.pagecache import anonymous_page_cache
from dikom.lib.pdf import PdfError, PdfUnavailable
from dikom.payments import service as payments_service
from dikom.portal import access, actions, events, fieldhtml, progress, steps
from dikom.portal.models import Application
from dikom.portal.receipt import receipt_pdf
from dikom.web.branding import brand_for, initials

logger = logging.getLogger(__name__)


def _lang() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


def _base(municipality: Any, adoption: Any = None) -> dict[str, Any]:
    """What every portal page shows of its city: name, colours, coat of arms and contact."""
    contact = {"website": municipality.website, "email": "", "phone": ""}
    if adoption is not None:
        contact.update(email=adoption.contact_email, phone=adoption.contact_phone)
    return {
        "municipality": municipality,
        "brand": brand_for(municipality.brand_colour),
        "initials": initials(municipality.name),
        "contact": contact,
    }


def _progress(application: Application, current: int | str, answers: dict[str, Any] | None = None) -> Any:
    return progress.progress_for(
        application.content,
        application.answers if answers is None else answers,
        current,
        needs_sign_in=actions.needs_sign_in(application.content),
        language=_lang(),
    )


def _title(content: dict[str, Any]) -> str:
    return text((content.get("identity") or {}).get("title"), _lang())


def _step_url(application: Application, number: int) -> str:
    return reverse("portal:step", args=[application.municipality.slug, application.uuid, number])


def _summary_url(application: Application) -> str:
    return reverse("portal:summary", args=[application.municipality.slug, application.uuid])


def _done_url(application: Application) -> str:
    return reverse("portal:confirmation", args=[application.municipality.slug, application.uuid])


# --- Finder and service page --------------------------------------------------------


@anonymous_page_cache
def finder(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_municipality(city)
    query = request.GET.get("q", "").strip()[:100]
    offered_services = offered_summaries(municipality, _lang())
    groups: dict[str, list[ServiceSummary]] = {}
    for offered in offered_services:
        if query and not any(
            query.lower() in s.lower() for s in [offered.title, offered.description, *offered.keywords]
        ):
            continue
        groups.setdefault(offered.topic or _("Other services"), []).append(offered)
    shown = sorted(groups.items())
    context = {
        **_base(municipality),
        "query": query,
        "groups": shown,
        "found": sum(len(services) for _topic, services in shown),
        # Everything the rendered list shows (besides the city's slug and the language): it is
        # rendered once per process and key (``{% fragment %}``), so a new adoption, a switched-off
        # service or an upgraded version is a new key, never a stale list.
        "groups_key": tuple(
            (topic, tuple((o.slug, o.title, o.description) for o in services)) for topic, services in shown
        ),
    }
    # The city's contact for its portal: the address most of its services name (demo cities have no website).
    emails = Counter(o.contact_email for o in offered_services if o.contact_email)
    phones = Counter(o.contact_phone for o in offered_services if o.contact_phone)
    context["contact"].update(
        email=emails.most_common(1)[0][0] if emails else "", phone=phones.most_common(1)[0][0] if phones else ""
    )
    return render(request, "portal/finder.html", context)


def _auth_labels() -> dict[str, str]:
    return {
        "bundid": "BundID",
        "elster": "ELSTER",
        "eid": _("Online ID card (eID)"),
        "eu_wallet": _("EU digital identity wallet"),
        "organisation_account": _("Organisation account"),
        "none": _("Without signing in"),
    }


def _trust_labels() -> dict[str, str]:
    return {"none": _("none"), "low": _("low"), "substantial": _("substantial"), "high": _("high")}


@anonymous_page_cache
def service_detail(request: HttpRequest, city: str, slug: str) -> HttpResponse:
    municipality = access.get_municipality(city)
    offered = adoption_for(municipality, slug)
    if offered is None:
        raise Http404
    content = offered.content
    lang = _lang()
    try:
        lines = fee_rules.calculate(content, {}, local_fees(offered.adoption), language=lang)
    except fee_rules.FeeError:
        lines = []
    fees = []
    for fee in content.get("fees") or []:
        key = fee.get("key")
        amount = (
            offered.adoption.fees.get(key, fee.get("amount_cents"))
            if fee.get("locally_adjustable")
            else fee.get("amount_cents")
        )
        fees.append(
            {"label": text(fee.get("label"), lang), "amount_cents": amount, "rule": fee.get("amount_rule") is not None}
        )
    labels = _auth_labels()
    context = {
        **_base(municipality, offered.adoption),
        "offered": offered,
        "title": _title(content),
        "description": text((content.get("identity") or {}).get("description"), lang),
        "documents": [text(d.get("title"), lang) for d in content.get("documents") or []],
        "required_uploads": [
            text(f.get("label"), lang)
            for s in steps.steps_of(content)
            for f in s.get("fields") or []
            if f.get("type") == "file" and f.get("required")
        ],
        "fees": fees,
        "fee_lines": lines,
        "auth_methods": [labels.get(m, m) for m in content.get("auth_methods") or []],
        "hint": offered.adoption.hint_en if lang == "en" and offered.adoption.hint_en else offered.adoption.hint_de,
        "steps": [text(s.get("title"), lang) for s in steps.steps_of(content)],
    }
    return render(request, "portal/service.html", context)


@require_POST
def start(request: HttpRequest, city: str, slug: str) -> HttpResponse:
    municipality = access.get_municipality(city)
    offered = adoption_for(municipality, slug)
    if offered is None:
        raise Http404
    application = actions.start_application(adopted=offered, citizen=request.user)
    if application.citizen_id is None:
        access.remember_in_session(request, application)
    events.emit(application, "service_started", request)
    if not actions.is_signed_in(application):
        return redirect(_sign_in_url(application))
    return redirect(_step_url(application, application.current_step))


# --- Sign-in ------------------------------------------------------------------------

AUTH_CHOSEN_SESSION_KEY = "portal_auth_chosen"


def _sign_in_url(application: Application) -> str:
    return reverse("portal:sign_in", args=[application.municipality.slug, application.uuid])


def _sign_in_options(content: dict[str, Any]) -> list[dict[str, str]]:
    """One choice per allowed method and provider that offers it at the needed trust level."""
    labels = _auth_labels()
    level = str(content.get("trust_level") or "none")
    options = []
    for method in [str(m) for m in content.get("auth_methods") or [] if m != "none"]:
        for provider in auth_registry.providers_for([method], level):
            options.append(
                {"method": method, "method_label": labels.get(method, method), "provider": provider.key,
                 "provider_label": str(provider.label), "demo": "1" if provider.demo_only else ""}
            )  # fmt: skip
    return options


def sign_in(request: HttpRequest, city: str, uuid: str) -> HttpResponse:
    """Choose how to sign in; coming back here with an identity binds it to the draft."""
    municipality = access.get_municipality(city)
    application = access.get_application_for_request(request, municipality, uuid)
    if not application.is_draft:
        return redirect(_done_url(application))
    if actions.is_signed_in(application):
        return redirect(_step_url(application, application.current_step))
    content = application.content
    problem = ""
    identity = current_identity(request)
    if identity is not None:
        problem = actions.sign_in_problem(content, identity) or ""
        if not problem:
            if actions.record_sign_in(application, identity):
                chosen = list(request.session.get(AUTH_CHOSEN_SESSION_KEY, []))
                if str(application.uuid) not in chosen:
                    events.emit(application, "auth_chosen", request, auth_method=identity.method)
                else:
                    chosen.remove(str(application.uuid))
                    request.session[AUTH_CHOSEN_SESSION_KEY] = chosen
                events.emit(application, "auth_completed", request, auth_method=identity.method)
            return redirect(_step_url(application, application.current_step))
    options = _sign_in_options(content)
    level = str(content.get("trust_level") or "none")
    context = {
        **_base(municipality, application.adoption),
        "application": application,
        "title": _title(content),
        "options": options,
        "problem": problem,
        "trust_level": _trust_labels().get(level, level),
        "progress": _progress(application, progress.SIGN_IN),
    }
    status = 400 if problem else (503 if not options else 200)
    return render(request, "portal/sign_in.html", context, status=status)


@require_POST
def sign_in_with(request: HttpRequest, city: str, uuid: str) -> HttpResponse:
    municipality = access.get_municipality(city)
    application = access.get_application_for_request(request, municipality, uuid)
    if not application.is_draft or actions.is_signed_in(application):
        return redirect(_sign_in_url(application))
    choice = (request.POST.get("method", ""), request.POST.get("provider", ""))
    if choice not in {(o["method"], o["provider"]) for o in _sign_in_options(application.content)}:
        messages.error(request, _("Please choose one of the sign-in methods offered."))
        return redirect(_sign_in_url(application))
    # The citizen may still hold an identity that was not good enough: start afresh.
    clear_identity(request)
    events.emit(application, "auth_chosen", request, auth_method=choice[0])
    chosen = list(request.session.get(AUTH_CHOSEN_SESSION_KEY, []))
    request.session[AUTH_CHOSEN_SESSION_KEY] = [*chosen[-49:], str(application.uuid)]
    level = str(application.content.get("trust_level") or "none")
    # Providers that can ask for a level (BundID) read it from the start URL; others ignore it.
    return redirect(auth_start_url(choice[1], _sign_in_url(application)) + "&" + urlencode({"level": level}))


# --- Steps --------------------------------------------------------------------------


def _prior_answers(application: Application, number: int) -> dict[str, Any]:
    """Answers of the visible steps before ``number`` (what this step's rules may use)."""
    prior: dict[str, Any] = {}
    for n, step in enumerate(steps.steps_of(application.content), start=1):
        if n >= number:
            break
        if steps.step_visible(step, prior):
            prior[str(step.get("key"))] = application.answers.get(str(step.get("key"))) or {}
    return prior


def _neighbour(application: Application, number: int, direction: int) -> int | None:
    answers = application.answers
    visible = steps.visible_numbers(application.content, answers)
    candidates = [n for n in visible if (n > number if direction > 0 else n < number)]
    if not candidates:
        return None
    return min(candidates) if direction > 0 else max(candidates)


def _attach_files(
    request: HttpRequest,
    application: Application,
    step_key: str,
    fields: list[dict[str, Any]],
    values: dict[str, Any],
    prefix: str,
    error_prefix: str,
    errors: dict[str, list[str]],
) -> None:
    for spec in fields:
        key = str(spec.get("key"))
        name = f"{prefix}{key}"
        if spec.get("type") == "file":
            upload = request.FILES.get(name)
            if upload is None:
                continue
            result = actions.store_upload(application, spec, f"{step_key}.{error_prefix}{key}", upload)
            if result.error:
                errors[f"{error_prefix}{key}"] = [result.error]
                values.pop(key, None)
            else:
                values[key] = result.value
        elif spec.get("type") == "repeating_group":
            for index, item in enumerate(values.get(key) or []):
                _attach_files(
                    request, application, step_key, spec.get("fields") or [], item,
                    f"{name}-{index}-", f"{error_prefix}{key}[{index}].", errors,
                )  # fmt: skip


def _render_step(
    request: HttpRequest, application: Application, number: int, values: dict[str, Any], errors: dict[str, list[str]]
) -> HttpResponse:
    content = application.content
    step = steps.steps_of(content)[number - 1]
    lang = _lang()
    scope = _prior_answers(application, number)
    scope[str(step.get("key"))] = values
    bound = steps.bind_fields(
        step.get("fields") or [], values, errors, scope, prefix="f-", error_prefix="", language=lang
    )
    summary_errors = steps.flat_errors(bound)
    for key, msgs in errors.items():  # group count errors and others without a bound field of their own
        if not any(key == b.spec.get("key") for b in bound) and "[" not in key:
            summary_errors.extend((f"id-f-{key}", key, m) for m in msgs)
    context = {
        **_base(application.municipality, application.adoption),
        "application": application,
        "title": _title(content),
        "step": step,
        "step_title": text(step.get("title"), lang),
        "number": number,
        "progress": _progress(application, number, {**application.answers, **scope}),
        "fields": bound,
        "fields_html": fieldhtml.render_fields(bound),  # the bytes of portal/_field.html, without the engine
        "error_summary": summary_errors,
        "has_files": _has_files(step.get("fields") or []),
        "is_first": _neighbour(application, number, -1) is None,
    }
    return render(request, "portal/step.html", context, status=400 if errors else 200)


def _has_files(fields: list[dict[str, Any]]) -> bool:
    return any(f.get("type") == "file" or _has_files(f.get("fields") or []) for f in fields)


def _saved_response(request: HttpRequest, application: Application) -> HttpResponse:
    if application.citizen_id is not None:
        messages.success(request, _("Your application was saved. You can continue it under “My applications”."))
        return redirect("portal:my_applications")
    token = actions.issue_resume_token(application)
    link = request.build_absolute_uri(reverse("portal:resume", args=[token]))
    context = {**_base(application.municipality), "application": application, "link": link,
               "title": _title(application.content)}  # fmt: skip
    response = render(request, "portal/saved.html", context)
    response["Cache-Control"] = "no-store"
    return response


def step(request: HttpRequest, city: str, uuid: str, number: int) -> HttpResponse:
    application = access.get_application_in_city(request, city, uuid)
    if not application.is_draft:
        return redirect(_done_url(application))
    if not actions.is_signed_in(application):
        return redirect(_sign_in_url(application))
    if actions.answers_locked(application):
        messages.info(request, _("Your answers can no longer be changed because the fee is paid or being paid."))
        return redirect(_summary_url(application))
    content = application.content
    all_steps = steps.steps_of(content)
    if not 1 <= number <= len(all_steps):
        raise Http404
    step_def = all_steps[number - 1]
    step_key = str(step_def.get("key"))
    prior = _prior_answers(application, number)
    if not steps.step_visible(step_def, prior):
        following = _neighbour(application, number, +1)
        return redirect(_step_url(application, following) if following else _summary_url(application))
    if request.method != "POST":
        events.emit(application, "step_viewed", request, step_key=step_key, step_position=number)
        return _render_step(request, application, number, application.answers.get(step_key) or {}, {})

    action = request.POST.get("action", "next")
    previous = application.answers.get(step_key) or {}
    raw = steps.parse_fields(step_def.get("fields") or [], request.POST, "f-", previous)
    upload_errors: dict[str, list[str]] = {}
    _attach_files(request, application, step_key, step_def.get("fields") or [], raw, "f-", "", upload_errors)

    if action.startswith(("add:", "remove:")):
        parts = action.split(":")
        group = parts[1] if len(parts) > 1 else ""
        if isinstance(raw.get(group), list):
            if parts[0] == "add":
                raw[group].append({})
            elif len(parts) == 3 and parts[2].isdigit() and int(parts[2]) < len(raw[group]):
                raw[group].pop(int(parts[2]))
        actions.save_step_answers(application, step_key, raw, next_step=number)
        return _render_step(request, application, number, raw, upload_errors)
    if action == "back":
        actions.save_step_answers(application, step_key, raw, next_step=number)
        before = _neighbour(application, number, -1)
        if before is None:
            return redirect("portal:service", city, application.adoption.definition.slug)
        return redirect(_step_url(application, before))
    if action == "save":
        actions.save_step_answers(application, step_key, raw, next_step=number)
        return _saved_response(request, application)

    result = clean_answers(step_def, raw, all_answers=prior, today=steps.today())
    errors = {**result.errors, **upload_errors}
    if errors:
        return _render_step(request, application, number, raw, errors)
    application.answers = {**application.answers, step_key: result.values}
    following = _neighbour(application, number, +1)
    actions.save_step_answers(application, step_key, result.values, next_step=following or number)
    events.emit(application, "step_completed", request, step_key=step_key, step_position=number)
    return redirect(_step_url(application, following) if following else _summary_url(application))


# --- Summary, submission, confirmation ----------------------------------------------


def summary(request: HttpRequest, city: str, uuid: str) -> HttpResponse:
    municipality = access.get_municipality(city)
    application = access.get_application_for_request(request, municipality, uuid)
    if not application.is_draft:
        return redirect(_done_url(application))
    if not actions.is_signed_in(application):
        return redirect(_sign_in_url(application))
    error = ""
    if request.method == "POST":
        if request.POST.get("action") == "save":
            return _saved_response(request, application)
        if request.POST.get("action") == "pay":
            return _pay(request, application)
        try:
            application, _won = actions.submit_application(
                application, submission_key=request.POST.get("submission_key", "")
            )
        except actions.SubmissionError as exc:
            if exc.step is not None:
                messages.error(request, str(exc))
                return redirect(_step_url(application, exc.step))
            error = str(exc)
        else:
            if _won:
                events.emit(application, "submitted", request)
            if application.is_draft:  # a stale form (old submission key)
                error = _("This form was outdated. Please check your answers and submit again.")
            else:
                return redirect(_done_url(application))
    cleaned, broken = actions.validate_all(application)
    if broken is not None and request.method != "POST":
        return redirect(_step_url(application, broken))
    lang = _lang()
    sections = []
    for number, step_def in enumerate(steps.steps_of(application.content), start=1):
        key = str(step_def.get("key"))
        if key not in cleaned:
            continue
        sections.append(
            {
                "title": text(step_def.get("title"), lang),
                "url": _step_url(application, number),
                "rows": steps.summary_rows(step_def.get("fields") or [], cleaned[key], lang),
            }
        )
    try:
        lines = actions.fee_lines(application, cleaned, lang)
    except fee_rules.FeeError:
        lines = []
    due = actions.amount_due(application, cleaned) if broken is None else 0
    payment = actions.payment_of(application)
    paid = actions.paid_attempt(application)
    latest = payments_service.latest_attempt(payment) if payment is not None else None
    context = {
        **_base(municipality, application.adoption),
        "application": application,
        "title": _title(application.content),
        "sections": sections,
        "fee_lines": lines,
        "fee_total": sum(line["amount_cents"] for line in lines),
        "error": error,
        "amount_due": due,
        "paid": paid is not None and paid.amount_cents == due,
        "payment_status": latest.status if latest is not None else "",
        "payment_url": _payment_link(request, latest),
        "locked": actions.answers_locked(application),
        "progress": _progress(application, progress.SUMMARY, cleaned),
        "may_submit": not due or (paid is not None and paid.amount_cents == due),
    }
    return render(request, "portal/summary.html", context, status=400 if error else 200)


def _pay(request: HttpRequest, application: Application) -> HttpResponse:
    """Create (or find) the application's payment and send the citizen to the payment platform."""
    cleaned, broken = actions.validate_all(application)
    if broken is not None:
        return redirect(_step_url(application, broken))
    try:
        due = actions.amount_due(application, cleaned)
    except fee_rules.FeeError:
        due = 0
    if due <= 0:
        return redirect(_summary_url(application))
    try:
        payment = actions.start_payment(
            application,
            amount_cents=due,
            description=f"{_title(application.content)} ({application.municipality.name})"[:200],
            return_url=_summary_url(application),
        )
    except ImproperlyConfigured:
        logger.error("portal: no payment provider enabled for %s", application.municipality.slug)
        messages.error(request, _("Online payment is not available at the moment. Please try again later."))
        return redirect(_summary_url(application))
    except ValidationError:
        messages.error(request, _("The payment could not be started. Please try again."))
        return redirect(_summary_url(application))
    return redirect(_payment_link(request, payment))


def _payment_link(request: HttpRequest, payment: Any) -> str:
    """The payment's page, opened to this session (call only for the application's owner, as checked)."""
    if payment is None:
        return ""
    payments_service.bind_to_session(request, payment)
    return payments_service.start_url(payment)


def confirmation(request: HttpRequest, city: str, uuid: str) -> HttpResponse:
    municipality = access.get_municipality(city)
    application = access.get_application_for_request(request, municipality, uuid)
    if application.is_draft:
        return redirect(_step_url(application, application.current_step))
    if application.status == Application.Status.CANCELLED:
        raise Http404
    feedback_error = ""
    if request.method == "POST" and not application.feedback_given:
        rating = request.POST.get("rating", "")
        comment = request.POST.get("comment", "").strip()[:2000]
        if rating not in {"1", "2", "3", "4", "5"} and not comment:
            feedback_error = _("Please choose a rating or write a comment.")
        elif actions.record_feedback(application):
            events.emit(
                application, "feedback", request,
                rating=int(rating) if rating in {"1", "2", "3", "4", "5"} else None, comment=comment or None,
            )  # fmt: skip
            messages.success(request, _("Thank you for your feedback."))
            return redirect(_done_url(application))
    data = application.submission_data or {}
    context = {
        **_base(municipality, application.adoption),
        "application": application,
        "title": data.get("title") or _title(application.content),
        "feedback_error": feedback_error,
        "ratings": ["1", "2", "3", "4", "5"],
        "payment": data.get("payment"),
        "payment_reference": data.get("payment_reference") or "",
        "processing_days": processing_days(application.content),
        "has_account": application.citizen_id is not None,
    }
    return render(request, "portal/confirmation.html", context, status=400 if feedback_error else 200)


def processing_days(content: dict[str, Any]) -> int | None:
    """The usual processing time in working days, if the service states one (``processing.processing_days``)."""
    value = (content.get("processing") or {}).get("processing_days")
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 365:
        return value
    return None


def receipt(request: HttpRequest, city: str, uuid: str) -> HttpResponse:
    """The receipt (Eingangsbestätigung) as a letter of the city after DIN 5008, in German like every
    official document, with the answers as submitted."""
    municipality = access.get_municipality(city)
    application = access.get_application_for_request(request, municipality, uuid)
    if application.status in (Application.Status.DRAFT, Application.Status.CANCELLED):
        raise Http404
    try:
        pdf = receipt_pdf(application)  # the same PDF/A the e-file gets; fetches only static files
    except PdfError as error:
        logger.exception("portal: the receipt PDF could not be made")
        context = {**_base(municipality), "pdf_failed": not isinstance(error, PdfUnavailable)}
        return render(request, "portal/pdf_unavailable.html", context, status=503)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{application.reference}.pdf"'
    return response


# --- Save, resume, cancel, my applications ------------------------------------------


def resume(request: HttpRequest, token: str) -> HttpResponse:
    application = access.application_for_token(token)
    if application is None:
        return render(request, "portal/resume_invalid.html", {}, status=404)
    access.remember_in_session(request, application)
    return redirect(_step_url(application, application.current_step))


def cancel(request: HttpRequest, city: str, uuid: str) -> HttpResponse:
    municipality = access.get_municipality(city)
    application = access.get_application_for_request(request, municipality, uuid)
    if not application.is_draft:
        return (
            redirect(_done_url(application))
            if application.status != Application.Status.CANCELLED
            else redirect("portal:finder", city)
        )
    if request.method == "POST":
        position = application.current_step
        step_key = ""
        all_steps = steps.steps_of(application.content)
        if 1 <= position <= len(all_steps):
            step_key = str(all_steps[position - 1].get("key"))
        if actions.cancel_application(application):
            events.emit(application, "aborted", request, step_key=step_key or None,
                        step_position=position if step_key else None)  # fmt: skip
        messages.success(request, _("Your application was cancelled and its data deleted."))
        return redirect("portal:finder", city)
    context = {**_base(municipality), "application": application, "title": _title(application.content),
               "back_url": _step_url(application, application.current_step)}  # fmt: skip
    return render(request, "portal/cancel.html", context)


@login_required
def my_applications(request: HttpRequest) -> HttpResponse:
    applications = (
        Application.objects.filter(citizen_id=request.user.pk)
        .exclude(status=Application.Status.CANCELLED)
        .select_related("municipality", "version", "adoption__definition")
        .order_by("-updated_at", "pk")
    )
    from dikom.portal import mailbox

    listed = list(applications)
    cases = mailbox.overview(request.user, listed)
    rows = []
    for application in listed:
        case = cases.get(application.pk)
        rows.append(
            {
                "application": application,
                "title": _title(application.content),
                "url": _step_url(application, application.current_step)
                if application.is_draft
                else (case["url"] if case else _done_url(application)),
                "case": case,
            }
        )
    return render(request, "portal/my_applications.html", {"rows": rows})


__all__ = ["HttpResponseRedirect", "Q"]
