"""The only code that changes cases. Every change is in the case history and the audit log.

Concurrency: case-changing actions lock the case row (``select_for_update``);
task actions also compare the task's ``lock_version`` with the one the user's
form was rendered with, so when two caseworkers act on the same task at once,
one wins and the other gets :class:`StaleTask` with a clear message.

The actions are grouped by concern; callers import them from here
(``from dikom.cases import actions``), not from the modules:

- ``core``: the errors, :func:`record_event`, the row lock and version bump,
  the work handed on after commit (automation rules, e-mail, e-file transfer);
- ``opening``: a submitted application becomes a case; the task list follows
  the process engine;
- ``casework``: take, hand over and complete tasks, consultations, timers,
  reminders;
- ``correspondence``: notes, media breaks, requests to the citizen and the
  answers, read receipts of the portal mailbox;
- ``decision``: decision, second sign-off, decision letter, closing, e-file
  retry;
- ``automatic``: what automation rules and the process engine's service and
  business rule tasks do without a person.
"""

from __future__ import annotations

from dikom.cases.actions.automatic import (
    add_generated_document,
    close_case_automatically,
    evaluate_business_rule,
    remind_open_tasks,
    resume_case,
    route_task,
    send_message_to_citizen,
)
from dikom.cases.actions.casework import (
    assign_task,
    claim_task,
    complete_task,
    consult,
    process_due_timers,
    send_reminders,
    task_recipients,
)
from dikom.cases.actions.core import CaseActionError, StaleTask, on_commit_rules, record_event
from dikom.cases.actions.core import _locked as _locked  # used by ``document_actions``
from dikom.cases.actions.correspondence import (
    add_note,
    answer_information,
    mark_messages_read,
    record_media_break,
    request_information,
)
from dikom.cases.actions.decision import close_case, decide, retry_efile_transfer, sign_off, sign_off_required
from dikom.cases.actions.opening import _apply as _apply  # used by ``platform_messages``
from dikom.cases.actions.opening import _lane_units as _lane_units  # named by ``eservices.process``
from dikom.cases.actions.opening import open_case

__all__ = [
    "CaseActionError",
    "StaleTask",
    "add_generated_document",
    "add_note",
    "answer_information",
    "assign_task",
    "claim_task",
    "close_case",
    "close_case_automatically",
    "complete_task",
    "consult",
    "decide",
    "evaluate_business_rule",
    "mark_messages_read",
    "on_commit_rules",
    "open_case",
    "process_due_timers",
    "record_event",
    "record_media_break",
    "remind_open_tasks",
    "request_information",
    "resume_case",
    "retry_efile_transfer",
    "route_task",
    "send_message_to_citizen",
    "send_reminders",
    "sign_off",
    "sign_off_required",
    "task_recipients",
]
