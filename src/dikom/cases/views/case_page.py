"""The case page (``/vorgaenge/<slug>/<uuid>/``) and what is done on it: tasks, notes, information
requests, consultation, media breaks, the decision, closing, the e-file retry."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.cases import access, actions, case_reads, workflow
from dikom.cases.bpmn import diagram as bpmn_diagram
from dikom.cases.forms import (
    AssignForm,
    ClaimForm,
    CompleteForm,
    ConsultForm,
    DecisionForm,
    InformationRequestForm,
    MediaBreakForm,
    NoteForm,
)
from dikom.cases.models import Case, CaseMessage, Task
from dikom.cases.views.common import (
    INLINE_TYPES,
    TASK_OPS,
    _case_url,
    _colleague,
    _colleague_choices,
    _lang,
    _unit_choices,
    logger,
)
from dikom.lib import formcache
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.scanning.service import active_content_labels

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
