"""Opening a case from a submitted application, and keeping its task list in step with the process engine."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.cases import workflow
from dikom.cases.actions.core import on_commit_rules, record_event
from dikom.cases.models import Case, CaseDocument, Task
from dikom.municipalities.models import OrgUnit

logger = logging.getLogger(__name__)


def open_case(application: Any) -> Case:
    """The case of a submitted application (created once; a repeated call returns it)."""
    existing = Case.objects.filter(application=application).first()
    if existing is not None:
        return existing
    data = application.submission_data or {}
    content = application.version.content
    processing = content.get("processing") or {}
    process_xml = str(processing.get("bpmn") or "") or workflow.DEFAULT_PROCESS
    with transaction.atomic():
        case = Case.objects.create(
            reference=application.reference,
            municipality=application.municipality,
            org_unit=application.adoption.org_unit,
            application=application,
            service_slug=application.adoption.definition.slug,
            service_title=str(data.get("title") or application.adoption.definition.title)[:300],
            process_xml=process_xml,
            opened_at=application.submitted_at or timezone.now(),
            is_demo=bool(getattr(application.adoption, "is_demo", False)),
        )
        _attach_submission(case, application)
        record_event(case, "opened", _("Case opened from the online application."))
        try:
            with transaction.atomic():
                result = workflow.start(process_xml, _workflow_data(case), {"case_pk": case.pk})
        except workflow.EngineError as error:
            # The service's process cannot run this application (e.g. an automatic step without a
            # handler): the case is not lost, it goes to the responsible unit with the default process.
            logger.error("cases: process of %s could not start: %s", case.reference, error)
            record_event(
                case,
                "workflow_error",
                _("The service's process could not be started (%(error)s); the case was given to the "
                  "responsible unit with a single review task.") % {"error": str(error)[:200]},
            )  # fmt: skip
            Case.objects.filter(pk=case.pk).update(process_xml=workflow.DEFAULT_PROCESS)
            case.process_xml = workflow.DEFAULT_PROCESS
            result = workflow.start(workflow.DEFAULT_PROCESS, _workflow_data(case), {"case_pk": case.pk})
        _apply(case, result, actor=None)
        application.__class__.objects.filter(pk=application.pk).update(status="in_processing")
        on_commit_rules(case, "submitted")
        if (application.submission_data or {}).get("payment"):
            # Paid in the portal before submitting: the "payment received" rules see it now, once.
            on_commit_rules(case, "payment_received")
            from dikom.cases import platform_messages

            platform_messages.payment_at_opening(case)  # and a process waiting for the payment
    return case


def _attach_submission(case: Case, application: Any) -> None:
    """The citizen's files become case documents (same stored file, no copy)."""
    from dikom.portal.models import ApplicationFile

    files = {f.sha256: f for f in ApplicationFile.objects.filter(application=application)}
    for entry in (application.submission_data or {}).get("files") or []:
        stored = files.get(entry.get("sha256"))
        if stored is None:
            continue
        document = CaseDocument(
            case=case,
            kind=CaseDocument.Kind.ATTACHMENT,
            title=str(entry.get("name") or stored.original_name)[:300],
            file_name=stored.original_name[:200],
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            active_content=list(stored.active_content or []),
        )
        document.file.name = stored.file.name
        document.save()


def _workflow_data(case: Case) -> dict[str, Any]:
    data = case.application.submission_data or {}
    return {
        "answers": data.get("answers") or {},
        "fee_total_cents": data.get("fee_total_cents") or 0,
        "auth_method": data.get("auth_method") or "",
        "trust_level": data.get("trust_level") or "",
        "service": case.service_slug,
    }


def _lane_units(case: Case) -> dict[str, OrgUnit]:
    """Lanes of the process → org units of the city.

    The service's ``processing.lanes`` may map a lane to a unit's name or short
    name (shared definitions use names every city has, e.g. "Ordnungsamt");
    otherwise a lane whose name equals a unit's name or short name goes there.
    Lanes that match nothing go to the responsible unit of the adoption. The
    adopting city's own choice per lane (``Adoption.lanes``: lane name → unit id)
    comes first.
    """
    units = list(OrgUnit.objects.filter(municipality=case.municipality))
    by_key: dict[str, OrgUnit] = {}
    for unit in units:
        by_key.setdefault(unit.name.strip().lower(), unit)
        if unit.short_name:
            by_key.setdefault(unit.short_name.strip().lower(), unit)
    mapping = dict(by_key)
    content = case.application.version.content
    configured = (content.get("processing") or {}).get("lanes") or {} if isinstance(content, dict) else {}
    for lane, target in configured.items():
        found = by_key.get(str(target).strip().lower())
        if found is not None:
            mapping[str(lane).strip().lower()] = found
    by_pk = {unit.pk: unit for unit in units}
    chosen = case.application.adoption.lanes
    for lane, unit_pk in chosen.items() if isinstance(chosen, dict) else ():
        if by_pk.get(unit_pk) is not None:
            mapping[str(lane).strip().lower()] = by_pk[unit_pk]
    return mapping


def _unit_for_lane(case: Case, lane: str, mapping: dict[str, OrgUnit]) -> OrgUnit | None:
    unit = mapping.get(lane.strip().lower()) if lane else None
    return unit or case.org_unit


def _apply(case: Case, result: workflow.StepResult, *, actor: Any) -> None:
    """Store the engine state and make the task list match the engine's ready user tasks."""
    Case.objects.filter(pk=case.pk).update(workflow_state=result.state, updated_at=timezone.now())
    case.workflow_state = result.state
    open_tasks = {t.engine_task_id: t for t in case.tasks.filter(kind=Task.Kind.WORKFLOW, status=Task.Status.OPEN)}
    ready_ids = {r.engine_id for r in result.ready}
    for engine_id, task in open_tasks.items():
        if engine_id not in ready_ids:  # e.g. cancelled by a boundary timer
            Task.objects.filter(pk=task.pk).update(status=Task.Status.CANCELLED, lock_version=F("lock_version") + 1)
            record_event(case, "task_cancelled", _("Task “%(task)s” ended by the process.") % {"task": task.name})
    mapping = _lane_units(case) if result.ready else {}
    for ready in result.ready:
        if ready.engine_id in open_tasks:
            if ready.due_at and open_tasks[ready.engine_id].due_at != ready.due_at:
                Task.objects.filter(pk=open_tasks[ready.engine_id].pk).update(due_at=ready.due_at)
            continue
        task = Task.objects.create(
            case=case,
            kind=Task.Kind.WORKFLOW,
            name=ready.name[:300],
            bpmn_id=ready.bpmn_id[:200],
            engine_task_id=ready.engine_id,
            lane=ready.lane[:200],
            org_unit=_unit_for_lane(case, ready.lane, mapping),
            instructions=ready.documentation,
            due_at=ready.due_at,
            choices=[list(pair) for pair in ready.choices],
            choice_variable=ready.choice_variable[:200],
        )
        record_event(
            case,
            "task_created",
            _("New task “%(task)s” for %(unit)s.")
            % {"task": task.name, "unit": task.org_unit or _("the responsible unit")},
        )
    for fired in result.fired_timers:
        record_event(case, "timer_fired", _("Deadline reached: %(name)s.") % {"name": fired})
    due = min((r.due_at for r in result.ready if r.due_at), default=None)
    Case.objects.filter(pk=case.pk).update(due_at=due)
    case.due_at = due
