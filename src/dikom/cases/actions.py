"""The only code that changes cases. Every change is in the case history and the audit log.

Concurrency: case-changing actions lock the case row (``select_for_update``);
task actions also compare the task's ``lock_version`` with the one the user's
form was rendered with, so when two caseworkers act on the same task at once,
one wins and the other gets :class:`StaleTask` with a clear message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.audit import actions as audit
from dikom.cases import workflow
from dikom.cases.models import Case, CaseDocument, CaseEvent, CaseMessage, CaseNote, Task
from dikom.cases.webhooks import actions as webhooks
from dikom.municipalities.models import OrgUnit

logger = logging.getLogger(__name__)


class CaseActionError(Exception):
    """The action is not possible in the case's current state; the message is safe to show."""


class StaleTask(CaseActionError):
    """Someone else changed the task since the page was loaded."""


def _label(actor: Any, automatic_label: str = "") -> str:
    if automatic_label:
        return automatic_label
    if actor is None:
        return "system"
    return actor.get_full_name() or actor.get_username()


def record_event(
    case: Case,
    kind: str,
    text: str,
    *,
    actor: Any = None,
    automatic_label: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append to the case history and the audit log (both append-only)."""
    event = CaseEvent.objects.create(
        case=case,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=_label(actor, automatic_label)[:200],
        kind=kind,
        text=text[:500],
        data=data or {},
        automatic=bool(automatic_label),
    )
    audit.record(
        f"case.{kind}",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        municipality=case.municipality,
        obj=case,
        changes={
            "reference": case.reference,
            "text": text[:200],
            **({"rule": automatic_label} if automatic_label else {}),
        },
        source="automation" if automatic_label else None,
        # A specialist procedure acting through the case API: recorded as an API call with its key.
        api_key=getattr(actor, "api_key", None),
    )
    return event


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("municipality", "application").get(pk=case.pk)


def _bump(case: Case, **fields: Any) -> None:
    before = case.status
    fields["lock_version"] = F("lock_version") + 1
    fields["updated_at"] = timezone.now()
    Case.objects.filter(pk=case.pk).update(**fields)
    case.refresh_from_db()
    if case.status != before:
        webhooks.emit(case, "case.status_changed", {"status": {"from": before, "to": case.status}})


# --- Opening a case -----------------------------------------------------------------


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


# --- Tasks --------------------------------------------------------------------------


def _task_for_update(task: Task, expected_version: int | None) -> Task:
    locked = Task.objects.select_for_update().select_related("case", "case__municipality").get(pk=task.pk)
    if expected_version is not None and locked.lock_version != expected_version:
        raise StaleTask(
            _("Someone else changed this task in the meantime (%(who)s). Please look at it again.")
            % {"who": locked.assignee or _("unassigned")}
        )
    if locked.status != Task.Status.OPEN:
        raise StaleTask(_("This task is already done."))
    return locked


def claim_task(task: Task, user: Any, *, expected_version: int | None) -> Task:
    with transaction.atomic():
        locked = _task_for_update(task, expected_version)
        if locked.assignee_id is not None and locked.assignee_id != user.pk:
            raise StaleTask(_("%(who)s has already taken this task.") % {"who": locked.assignee})
        Task.objects.filter(pk=locked.pk).update(assignee=user, lock_version=F("lock_version") + 1)
        record_event(locked.case, "task_claimed", _("“%(task)s” taken over.") % {"task": locked.name}, actor=user)
    locked.refresh_from_db()
    return locked


def assign_task(task: Task, by: Any, to: Any, *, expected_version: int | None) -> Task:
    with transaction.atomic():
        locked = _task_for_update(task, expected_version)
        Task.objects.filter(pk=locked.pk).update(assignee=to, lock_version=F("lock_version") + 1)
        text = (
            _("“%(task)s” handed over to %(who)s.") % {"task": locked.name, "who": to.get_full_name() or to}
            if to is not None
            else _("“%(task)s” given back to the unit.") % {"task": locked.name}
        )
        record_event(locked.case, "task_assigned", text, actor=by)
    locked.refresh_from_db()
    return locked


def complete_task(
    task: Task,
    by: Any,
    *,
    expected_version: int | None,
    result: str = "",
    data: dict[str, Any] | None = None,
    automatic_label: str = "",
    choice: str = "",
) -> Task:
    """Finish a task; workflow tasks move the process on. A task that asks for a path (``Task.choices``) needs
    ``choice``: one of its values, passed to the process."""
    with transaction.atomic():
        locked = _task_for_update(task, expected_version)
        if locked.choices:
            labels = {str(value): str(label) for value, label in locked.choices}
            if choice not in labels:
                raise CaseActionError(_("Please choose how the case continues."))
            data = {**(data or {}), locked.choice_variable: choice}
            result = (_("Chosen: %(path)s.") % {"path": labels[choice]} + (" " + result if result else "")).strip()
        case = _locked(locked.case)
        if not case.is_open:
            raise CaseActionError(_("The case is no longer open."))
        now = timezone.now()
        Task.objects.filter(pk=locked.pk).update(
            status=Task.Status.DONE,
            result=result[:5000],
            completed_at=now,
            completed_by=by if getattr(by, "is_authenticated", False) else None,
            completed_automatically=bool(automatic_label),
            lock_version=F("lock_version") + 1,
        )
        record_event(
            case,
            "task_completed",
            _("“%(task)s” done.") % {"task": locked.name} + (f" {result[:300]}" if result else ""),
            actor=by,
            automatic_label=automatic_label,
        )
        if locked.kind == Task.Kind.WORKFLOW and locked.engine_task_id:
            step = workflow.complete(
                case.process_xml, case.workflow_state, locked.engine_task_id, data or {}, {"case_pk": case.pk}
            )
            _apply(case, step, actor=by)
        on_commit_rules(case, "task_completed", task_id=locked.pk)
    locked.refresh_from_db()
    return locked


def consult(case: Case, by: Any, *, org_unit: OrgUnit, question: str, due_at: dt.datetime | None = None) -> Task:
    """Ask another department: a consultation task in its inbox, in parallel to the case's own tasks."""
    if org_unit.municipality_id != case.municipality_id:
        raise CaseActionError(_("Please choose a unit of your own city."))
    if not question.strip():
        raise CaseActionError(_("Please write what you would like to know."))
    with transaction.atomic():
        case = _locked(case)
        if not case.is_open:
            raise CaseActionError(_("The case is no longer open."))
        task = Task.objects.create(
            case=case,
            kind=Task.Kind.CONSULTATION,
            name=_("Consultation: %(unit)s") % {"unit": org_unit.name},
            org_unit=org_unit,
            instructions=question.strip()[:5000],
            due_at=due_at,
        )
        record_event(case, "consulted", _("%(unit)s consulted.") % {"unit": org_unit.name}, actor=by)
    return task


def process_due_timers(case: Case, now: dt.datetime | None = None) -> bool:
    """Fire the case's workflow timers that are due (also those that fell due while the server was down)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case)
        if not case.is_open:
            return False
        step = workflow.fire_timers(case.process_xml, case.workflow_state, now, {"case_pk": case.pk})
        if not step.fired_timers:
            return False
        _apply(case, step, actor=None)
        on_commit_rules(case, "deadline_passed")
    return True


def task_recipients(task: Task) -> list[str]:
    """Who hears about a task: its assignee, else its unit's address."""
    if task.assignee is not None and task.assignee.email:
        return [task.assignee.email]
    if task.org_unit is not None and task.org_unit.email:
        return [task.org_unit.email]
    return []


def _german_moment(moment: dt.datetime | None) -> str:
    """``07.12.2026, 9:05 Uhr`` for e-mail texts (never the ISO form a datetime prints)."""
    from dikom.lib import letterhead

    if moment is None:
        return ""
    return f"{letterhead.short_date(moment)}, {letterhead.clock_time(moment)}"


def send_reminders(now: dt.datetime | None = None) -> int:
    """Remind the assignee (or the unit) once about tasks that are overdue."""
    from dikom.lib.mail import send_mail_on_commit

    now = now or timezone.now()
    count = 0
    overdue = Task.objects.filter(status=Task.Status.OPEN, due_at__lt=now, reminded_at__isnull=True).select_related(
        "case", "assignee", "org_unit"
    )
    for task in overdue:
        with transaction.atomic():
            if not Task.objects.filter(pk=task.pk, reminded_at__isnull=True).update(reminded_at=now):
                continue
            record_event(task.case, "reminder", _("Reminder: “%(task)s” is overdue.") % {"task": task.name})
            to = task_recipients(task)
            if to:
                send_mail_on_commit(
                    _("Overdue: %(task)s (%(ref)s)") % {"task": task.name, "ref": task.case.reference},
                    _("The task “%(task)s” of case %(ref)s was due on %(due)s.")
                    % {"task": task.name, "ref": task.case.reference, "due": _german_moment(task.due_at)},
                    to,
                )
            count += 1
    return count


# --- Notes, media breaks, messages --------------------------------------------------


def add_note(case: Case, by: Any, body: str) -> CaseNote:
    if not body.strip():
        raise CaseActionError(_("Please write a note."))
    with transaction.atomic():
        note = CaseNote.objects.create(case=case, author=by, body=body.strip()[:10000])
        record_event(case, "note", _("Internal note added."), actor=by)
    return note


def record_media_break(case: Case, by: Any, description: str) -> None:
    """A step done on paper or outside dikom: counted for the service's analytics."""
    if not description.strip():
        raise CaseActionError(_("Please describe the step done outside dikom."))
    with transaction.atomic():
        case = _locked(case)
        _bump(case, media_breaks=F("media_breaks") + 1)
        record_event(case, "media_break", _("Media break: %(what)s") % {"what": description.strip()[:300]}, actor=by)


def request_information(case: Case, by: Any, *, subject: str, body: str) -> CaseMessage:
    """Ask the citizen for missing information; the case waits until the answer arrives in the portal."""
    if not subject.strip() or not body.strip():
        raise CaseActionError(_("Please give the request a subject and say what is missing."))
    with transaction.atomic():
        case = _locked(case)
        if not case.is_open:
            raise CaseActionError(_("The case is no longer open."))
        message = CaseMessage.objects.create(
            case=case,
            direction=CaseMessage.Direction.TO_CITIZEN,
            kind=CaseMessage.Kind.INFORMATION_REQUEST,
            subject=subject.strip()[:200],
            body=body.strip()[:10000],
            sent_by=by if getattr(by, "is_authenticated", False) else None,
        )
        _bump(case, status=Case.Status.WAITING)
        record_event(
            case, "information_requested", _("Information requested: %(s)s") % {"s": message.subject}, actor=by
        )
        _notify_citizen(case, message)
    return message


def answer_information(case: Case, citizen: Any, request: CaseMessage, body: str, files: list[Any]) -> CaseMessage:
    """The citizen answers in the portal; the case continues."""
    from dikom.portal import sniffing
    from dikom.scanning import service as scanning

    if request.case_id != case.pk or request.kind != CaseMessage.Kind.INFORMATION_REQUEST:
        raise CaseActionError(_("This request does not belong to your application."))
    if not body.strip() and not files:
        raise CaseActionError(_("Please write an answer or attach a file."))
    with transaction.atomic():
        case = _locked(case)
        request = CaseMessage.objects.select_for_update().get(pk=request.pk)
        if request.answered_by_id is not None:
            raise CaseActionError(_("This request has already been answered."))
        answer = CaseMessage.objects.create(
            case=case,
            direction=CaseMessage.Direction.FROM_CITIZEN,
            kind=CaseMessage.Kind.ANSWER,
            subject=(_("Answer: %(s)s") % {"s": request.subject})[:200],
            body=body.strip()[:10000],
        )
        for upload in files:
            stream = upload.file if hasattr(upload, "file") else upload
            detected = sniffing.detect(stream)
            if detected is None:
                raise CaseActionError(_("The file “%(name)s” could not be recognised.") % {"name": upload.name})
            # The portal view checked the files (check_answer_files); scanned again here, so that no
            # caller of this action can store a file the scanner refuses.
            result = scanning.scan(stream)
            if result.status in (scanning.INFECTED, scanning.FAILED):
                raise CaseActionError(_("The file “%(name)s” was refused by the virus check.") % {"name": upload.name})
            active_content = scanning.pdf_active_content(stream, detected)
            stream.seek(0)
            raw = stream.read()
            document = CaseDocument(
                case=case,
                kind=CaseDocument.Kind.ATTACHMENT,
                title=str(upload.name)[:300],
                file_name=sniffing.safe_name(str(upload.name))[:200],
                content_type=detected,
                size=len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
                active_content=active_content,
            )
            document.file.save(document.file_name, ContentFile(raw), save=False)
            document.save()
        CaseMessage.objects.filter(pk=request.pk).update(answered_by=answer)
        still_waiting = case.messages.filter(
            kind=CaseMessage.Kind.INFORMATION_REQUEST, answered_by__isnull=True
        ).exclude(pk=request.pk)
        if case.status == Case.Status.WAITING and not still_waiting.exists():
            _bump(case, status=Case.Status.OPEN)
        record_event(case, "information_received", _("The citizen answered: %(s)s") % {"s": request.subject})
        from dikom.cases import platform_messages

        platform_messages.citizen_answered(case, request, answer, len(files))  # a process waiting for the answer
    return answer


def _notify_citizen(case: Case, message: CaseMessage) -> None:
    """Tell the citizen by e-mail (sent by a retrying task once the transaction has committed)."""
    message_pk = message.pk

    def enqueue() -> None:
        from dikom.cases.tasks import notify_citizen

        notify_citizen.enqueue(message_pk)

    transaction.on_commit(enqueue)


# --- Decision and closing -----------------------------------------------------------


def sign_off_required(case: Case) -> bool:
    content = case.application.version.content
    return bool(isinstance(content, dict) and (content.get("processing") or {}).get("sign_off_required"))


def decide(case: Case, by: Any, *, outcome: str, reasons: str, automatic_label: str = "") -> Case:
    """Record the decision. With a required second sign-off a sign-off task is created first."""
    if outcome not in {Case.Outcome.APPROVED, Case.Outcome.PARTLY_APPROVED, Case.Outcome.REJECTED}:
        raise CaseActionError(_("Please choose a decision."))
    if outcome != Case.Outcome.APPROVED and not reasons.strip():
        raise CaseActionError(_("Please give the reasons for the decision."))
    with transaction.atomic():
        case = _locked(case)
        if case.status != Case.Status.OPEN:
            raise CaseActionError(_("Only open cases that do not wait for the citizen can be decided."))
        if case.outcome:
            raise CaseActionError(_("This case has already been decided."))
        _bump(
            case,
            outcome=outcome,
            decision_reasons=reasons.strip()[:10000],
            decided_by=by if getattr(by, "is_authenticated", False) else None,
            decided_automatically=bool(automatic_label),
        )
        label = dict(Case.Outcome.choices)[outcome]
        record_event(
            case,
            "decision_drafted" if sign_off_required(case) and not automatic_label else "decided",
            _("Decision: %(outcome)s.") % {"outcome": label},
            actor=by,
            automatic_label=automatic_label,
        )
        if sign_off_required(case) and not automatic_label:
            Task.objects.create(
                case=case,
                kind=Task.Kind.SIGN_OFF,
                name=_("Second sign-off of the decision"),
                org_unit=case.org_unit,
                instructions=_("Please check the decision and sign it off (not the person who decided)."),
            )
            return case
        _finalise_decision(case, by, automatic_label=automatic_label)
    return case


def sign_off(case: Case, by: Any, task: Task, *, expected_version: int | None) -> Case:
    if case.decided_by_id is not None and case.decided_by_id == getattr(by, "pk", None):
        raise CaseActionError(_("The sign-off must be given by a second person."))
    with transaction.atomic():
        complete_task(task, by, expected_version=expected_version, result=_("Signed off."))
        case = _locked(case)
        _bump(case, signed_off_by=by, signed_off_at=timezone.now())
        record_event(case, "signed_off", _("Decision signed off."), actor=by)
        _finalise_decision(case, by, automatic_label="")
    return case


def _finalise_decision(case: Case, by: Any, *, automatic_label: str) -> None:
    """The letter is generated and delivered, the case counts as decided."""
    from dikom.cases import letters
    from dikom.lib.pdf import PdfError

    now = timezone.now()
    _bump(case, status=Case.Status.DECIDED, decided_at=now)
    for task in case.tasks.filter(status=Task.Status.OPEN):
        Task.objects.filter(pk=task.pk).update(status=Task.Status.CANCELLED, lock_version=F("lock_version") + 1)
    try:
        pdf = letters.render_decision_letter(case)
    except PdfError as error:  # the decision is rolled back with the transaction; the caseworker sees why
        raise CaseActionError(_("The decision letter could not be generated: %(e)s") % {"e": error}) from error
    document = CaseDocument(
        case=case,
        kind=CaseDocument.Kind.LETTER,
        title=_("Decision letter %(ref)s") % {"ref": case.reference},
        file_name=f"Bescheid-{case.reference}.pdf",
        content_type="application/pdf",
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        visible_to_citizen=True,
        created_by=by if getattr(by, "is_authenticated", False) else None,
        created_automatically=bool(automatic_label),
    )
    document.file.save(document.file_name, ContentFile(pdf), save=False)
    document.save()
    message = CaseMessage.objects.create(
        case=case,
        direction=CaseMessage.Direction.TO_CITIZEN,
        kind=CaseMessage.Kind.DECISION,
        subject=(_("Decision on your application %(ref)s") % {"ref": case.reference})[:200],
        body=case.decision_reasons,
        document=document,
        sent_by=by if getattr(by, "is_authenticated", False) else None,
    )
    record_event(case, "letter_delivered", _("Decision letter generated and delivered to the portal mailbox."),
                 actor=by, automatic_label=automatic_label)  # fmt: skip
    _notify_citizen(case, message)
    webhooks.emit(
        case,
        "decision.made",
        {"decision": {"outcome": case.outcome, "decided_at": case.decided_at.isoformat() if case.decided_at else None,
                      "automatic": bool(automatic_label), "letter": str(document.uuid)}},
    )  # fmt: skip
    case.application.__class__.objects.filter(pk=case.application_id).update(status="decided")
    _record_processing(case)


def _record_processing(case: Case) -> None:
    """Processing time and media breaks flow into the service's usage analytics."""
    from dikom.analytics.models import Service

    service = Service.objects.filter(municipality=case.municipality, external_key=case.service_slug[:100]).first()
    if service is None or case.decided_at is None:
        return
    from dikom.analytics.figures.service import record_processing

    days = (case.decided_at - case.opened_at).total_seconds() / 86400
    try:
        record_processing(case.municipality, service, case.decided_at, round(max(days, 0), 3), case.media_breaks)
    except Exception:
        logger.exception("cases: processing figures of %s could not be recorded", case.reference)


def close_case(case: Case, by: Any) -> Case:
    """Close a decided case; its file goes to the e-file system."""
    with transaction.atomic():
        case = _locked(case)
        if case.status != Case.Status.DECIDED:
            raise CaseActionError(_("Only decided cases can be closed."))
        _bump(case, status=Case.Status.CLOSED, closed_at=timezone.now(), efile_status=Case.EfileStatus.PENDING)
        record_event(case, "closed", _("Case closed."), actor=by)
        case_pk = case.pk
        transaction.on_commit(lambda: _enqueue_efile(case_pk))
    return case


def _enqueue_efile(case_pk: int) -> None:
    from dikom.cases.tasks import transfer_case_file

    transfer_case_file.enqueue(case_pk)


def on_commit_rules(case: Case, trigger: str, **context: Any) -> None:
    """Run the city's automation rules for ``trigger`` once the transaction has committed."""
    case_pk = case.pk

    def run() -> None:
        from dikom.cases.tasks import run_rules

        run_rules.enqueue(case_pk, trigger, context.get("task_id"))

    transaction.on_commit(run)


# --- E-file transfer retry (staff) ----------------------------------------------------


def retry_efile_transfer(case: Case, by: Any) -> Case:
    """Send a closed case's file to the e-file system again after a failed transfer."""
    with transaction.atomic():
        case = _locked(case)
        if case.status != Case.Status.CLOSED:
            raise CaseActionError(_("Only closed cases are transferred to the e-file."))
        if case.efile_status in {Case.EfileStatus.TRANSFERRED, Case.EfileStatus.PENDING, Case.EfileStatus.RETRYING}:
            raise CaseActionError(_("The transfer to the e-file is not in a failed state; nothing to retry."))
        _bump(case, efile_status=Case.EfileStatus.PENDING, efile_error="")
        record_event(case, "efile_retry", _("Transfer to the e-file started again."), actor=by)
        case_pk = case.pk
        transaction.on_commit(lambda: _enqueue_efile(case_pk))
    return case


# --- Portal mailbox: the citizen read the city's messages ------------------------------


def mark_messages_read(case: Case, citizen: Any) -> int:
    """Mark the city's unread messages of the case as read by its citizen; returns how many were marked.

    Only the citizen who owns the application may do this (anyone else: :class:`CaseActionError`).
    The history notes when the citizen first opened new messages (e.g. a decision letter).
    """
    from django.utils.translation import ngettext

    if citizen is None or case.application.citizen_id is None or case.application.citizen_id != citizen.pk:
        raise CaseActionError(_("This application is not yours."))
    with transaction.atomic():
        unread = case.messages.filter(direction=CaseMessage.Direction.TO_CITIZEN, read_at__isnull=True)
        count = unread.update(read_at=timezone.now())
        if count:
            record_event(
                case,
                "messages_read",
                ngettext(
                    "The citizen opened %(count)d new message in the portal.",
                    "The citizen opened %(count)d new messages in the portal.",
                    count,
                )
                % {"count": count},
            )
    return count


# --- Automation rules (dikom.cases.automation) ---------------------------------------


def route_task(task: Task, *, unit: OrgUnit | None = None, user: Any = None, automatic_label: str) -> Task:
    """A rule gives an open task to another unit of the city (unassigned there) or to a person."""
    if (unit is None) == (user is None):
        raise ValueError("route_task needs either a unit or a user")
    with transaction.atomic():
        locked = _task_for_update(task, None)
        if unit is not None:
            if unit.municipality_id != locked.case.municipality_id:
                raise CaseActionError(_("Please choose a unit of your own city."))
            Task.objects.filter(pk=locked.pk).update(org_unit=unit, assignee=None, lock_version=F("lock_version") + 1)
            text = _("“%(task)s” handed over to %(unit)s.") % {"task": locked.name, "unit": unit.name}
        else:
            Task.objects.filter(pk=locked.pk).update(assignee=user, lock_version=F("lock_version") + 1)
            text = _("“%(task)s” handed over to %(who)s.") % {"task": locked.name, "who": user.get_full_name() or user}
        record_event(locked.case, "task_assigned", text, automatic_label=automatic_label)
    locked.refresh_from_db()
    return locked


def resume_case(case: Case, *, automatic_label: str) -> Case:
    """A rule takes a case that waits for the citizen back into processing."""
    with transaction.atomic():
        case = _locked(case)
        if case.status != Case.Status.WAITING:
            raise CaseActionError(_("The case does not wait for the citizen."))
        _bump(case, status=Case.Status.OPEN)
        record_event(case, "resumed", _("The case is being processed again."), automatic_label=automatic_label)
    return case


def close_case_automatically(case: Case, *, automatic_label: str) -> Case:
    """A rule closes a decided case; its file goes to the e-file system as with :func:`close_case`."""
    with transaction.atomic():
        case = _locked(case)
        if case.status != Case.Status.DECIDED:
            raise CaseActionError(_("Only decided cases can be closed."))
        _bump(case, status=Case.Status.CLOSED, closed_at=timezone.now(), efile_status=Case.EfileStatus.PENDING)
        record_event(case, "closed", _("Case closed."), automatic_label=automatic_label)
        case_pk = case.pk
        transaction.on_commit(lambda: _enqueue_efile(case_pk))
    return case


def send_message_to_citizen(case: Case, *, subject: str, body: str, automatic_label: str) -> CaseMessage:
    """A message in the citizen's portal mailbox (and an e-mail that it is there)."""
    if not subject.strip() or not body.strip():
        raise CaseActionError(_("Please give the message a subject and a text."))
    with transaction.atomic():
        case = _locked(case)
        message = CaseMessage.objects.create(
            case=case,
            direction=CaseMessage.Direction.TO_CITIZEN,
            kind=CaseMessage.Kind.MESSAGE,
            subject=subject.strip()[:200],
            body=body.strip()[:10000],
        )
        record_event(
            case, "message_sent", _("Message to the citizen: %(s)s") % {"s": message.subject},
            automatic_label=automatic_label,
        )  # fmt: skip
        _notify_citizen(case, message)
    return message


def add_generated_document(
    case: Case, *, title: str, file_name: str, content: bytes, content_type: str, automatic_label: str,
    visible_to_citizen: bool = False,
) -> CaseDocument:  # fmt: skip
    """Store a document a rule generated (kind "other") in the case file."""
    with transaction.atomic():
        case = _locked(case)
        document = CaseDocument(
            case=case,
            kind=CaseDocument.Kind.OTHER,
            title=title[:300],
            file_name=file_name[:200],
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            visible_to_citizen=visible_to_citizen,
            created_automatically=True,
        )
        document.file.save(document.file_name, ContentFile(content), save=False)
        document.save()
        record_event(
            case, "document_generated", _("Document generated: %(title)s") % {"title": document.title},
            automatic_label=automatic_label,
        )  # fmt: skip
    return document


def remind_open_tasks(call: Any, context: Any) -> None:
    """BPMN service task with topic ``notify.reminder`` (e.g. after a non-interrupting timer):
    remind the people or units holding the case's open tasks, once per engine execution."""
    from dikom.lib.mail import send_mail_on_commit

    case = Case.objects.select_related("municipality").get(pk=context["case_pk"])
    if case.events.filter(kind="reminder", data__call=call.key).exists():
        return None  # the same execution again (a retry): already reminded
    tasks = list(case.tasks.filter(status=Task.Status.OPEN).select_related("assignee", "org_unit"))
    record_event(case, "reminder", _("Reminder from the process: %(name)s.") % {"name": call.name},
                 data={"call": call.key, "tasks": [t.name for t in tasks]})  # fmt: skip
    for task in tasks:
        to = task_recipients(task)
        if to:
            send_mail_on_commit(
                _("Reminder: %(task)s (%(ref)s)") % {"task": task.name, "ref": case.reference},
                _("The task “%(task)s” of case %(ref)s is still open.") % {"task": task.name, "ref": case.reference},
                to,
            )
    return None


def evaluate_business_rule(call: Any, context: Any) -> dict[str, Any]:
    """BPMN business rule task (topic ``dmn:<decision>``): evaluate the decision from the decision tables of
    the case's service version and store its result in the task's result variable; the history records which
    rules matched. A broken table rule (two matches under UNIQUE) fails the step like any failing automation."""
    from dikom.cases.dmn import library
    from dikom.cases.dmn.tables import DecisionError

    case = Case.objects.select_related("application__version").get(pk=context["case_pk"])
    ref = str(call.topic).removeprefix("dmn:")
    try:
        evaluation = library.evaluate(library.files_of(case.application.version.content), ref, call.data)
    except DecisionError as error:
        raise workflow.EngineError(error.message, call.bpmn_id) from None
    variable = call.result_variable or "decision_result"
    record_event(
        case,
        "decision_table",
        _("Decision table “%(decision)s” evaluated for “%(task)s”: matching rules %(rules)s.")
        % {"decision": ref, "task": call.name, "rules": ", ".join(map(str, evaluation.matched)) or "–"},
        automatic_label=_("decision table"),
        data={"call": call.key, "decision": ref, "rules": evaluation.matched, "variable": variable},
    )
    return {variable: evaluation.value}
