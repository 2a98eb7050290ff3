"""What a rule would do for a case: evaluated without changing anything.

:func:`plan` is pure (it only reads): it evaluates the condition on the case's
data object and says for every action what it would do, or why it would be
refused. The dry run shows plans for past cases; a real execution makes a plan
first and hands it to :mod:`dikom.cases.automation.applying`, which checks
again while it changes the case (the case may change between the two).
Actions of one plan see the effects of the actions before them (a decision
makes the case "decided" for a following "close"), as far as they matter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dikom.cases.automation import rules
from dikom.cases.models import Case, Task
from dikom.eservices.definition import logic

OK = "ok"
SKIP = "skip"
REFUSE = "refuse"


@dataclass
class Step:
    index: int
    action: dict[str, Any]
    state: str
    text: str

    @property
    def type(self) -> str:
        return str(self.action.get("type") or "")


@dataclass
class Plan:
    matched: bool
    steps: list[Step] = field(default_factory=list)
    condition_error: str = ""

    @property
    def refusal(self) -> Step | None:
        return next((step for step in self.steps if step.state == REFUSE), None)

    def rows(self, outcome_ok: str = "planned") -> list[dict[str, Any]]:
        """The plan as log rows: per action its type, what it would do and whether it may."""
        names = {OK: outcome_ok, SKIP: "skipped", REFUSE: "refused"}
        return [{"index": s.index, "type": s.type, "outcome": names[s.state], "text": s.text} for s in self.steps]


@dataclass
class _State:
    """The parts of the case later actions of the same plan depend on."""

    status: str
    outcome: str
    open_tasks: list[Task]


def matches_filters(rule: Any, case: Case, task: Task | None) -> bool:
    if rule.service_slug and rule.service_slug != case.service_slug:
        return False
    if rule.task_filter:
        if task is None:
            return False
        wanted = rule.task_filter.strip()
        return task.bpmn_id == wanted or task.name.casefold() == wanted.casefold()
    return True


def plan(rule: Any, case: Case, trigger: str, task: Task | None = None, *, today: dt.date | None = None) -> Plan:
    """What ``rule`` (saved or not) would do for ``case`` on ``trigger`` (for ``task``)."""
    data = rules.data_object(case, trigger, task)
    if rule.condition is not None:
        try:
            result = logic.evaluate(rule.condition, data, today=today)
        except logic.LogicError as error:
            return Plan(matched=False, condition_error=_("The condition could not be evaluated: %(e)s") % {"e": error})
        if not logic.truthy(result):
            return Plan(matched=False)
    state = _State(
        status=case.status,
        outcome=case.outcome,
        open_tasks=list(case.tasks.filter(status=Task.Status.OPEN).select_related("org_unit", "assignee")),
    )
    content = rules.service_content(case)
    steps = []
    for index, action in enumerate(rule.actions or []):
        planner = _PLANNERS.get(str(action.get("type") if isinstance(action, dict) else ""))
        if planner is None:
            steps.append(Step(index, action if isinstance(action, dict) else {}, REFUSE, _("Unknown action.")))
            continue
        state_text = planner(rule, case, action, state, content)
        steps.append(Step(index, action, *state_text))
    return Plan(matched=True, steps=steps)


def tasks_named(tasks: list[Task], wanted: str, *, kinds: tuple[str, ...] = ()) -> list[Task]:
    wanted = str(wanted or "").strip()
    found = [t for t in tasks if not kinds or t.kind in kinds]
    if wanted:
        found = [t for t in found if t.bpmn_id == wanted or t.name.casefold() == wanted.casefold()]
    return found


def _names(tasks: list[Task]) -> str:
    return ", ".join(f"“{t.name}”" for t in tasks)


PlannerResult = tuple[str, str]
ROUTABLE = (Task.Kind.WORKFLOW, Task.Kind.CONSULTATION)


def _assign_to_unit(rule: Any, case: Case, action: dict[str, Any], state: _State, content: Any) -> PlannerResult:
    unit = rules.find_unit(case.municipality, action.get("unit", ""))
    if unit is None:
        return REFUSE, _("There is no unit “%(unit)s” (any more).") % {"unit": action.get("unit", "")}
    tasks = tasks_named(state.open_tasks, action.get("task", ""), kinds=ROUTABLE)
    if not tasks:
        return SKIP, _("No open task to assign to %(unit)s.") % {"unit": unit.name}
    return OK, _("Would assign %(tasks)s to %(unit)s.") % {"tasks": _names(tasks), "unit": unit.name}


def _assign_to_user(rule: Any, case: Case, action: dict[str, Any], state: _State, content: Any) -> PlannerResult:
    user = rules.find_staff(case.municipality, action.get("user", ""))
    if user is None:
        return REFUSE, _("“%(user)s” is not a caseworker of the city (any more).") % {"user": action.get("user", "")}
    tasks = tasks_named(state.open_tasks, action.get("task", ""), kinds=ROUTABLE)
    if not tasks:
        return SKIP, _("No open task to assign to %(who)s.") % {"who": user.get_full_name() or user}
    return OK, _("Would assign %(tasks)s to %(who)s.") % {"tasks": _names(tasks), "who": user.get_full_name() or user}


def status_label(status: str) -> str:
    return str(dict(Case.Status.choices).get(status, status))


def _set_status(rule: Any, case: Case, action: dict[str, Any], state: _State, content: Any) -> PlannerResult:
    target = action.get("status", "")
    if target == state.status:
        return SKIP, _("The status is already “%(status)s”.") % {"status": status_label(target)}
    if target not in rules.STATUS_TRANSITIONS.get(state.status, set()):
        return REFUSE, _("The status cannot change from “%(old)s” to “%(new)s” by a rule.") % {
            "old": status_label(state.status),
            "new": status_label(target),
        }
    state.status = target
    if target == Case.Status.WAITING:
        return OK, _("Would ask the citizen for information (“%(subject)s”) and wait.") % {
            "subject": action.get("subject", "")
        }
    return OK, _("Would set the status to “%(status)s”.") % {"status": status_label(target)}


def _complete_task(rule: Any, case: Case, action: dict[str, Any], state: _State, content: Any) -> PlannerResult:
    if state.status != Case.Status.OPEN and state.status != Case.Status.WAITING:
        return REFUSE, _("The case is no longer open.")
    tasks = tasks_named(state.open_tasks, action.get("task", ""))
    if not tasks:
        return REFUSE, _("There is no open task “%(task)s”.") % {"task": action.get("task", "")}
    state.open_tasks = [t for t in state.open_tasks if t.pk != tasks[0].pk]
    return OK, _("Would complete “%(task)s”.") % {"task": tasks[0].name}


WOULD_DECIDE = {
    Case.Outcome.APPROVED: gettext_noop("Would approve."),
    Case.Outcome.PARTLY_APPROVED: gettext_noop("Would partly approve."),
    Case.Outcome.REJECTED: gettext_noop("Would reject."),
}


def decision_refusal(content: Any, status: str, outcome: str, wanted: str, reasons: str) -> str:
    """Why a rule may not decide now, or ""."""
    if not rules.automatic_decision_allowed(content):
        return _(
            "The online service is not marked as fully rule-based (automatic_decision_allowed); "
            "a rule may not decide it."
        )
    if (content.get("processing") or {}).get("sign_off_required"):
        return _("Decisions of this online service need a second sign-off; a rule may not decide it.")
    if wanted not in rules.OUTCOMES:
        return _("Unknown outcome “%(outcome)s”.") % {"outcome": wanted}
    if wanted != Case.Outcome.APPROVED and not reasons.strip():
        return _("A decision other than “approved” needs reasons.")
    if outcome:
        return _("The case has already been decided.")
    if status != Case.Status.OPEN:
        return _("Only open cases that do not wait for the citizen can be decided.")
    return ""


def _decide(rule: Any, case: Case, action: dict[str, Any], state: _State, content: Any) -> PlannerResult:
    wanted = str(action.get("outcome", ""))
    refusal = decision_refusal(content, state.status, state.outcome, wanted, str(action.get("reasons", "")))
    if refusal:
        return REFUSE, refusal
    state.status, state.outcome, state.open_tasks = Case.Status.DECIDED, wanted, []
    return OK, _(WOULD_DECIDE[Case.Outcome(wanted)])


def _generate_document(rule: Any, case: Case, action: dict[str, Any], state: _State, content: Any) -> PlannerResult:
    return OK, _("Would generate the document “%(title)s”.") % {"title": action.get("title", "")}


def notify_address(case: Case, to: str) -> str:
    """The e-mail address of a notify action ("" for the citizen and for a unit without one)."""
    if to == "unit":
        return case.org_unit.email if case.org_unit is not None else ""
    return "" if to == "citizen" else to


def _notify(rule: Any, case: Case, action: dict[str, Any], state: _State, content: Any) -> PlannerResult:
    to = str(action.get("to", "")).strip()
    if to == "citizen":
        return OK, _("Would send the citizen a message in the portal mailbox (“%(subject)s”).") % {
            "subject": action.get("subject", "")
        }
    address = notify_address(case, to)
    if not address:
        return REFUSE, _("The responsible unit has no e-mail address.")
    return OK, _("Would send an e-mail to %(address)s.") % {"address": address}


def _call_webhook(rule: Any, case: Case, action: dict[str, Any], state: _State, content: Any) -> PlannerResult:
    host = urlsplit(str(action.get("url", ""))).hostname or action.get("url", "")
    return OK, _("Would call the webhook at %(host)s.") % {"host": host}


_PLANNERS = {
    "assign_to_unit": _assign_to_unit,
    "assign_to_user": _assign_to_user,
    "set_status": _set_status,
    "complete_task": _complete_task,
    "decide": _decide,
    "generate_document": _generate_document,
    "notify": _notify,
    "call_webhook": _call_webhook,
}
