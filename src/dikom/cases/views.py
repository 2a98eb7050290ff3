"""Caseworker pages: the inbox (``/vorgaenge/<slug>/``) and the case page (``/vorgaenge/<slug>/<uuid>/``).

Thin: ``access.py`` decides who sees what (another city's case is a 404), the
forms validate, ``actions.py`` changes state. Every task form carries the
task's ``lock_version``; when someone else was faster, the page is shown again
with the action's message and the user's input kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid as uuid_module
from decimal import Decimal
from typing import Any, cast

from csp.constants import NONE, SELF
from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.accounts.models import Membership, User
from dikom.cases import access, actions, case_reads, inbox_rows, workflow
from dikom.cases.bpmn import diagram as bpmn_diagram
from dikom.cases.forms import (
    TABS,
    AssignForm,
    ClaimForm,
    CompleteForm,
    ConsultForm,
    DecisionForm,
    InboxFilterForm,
    InformationRequestForm,
    MediaBreakForm,
    NoteForm,
)
from dikom.cases.models import Case, CaseDocument, CaseMessage, Task
from dikom.cases.paging import badge, capped_count, page_of
from dikom.lib import formcache
from dikom.lib.prepared import PreparedQuery
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.scanning.service import active_content_labels

logger = logging.getLogger(__name__)

MAX_BULK = 100
#: Shown in the browser; everything else is offered as a download. Never SVG or HTML (scripts).
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif"}
INBOX_KEYS = ("tab", "q", "status", "service", "unit", "overdue", "sort", "page")
TASK_OPS = {"uebernehmen": "claim", "uebergeben": "assign", "zurueckgeben": "release", "erledigen": "complete"}


def _lang() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


def _case_url(municipality: Municipality, case: Case, anchor: str = "") -> str:
    url = reverse("cases:case", args=[municipality.slug, case.uuid])
    return f"{url}#{anchor}" if anchor else url


def _colleague_choices(municipality: Municipality) -> list[tuple[str, str]]:
    return [(str(u.pk), u.get_full_name() or u.get_username()) for u in access.colleague_list(municipality)]


_UNITS = PreparedQuery(
    OrgUnit,
    lambda city_id: OrgUnit.objects.filter(municipality_id=city_id).order_by("name").values_list("uuid", "name"),
    fields=(OrgUnit._meta.get_field("municipality"),),
    samples=(-7004,),
)


def _unit_choices(municipality: Municipality) -> list[tuple[str, str]]:
    return [(str(key), name) for key, name in _UNITS.rows(municipality.pk)]


def _colleague(municipality: Municipality, key: str) -> Any:
    if not key.isdigit():
        return None
    return access.colleagues(municipality).filter(pk=int(key)).first()


# --- Index and inbox ----------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Straight to the user's city; a choice when there are several."""
    cities = list(
        Municipality.objects.filter(
            pk__in=Membership.objects.filter(user=cast(User, request.user), role__in=access.CASE_ROLES).values(
                "municipality_id"
            )
        ).order_by("name")
    )
    if not cities:
        raise PermissionDenied
    if len(cities) == 1:
        return redirect("cases:inbox", slug=cities[0].slug)
    return render(request, "cases/index.html", {"cities": cities})


def _due_order(prefix: str, descending: bool) -> list[Any]:
    due = F(f"{prefix}due_at")
    return [due.desc(nulls_last=True) if descending else due.asc(nulls_last=True)]


def _filter_tasks(tasks: QuerySet[Task], filters: dict[str, Any], now: dt.datetime) -> QuerySet[Task]:
    if filters.get("status"):
        tasks = tasks.filter(case__status=filters["status"])
    if filters.get("service"):
        tasks = tasks.filter(case__service_slug=filters["service"])
    if filters.get("unit"):
        tasks = tasks.filter(org_unit__uuid=filters["unit"])
    if filters.get("overdue"):
        tasks = tasks.filter(due_at__lt=now)
    if filters.get("q"):
        q = filters["q"].strip()
        tasks = tasks.filter(
            Q(case__reference__icontains=q) | Q(case__service_title__icontains=q) | Q(name__icontains=q)
        )
    descending = filters.get("sort") == "-due"
    return tasks.order_by(*_due_order("", descending), "case__opened_at", "pk")


def _filter_cases(cases: QuerySet[Case], filters: dict[str, Any], now: dt.datetime) -> QuerySet[Case]:
    if filters.get("status"):
        cases = cases.filter(status=filters["status"])
    if filters.get("service"):
        cases = cases.filter(service_slug=filters["service"])
    if filters.get("unit"):
        cases = cases.filter(org_unit__uuid=filters["unit"])
    if filters.get("overdue"):
        cases = cases.filter(due_at__lt=now, status__in=[Case.Status.OPEN, Case.Status.WAITING])
    if filters.get("q"):
        q = filters["q"].strip()
        cases = cases.filter(Q(reference__icontains=q) | Q(service_title__icontains=q))
    descending = filters.get("sort") == "-due"
    return cases.order_by(*_due_order("", descending), "-opened_at", "-pk")


@login_required
def inbox(request: HttpRequest, slug: str) -> HttpResponse:
    """My tasks, my units' unassigned tasks, or every case I may see; filters, search, bulk actions."""
    municipality = access.get_municipality_for_cases(request.user, slug)
    user = request.user
    tab = request.GET.get("tab", "")
    now = timezone.now()
    visible = access.visible_cases(user, municipality)
    services: dict[str, str] = {}
    for service_slug, title in visible.order_by().values_list("service_slug", "service_title").distinct():
        services.setdefault(service_slug, title)
    units = _unit_choices(municipality)
    form = InboxFilterForm(
        request.GET or None,
        services=sorted(services.items(), key=lambda item: item[1].casefold()),
        units=units,
    )
    status = 200
    filters: dict[str, Any] = {}
    if form.is_bound:
        if form.is_valid():
            filters = form.cleaned_data
        else:
            status = 400
    my_units = access.unit_ids(user, municipality)
    open_tasks = Task.objects.filter(case__municipality=municipality, status=Task.Status.OPEN)
    mine = open_tasks.filter(assignee=cast(User, user))
    of_units = open_tasks.filter(assignee__isnull=True, org_unit_id__in=my_units)
    # The tabs' badges count up to paging.TAB_COUNT_CAP (shown as "1000+"): counting a large city's every
    # visible case on each request cost more than the rest of the page. The shown tab's list is
    # counted exactly, in the statement that selects its page.
    of_tab: dict[str, QuerySet[Any]] = {"mine": mine, "unit": of_units, "all": visible}
    capped: dict[str, int] = {}

    def tab_count(key: str) -> int:
        if key not in capped:
            capped[key] = capped_count(of_tab[key])
        return capped[key]

    if tab not in TABS:
        # Opened without a choice: the first view that has something in it, so that a caseworker with no
        # task of their own yet (a new colleague, the demo) meets their unit's tasks, not an empty list.
        tab = next((key for key in ("mine", "unit") if tab_count(key)), "mine" if tab_count("all") == 0 else "all")
    rows: QuerySet[Any]
    if tab == "all":
        rows = _filter_cases(visible.select_related("org_unit").defer("process_xml", "workflow_state"), filters, now)
    else:
        rows = _filter_tasks(
            (mine if tab == "mine" else of_units)
            .select_related("case", "org_unit", "assignee")
            .defer("case__process_xml", "case__workflow_state"),
            filters,
            now,
        )
    page = page_of(rows, request.GET.get("page"))
    counts = {key: page.paginator.count if key == tab and not filters else tab_count(key) for key in TABS}
    context = {
        "municipality": municipality,
        "tab": tab,
        "tabs": [
            ("mine", _("My tasks"), badge(counts["mine"])),
            ("unit", _("Tasks of my unit"), badge(counts["unit"])),
            ("all", _("All cases"), badge(counts["all"])),
        ],
        "form": formcache.rendered(form),
        "page": page,
        "rows": (inbox_rows.case_rows if tab == "all" else inbox_rows.task_rows)(
            page.object_list, municipality.slug, now
        ),
        "now": now,
        "has_units": bool(my_units),
        "colleagues": _colleague_choices(municipality) if tab != "all" else [],
        "back": request.GET.urlencode(),
        "can_manage_webhooks": access.can_manage_webhooks(user, municipality),
    }
    return render(request, "cases/inbox.html", context, status=status)


def _back_to_inbox(municipality: Municipality, back: str) -> str:
    kept = QueryDict(mutable=True)
    given = QueryDict(back[:2000])
    for key in INBOX_KEYS:
        if key in given:
            kept[key] = given[key][:200]
    url = reverse("cases:inbox", args=[municipality.slug])
    return f"{url}?{kept.urlencode()}" if kept else url


def _stale_report(label: str, task: Task) -> str:
    if task.status != Task.Status.OPEN:
        now = _("done")
    elif task.assignee_id is not None:
        assignee = task.assignee
        now = _("with %(who)s") % {"who": (assignee.get_full_name() or assignee.get_username()) if assignee else "?"}
    else:
        now = _("unassigned")
    return _("%(task)s: changed by someone else in the meantime (now %(state)s); nothing was done.") % {
        "task": label,
        "state": now,
    }


@login_required
@require_POST
def bulk(request: HttpRequest, slug: str) -> HttpResponse:
    """Claim, hand over or give back the selected tasks, each on its own; report each task's outcome."""
    municipality = access.get_municipality_for_cases(request.user, slug)
    user = request.user
    back = _back_to_inbox(municipality, request.POST.get("back", ""))
    action = request.POST.get("action", "")
    selected = list(dict.fromkeys(request.POST.getlist("task")))[:MAX_BULK]
    if action not in {"claim", "assign", "release"}:
        messages.error(request, _("Please choose what to do with the selected tasks."))
        return redirect(back)
    if not selected:
        messages.error(request, _("Please select at least one task."))
        return redirect(back)
    colleague: Any = None
    if action == "assign":
        colleague = _colleague(municipality, request.POST.get("assignee", ""))
        if colleague is None:
            messages.error(request, _("Please choose the colleague to hand the tasks over to."))
            return redirect(back)
    keys = []
    for key in selected:
        try:
            keys.append(uuid_module.UUID(key))
        except ValueError:
            continue
    tasks = {
        str(t.uuid): t
        for t in Task.objects.filter(uuid__in=keys, case__municipality=municipality).select_related("case", "assignee")
    }
    visible = set(
        access.visible_cases(user, municipality)
        .filter(pk__in=[t.case_id for t in tasks.values()])
        .values_list("pk", flat=True)
    )
    for key in selected:
        task = tasks.get(key)
        if task is None or task.case_id not in visible:
            messages.error(request, _("A selected task was not found."))
            continue
        task.case.municipality = municipality
        label = f"{task.case.reference} – {task.name}"
        try:
            version = int(request.POST.get(f"version-{key}", ""))
        except ValueError:
            messages.error(request, _("%(task)s: the page was incomplete; please reload it.") % {"task": label})
            continue
        if version != task.lock_version:
            # Changed since the page was loaded (taken, handed over, done): say so, whoever may act now.
            messages.warning(request, _stale_report(label, task))
            continue
        if not access.may_work_on_task(user, task):
            messages.error(request, _("%(task)s: you may not work on this task.") % {"task": label})
            continue
        try:
            if action == "claim":
                actions.claim_task(task, user, expected_version=version)
                done = _("%(task)s: taken over.") % {"task": label}
            elif action == "assign":
                actions.assign_task(task, user, colleague, expected_version=version)
                done = _("%(task)s: handed over to %(who)s.") % {
                    "task": label,
                    "who": colleague.get_full_name() or colleague.get_username(),
                }
            else:
                actions.assign_task(task, user, None, expected_version=version)
                done = _("%(task)s: given back to the unit.") % {"task": label}
        except actions.StaleTask as exc:
            messages.warning(
                request,
                _("%(task)s: changed by someone else in the meantime. %(error)s") % {"task": label, "error": exc},
            )
        except actions.CaseActionError as exc:
            messages.error(request, f"{label}: {exc}")
        else:
            messages.success(request, done)
    return redirect(back)


# --- Case page ----------------------------------------------------------------------


def _case_for(request: HttpRequest, slug: str, case_uuid: Any) -> tuple[Municipality, Case]:
    municipality = access.get_municipality_for_cases(request.user, slug)
    case = access.get_case_for_staff(request.user, municipality, case_uuid)
    case.municipality = municipality
    return municipality, case


def _task_prefix(task: Task, kind: str) -> str:
    """Distinct per task and action, so the ids of the fields on one page never repeat."""
    return f"{kind}-{task.uuid.hex[:12]}"


def _submitted_sections(case: Case) -> list[dict[str, Any]]:
    """The citizen's answers with the labels of the service version they applied with."""
    from dikom.eservices.definition.schema import text
    from dikom.portal import steps

    application = case.application
    answers = (application.submission_data or {}).get("answers") or {}
    content = application.version.content if application.version_id else {}
    lang = _lang()
    sections = []
    for step_def in steps.steps_of(content if isinstance(content, dict) else {}):
        key = str(step_def.get("key"))
        values = answers.get(key)
        if not isinstance(values, dict):
            continue
        sections.append(
            {
                "title": text(step_def.get("title"), lang) or key,
                "rows": steps.summary_rows(step_def.get("fields") or [], values, lang),
            }
        )
    return sections


def _diagram(case: Case) -> bpmn_diagram.Diagram:
    try:
        active, completed = workflow.position(case.workflow_state)
    except Exception:  # a damaged state must not hide the rest of the case
        logger.exception("cases: workflow position of %s could not be read", case.reference)
        active, completed = [], []
    return _rendered_diagram(
        case.process_xml or workflow.DEFAULT_PROCESS, frozenset(active), frozenset(completed), get_language() or ""
    )


@functools.lru_cache(maxsize=256)
def _rendered_diagram(
    process_xml: str | bytes, active: frozenset[str], completed: frozenset[str], _language: str
) -> bpmn_diagram.Diagram:
    """The case's BPMN diagram, drawn once per process: the same process file with the same
    positions (most cases of a service wait at the same few steps) gives the same picture; the
    language is part of the key for the labels. Treat the result as read-only."""
    return bpmn_diagram.render(process_xml, active=set(active), completed=set(completed), id_prefix="case-process")


def _case_page(
    request: HttpRequest,
    municipality: Municipality,
    case: Case,
    *,
    bound: dict[Any, Any] | None = None,
    error: str = "",
    unsaved: str = "",
    status: int = 200,
) -> HttpResponse:
    """The case page; ``bound`` holds forms with the user's input (key: section or (op, task pk))."""
    user = request.user
    bound = bound or {}
    now = timezone.now()
    open_tasks = case_reads.open_tasks(case)
    colleagues = _colleague_choices(municipality)
    units = _unit_choices(municipality)
    for task in open_tasks:
        task.case = case
        initial = {"lock_version": task.lock_version}
        task.may_work = access.may_work_on_task(user, task)  # type: ignore[attr-defined]
        task.forms = {  # type: ignore[attr-defined]
            op: formcache.rendered(form)
            for op, form in {
                "claim": bound.get(("claim", task.pk))
                or ClaimForm(prefix=_task_prefix(task, "claim"), initial=initial),
                "assign": bound.get(("assign", task.pk))
                or AssignForm(prefix=_task_prefix(task, "assign"), initial=initial, colleagues=colleagues),
                "release": bound.get(("release", task.pk))
                or ClaimForm(prefix=_task_prefix(task, "release"), initial=initial),
                "complete": bound.get(("complete", task.pk))
                or CompleteForm(prefix=_task_prefix(task, "complete"), initial=initial, choices=task.choices),
            }.items()
        }
    may_manage = access.may_manage_case(user, municipality, case, open_tasks)
    sign_off_task = next((t for t in open_tasks if t.kind == Task.Kind.SIGN_OFF), None)
    shown = _diagram(case)
    submission = case.application.submission_data or {}
    documents = case_reads.documents(case)
    flagged_documents = sum(1 for document in documents if document.active_content)
    for document in documents:
        # A PDF with active content is offered for download only, with a warning naming what was found.
        document.inline = document.content_type in INLINE_TYPES and not document.active_content  # type: ignore[attr-defined]
        document.active_labels = active_content_labels(document.active_content)  # type: ignore[attr-defined]
    context = {
        "municipality": municipality,
        "case": case,
        "now": now,
        "error": error,
        "unsaved": unsaved,
        "may_manage": may_manage,
        "open_tasks": open_tasks,
        "done_tasks": case_reads.done_tasks(case),
        "sign_off_task": sign_off_task,
        "sections": _submitted_sections(case),
        "submission": submission,
        "fee_total": Decimal(int(submission.get("fee_total_cents") or 0)) / 100,
        "documents": documents,
        "flagged_documents": flagged_documents,
        "diagram": shown,
        "diagram_svg": mark_safe(shown.svg) if shown.svg else "",  # noqa: S308 - built with lxml, every name escaped
        "events": case_reads.events(case),
        "notes": case_reads.notes(case),
        "case_messages": case_reads.messages(case),
        "open_requests": case.messages.filter(
            kind=CaseMessage.Kind.INFORMATION_REQUEST, answered_by__isnull=True
        ).exists(),
        "note_form": formcache.rendered(bound.get("note") or NoteForm(prefix="note")),
        "info_form": formcache.rendered(bound.get("info") or InformationRequestForm(prefix="info")),
        "consult_form": formcache.rendered(bound.get("consult") or ConsultForm(prefix="consult", units=units)),
        "media_form": formcache.rendered(bound.get("media") or MediaBreakForm(prefix="media")),
        "decision_form": formcache.rendered(bound.get("decision") or DecisionForm(prefix="decision")),
        "can_decide": case.status == Case.Status.OPEN and not case.outcome,
        "can_retry_efile": case.status == Case.Status.CLOSED
        and case.efile_status
        not in {Case.EfileStatus.TRANSFERRED, Case.EfileStatus.PENDING, Case.EfileStatus.RETRYING},
    }
    return render(request, "cases/case.html", context, status=status)


@login_required
def case_detail(request: HttpRequest, slug: str, case_uuid: Any) -> HttpResponse:
    municipality, case = _case_for(request, slug, case_uuid)
    return _case_page(request, municipality, case)


def _first_error(form: Any) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return _("Please check your input.")


@login_required
@require_POST
def task_action(request: HttpRequest, slug: str, case_uuid: Any, task_uuid: Any, op: str) -> HttpResponse:
    """Claim, hand over, give back or complete one task, with the ``lock_version`` the page showed."""
    municipality, case = _case_for(request, slug, case_uuid)
    kind = TASK_OPS.get(op)
    task = case.tasks.filter(uuid=task_uuid).first()
    if kind is None or task is None:
        raise Http404
    task.case = case
    user = request.user
    if not access.may_work_on_task(user, task):
        return _case_page(
            request,
            municipality,
            case,
            error=_("You may not work on this task: it is assigned to someone else or to another unit."),
            status=403,
        )
    prefix = _task_prefix(task, kind)
    form: Any
    if kind == "assign":
        form = AssignForm(request.POST, prefix=prefix, colleagues=_colleague_choices(municipality))
    elif kind == "complete":
        form = CompleteForm(request.POST, prefix=prefix, choices=task.choices)
    else:
        form = ClaimForm(request.POST, prefix=prefix)
    if not form.is_valid():
        return _case_page(
            request, municipality, case, bound={(kind, task.pk): form}, error=_first_error(form), status=400
        )
    version = form.cleaned_data["lock_version"]
    result = form.cleaned_data.get("result", "") if kind == "complete" else ""
    try:
        if kind == "claim":
            actions.claim_task(task, user, expected_version=version)
            done = _("You have taken over “%(task)s”.") % {"task": task.name}
        elif kind == "assign":
            to = _colleague(municipality, form.cleaned_data["assignee"])
            if to is None:
                raise Http404
            actions.assign_task(task, user, to, expected_version=version)
            done = _("“%(task)s” handed over to %(who)s.") % {
                "task": task.name,
                "who": to.get_full_name() or to.get_username(),
            }
        elif kind == "release":
            actions.assign_task(task, user, None, expected_version=version)
            done = _("“%(task)s” given back to the unit.") % {"task": task.name}
        elif task.kind == Task.Kind.SIGN_OFF:
            actions.sign_off(case, user, task, expected_version=version)
            done = _("Decision signed off; the decision letter has been delivered.")
        else:
            actions.complete_task(
                task, user, expected_version=version, result=result, choice=form.cleaned_data.get("choice", "")
            )
            done = _("“%(task)s” is done.") % {"task": task.name}
    except actions.StaleTask as exc:
        # Show the current state; the user's text is kept (in the form if the task is still open).
        case = access.get_case_for_staff(user, municipality, case.uuid)
        case.municipality = municipality
        task.refresh_from_db()
        keep: dict[Any, Any] = {}
        if kind == "complete" and task.status == Task.Status.OPEN:
            keep[("complete", task.pk)] = CompleteForm(
                prefix=prefix, initial={"lock_version": task.lock_version, "result": result}, choices=task.choices
            )
        return _case_page(request, municipality, case, bound=keep, error=str(exc), unsaved=result, status=409)
    except actions.CaseActionError as exc:
        form.add_error(None, str(exc))
        return _case_page(
            request, municipality, case, bound={(kind, task.pk): form}, error=str(exc), unsaved=result, status=409
        )
    messages.success(request, done)
    return redirect(_case_url(municipality, case, "tasks"))


def _manage_or_403(request: HttpRequest, municipality: Municipality, case: Case) -> HttpResponse | None:
    open_tasks = list(case.tasks.filter(status=Task.Status.OPEN))
    if access.may_manage_case(request.user, municipality, case, open_tasks):
        return None
    return _case_page(
        request,
        municipality,
        case,
        error=_("Only the responsible unit can do this; as a consulted unit please answer your consultation task."),
        status=403,
    )


@login_required
@require_POST
def add_note(request: HttpRequest, slug: str, case_uuid: Any) -> HttpResponse:
    municipality, case = _case_for(request, slug, case_uuid)
    form = NoteForm(request.POST, prefix="note")
    if form.is_valid():
        try:
            actions.add_note(case, request.user, form.cleaned_data["body"])
        except actions.CaseActionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Note added."))
            return redirect(_case_url(municipality, case, "notes"))
    return _case_page(request, municipality, case, bound={"note": form}, error=_first_error(form), status=400)


def _case_step(
    request: HttpRequest,
    slug: str,
    case_uuid: Any,
    key: str,
    form_class: Any,
    run: Any,
    anchor: str,
    **form_kwargs: Any,
) -> HttpResponse:
    """A case-wide step: check the right, validate the form, run the action, show the page again on errors."""
    municipality, case = _case_for(request, slug, case_uuid)
    refused = _manage_or_403(request, municipality, case)
    if refused is not None:
        return refused
    form = form_class(request.POST, prefix=key, **form_kwargs) if form_class is not None else None
    status = 400
    if form is None or form.is_valid():
        try:
            done = run(municipality, case, form.cleaned_data if form is not None else {})
        except actions.CaseActionError as exc:
            if form is not None:
                form.add_error(None, str(exc))
            return _case_page(request, municipality, case, bound={key: form} if form else {}, error=str(exc),
                              status=409)  # fmt: skip
        messages.success(request, done)
        return redirect(_case_url(municipality, case, anchor))
    return _case_page(request, municipality, case, bound={key: form}, error=_first_error(form), status=status)


@login_required
@require_POST
def request_information(request: HttpRequest, slug: str, case_uuid: Any) -> HttpResponse:
    def run(municipality: Municipality, case: Case, data: dict[str, Any]) -> str:
        actions.request_information(case, request.user, subject=data["subject"], body=data["body"])
        return _("The request has been sent to the citizen; the case waits for the answer.")

    return _case_step(request, slug, case_uuid, "info", InformationRequestForm, run, "messages")


@login_required
@require_POST
def consult(request: HttpRequest, slug: str, case_uuid: Any) -> HttpResponse:
    municipality = access.get_municipality_for_cases(request.user, slug)

    def run(municipality: Municipality, case: Case, data: dict[str, Any]) -> str:
        unit = OrgUnit.objects.filter(municipality=municipality, uuid=data["org_unit"]).first()
        if unit is None:
            raise actions.CaseActionError(_("Please choose a unit of your own city."))
        due = None
        if data.get("due_date"):
            due = timezone.make_aware(dt.datetime.combine(data["due_date"], dt.time(23, 59)))
        actions.consult(case, request.user, org_unit=unit, question=data["question"], due_at=due)
        return _("%(unit)s has been asked; the question is in its inbox.") % {"unit": unit.name}

    return _case_step(request, slug, case_uuid, "consult", ConsultForm, run, "tasks", units=_unit_choices(municipality))


@login_required
@require_POST
def media_break(request: HttpRequest, slug: str, case_uuid: Any) -> HttpResponse:
    def run(municipality: Municipality, case: Case, data: dict[str, Any]) -> str:
        actions.record_media_break(case, request.user, data["description"])
        return _("Media break recorded.")

    return _case_step(request, slug, case_uuid, "media", MediaBreakForm, run, "history")


@login_required
@require_POST
def decide(request: HttpRequest, slug: str, case_uuid: Any) -> HttpResponse:
    def run(municipality: Municipality, case: Case, data: dict[str, Any]) -> str:
        decided = actions.decide(case, request.user, outcome=data["outcome"], reasons=data["reasons"])
        if decided.status == Case.Status.DECIDED:
            return _("Decision recorded; the decision letter has been delivered to the citizen.")
        return _("Decision recorded. A second person must now sign it off.")

    return _case_step(request, slug, case_uuid, "decision", DecisionForm, run, "decision")


@login_required
@require_POST
def close(request: HttpRequest, slug: str, case_uuid: Any) -> HttpResponse:
    def run(municipality: Municipality, case: Case, data: dict[str, Any]) -> str:
        actions.close_case(case, request.user)
        return _("Case closed; its file is being transferred to the e-file.")

    return _case_step(request, slug, case_uuid, "close", None, run, "efile")


@login_required
@require_POST
def retry_efile(request: HttpRequest, slug: str, case_uuid: Any) -> HttpResponse:
    def run(municipality: Municipality, case: Case, data: dict[str, Any]) -> str:
        actions.retry_efile_transfer(case, request.user)
        return _("The transfer to the e-file is being tried again.")

    return _case_step(request, slug, case_uuid, "efile", None, run, "efile")


# --- Documents ----------------------------------------------------------------------


# The file is shown on its own (no page around it): nothing may load or run. Chrome's PDF
# viewer is an embedded object of the document, so object-src must allow the same origin.
@csp_replace({"default-src": [NONE], "img-src": [SELF], "object-src": [SELF], "style-src": [NONE]})  # type: ignore[arg-type]
@login_required
def document(request: HttpRequest, slug: str, case_uuid: Any, document_uuid: Any) -> HttpResponseBase:
    """A case document for staff who may see the case: PDFs and images inline, everything else as download."""
    _municipality, case = _case_for(request, slug, case_uuid)
    found: CaseDocument | None = case.documents.filter(uuid=document_uuid).first()
    if found is None or not found.file:
        raise Http404
    try:
        handle = found.file.open("rb")
    except OSError as exc:
        logger.error("cases: document %s of %s is missing in storage", found.uuid, case.reference)
        raise Http404 from exc
    inline = found.content_type in INLINE_TYPES and request.GET.get("download") != "1" and not found.active_content
    response = FileResponse(
        handle,
        content_type=found.content_type or "application/octet-stream",
        as_attachment=not inline,
        filename=found.file_name or "dokument",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
