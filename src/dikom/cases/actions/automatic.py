"""Actions without a person: those the automation rules (``dikom.cases.automation``) and the process
engine's service and business rule tasks carry out."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.cases import workflow
from dikom.cases.actions.casework import _task_for_update, task_recipients
from dikom.cases.actions.core import CaseActionError, _bump, _enqueue_efile, _locked, _notify_citizen, record_event
from dikom.cases.models import Case, CaseDocument, CaseMessage, Task
from dikom.municipalities.models import OrgUnit


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
