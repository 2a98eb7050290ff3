"""Work on tasks: take, hand over, complete, consult another unit; process timers and overdue reminders."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.cases import workflow
from dikom.cases.actions.core import CaseActionError, StaleTask, _locked, on_commit_rules, record_event
from dikom.cases.actions.opening import _apply
from dikom.cases.models import Case, Task
from dikom.municipalities.models import OrgUnit


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
