"""What a rule may say: the data object its condition sees, the actions it may take, and their checks.

The condition is JSON-Logic evaluated by the service definitions' safe
evaluator (:mod:`dikom.eservices.definition.logic`): no code, bounded in size
and depth. The actions are a fixed vocabulary, each an object with a
``type`` and its parameters; :func:`check_actions` explains every problem in
words a process designer understands.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from dikom.cases.models import Case, Task
from dikom.eservices.definition import logic
from dikom.lib.jsonparse import loads_limited
from dikom.municipalities.models import Municipality, OrgUnit

#: The first part of every variable a condition may read.
DATA_ROOTS = (
    "answers",
    "service",
    "fee_total_cents",
    "auth_method",
    "trust_level",
    "status",
    "outcome",
    "trigger",
    "task",
    "decisions",
)
TASK_KEYS = ("bpmn_id", "name", "result", "status")

#: type → (required parameters, optional parameters)
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "assign_to_unit": (("unit",), ("task",)),
    "assign_to_user": (("user",), ("task",)),
    "set_status": (("status",), ("subject", "message")),
    "complete_task": (("task",), ("result",)),
    "decide": (("outcome",), ("reasons",)),
    "generate_document": (("title", "template"), ("visible_to_citizen",)),
    "notify": (("to", "subject", "body"), ()),
    "call_webhook": (("url",), ("include_answers",)),
}
BOOLEAN_PARAMETERS = {"visible_to_citizen", "include_answers"}
#: Parameters filled in as templates (``dikom.lib.template_sandbox``) when the rule runs.
TEMPLATE_PARAMETERS = frozenset({"template", "subject", "body", "reasons", "result", "message", "title"})

#: set_status: from → the statuses a rule may move a case to.
STATUS_TRANSITIONS: dict[str, set[str]] = {
    Case.Status.OPEN: {Case.Status.WAITING},
    Case.Status.WAITING: {Case.Status.OPEN},
    Case.Status.DECIDED: {Case.Status.CLOSED},
}
SETTABLE_STATUSES = (Case.Status.OPEN, Case.Status.WAITING, Case.Status.CLOSED)
OUTCOMES = (Case.Outcome.APPROVED, Case.Outcome.PARTLY_APPROVED, Case.Outcome.REJECTED)


def data_object(case: Case, trigger: str, task: Task | None = None) -> dict[str, Any]:
    """The data a condition sees (documented in docs/automation.md)."""
    submitted = case.application.submission_data or {}
    data = {
        "answers": submitted.get("answers") or {},
        "service": case.service_slug,
        "fee_total_cents": int(submitted.get("fee_total_cents") or 0),
        "auth_method": str(submitted.get("auth_method") or ""),
        "trust_level": str(submitted.get("trust_level") or ""),
        "status": case.status,
        "outcome": case.outcome,
        "trigger": trigger,
        "task": (
            {"bpmn_id": task.bpmn_id, "name": task.name, "result": task.result, "status": task.status}
            if task is not None
            else {}
        ),
    }
    data["decisions"] = decision_results(service_content(case), data)
    return data


def decision_results(content: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """``decisions.<decision id>``: every decision of the service's DMN tables, evaluated with the rule's data
    (a decision that breaks its hit policy, e.g. two UNIQUE matches, gives null)."""
    from dikom.cases.dmn import library
    from dikom.cases.dmn.tables import DecisionError

    results: dict[str, Any] = {}
    for xml in library.files_of(content).values():
        decisions = library.parse(xml)
        for decision in decisions.decisions:
            try:
                results[decision.id] = decisions.evaluate(decision.id, data).value
            except DecisionError:
                results[decision.id] = None
    return results


def service_content(case: Case) -> dict[str, Any]:
    content = case.application.version.content
    return content if isinstance(content, dict) else {}


def automatic_decision_allowed(content: Mapping[str, Any]) -> bool:
    processing = content.get("processing") or {}
    return bool(isinstance(processing, dict) and processing.get("automatic_decision_allowed"))


# --- Looking up what actions name -----------------------------------------------------------


def find_unit(municipality: Municipality, text: str) -> OrgUnit | None:
    """A unit of the city by name or short name (case-insensitive)."""
    wanted = str(text).strip()
    if not wanted:
        return None
    return (
        OrgUnit.objects.filter(municipality=municipality)
        .filter(Q(name__iexact=wanted) | Q(short_name__iexact=wanted))
        .order_by("pk")
        .first()
    )


def find_staff(municipality: Municipality, text: str) -> Any:
    """A caseworker or administrator of the city by user name or e-mail address."""
    from dikom.cases.access import colleagues

    wanted = str(text).strip()
    if not wanted:
        return None
    return colleagues(municipality).filter(Q(username__iexact=wanted) | Q(email__iexact=wanted)).first()


# --- Checks ---------------------------------------------------------------------------------


def parse_json(text: str, what: str) -> Any:
    """Parse a JSON text from a form; a readable error with line and column."""
    try:
        return loads_limited(text)
    except json.JSONDecodeError as error:
        raise ValidationError(
            _("The %(what)s is not valid JSON: %(problem)s (line %(line)d, column %(column)d).")
            % {"what": what, "problem": error.msg, "line": error.lineno, "column": error.colno},
            code="json",
        ) from error


def _answer_keys(content: Mapping[str, Any]) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for step in content.get("steps") or []:
        if isinstance(step, dict) and isinstance(step.get("key"), str):
            keys[step["key"]] = {str(f.get("key")) for f in step.get("fields") or [] if isinstance(f, dict)}
    return keys


def _decision_ids(content: Mapping[str, Any]) -> set[str]:
    from dikom.cases.dmn import library
    from dikom.cases.dmn.tables import DmnRefused

    ids: set[str] = set()
    for xml in library.files_of(content).values():
        try:
            ids.update(d.id for d in library.parse(xml).decisions)
        except DmnRefused:
            continue
    return ids


def check_condition(condition: Any, content: Mapping[str, Any] | None = None) -> list[str]:
    """Problems of a condition; with the service's definition also unknown steps and fields."""
    if condition is None:
        return []
    try:
        names = logic.variables(condition)
    except logic.LogicError as error:
        return [_("The condition is not valid JSON-Logic: %(problem)s.") % {"problem": error}]
    problems = []
    answer_keys = _answer_keys(content) if content else {}
    decision_ids = _decision_ids(content) if content is not None else set()
    for name in sorted(names):
        parts = name.split(".")
        if parts[0] not in DATA_ROOTS:
            problems.append(
                _("Unknown variable “%(name)s”: variables start with %(roots)s.")
                % {"name": name, "roots": ", ".join(DATA_ROOTS)}
            )
        elif parts[0] == "decisions" and content is not None and len(parts) > 1 and parts[1] not in decision_ids:
            problems.append(
                _("The service has no decision “%(decision)s” in its decision tables (variable “%(name)s”).")
                % {"decision": parts[1], "name": name}
            )
        elif parts[0] == "task" and len(parts) > 1 and parts[1] not in TASK_KEYS:
            problems.append(
                _("Unknown variable “%(name)s”: a task has %(keys)s.") % {"name": name, "keys": ", ".join(TASK_KEYS)}
            )
        elif parts[0] == "answers" and answer_keys and len(parts) > 1:
            if parts[1] not in answer_keys:
                problems.append(
                    _("The service has no step “%(step)s” (variable “%(name)s”).") % {"step": parts[1], "name": name}
                )
            elif len(parts) > 2 and parts[2] not in answer_keys[parts[1]]:
                problems.append(
                    _("The step “%(step)s” has no field “%(field)s” (variable “%(name)s”).")
                    % {"step": parts[1], "field": parts[2], "name": name}
                )
    return problems


def check_actions(actions: Any, municipality: Municipality, content: Mapping[str, Any] | None = None) -> list[str]:
    """Problems of an action list, one message per problem, naming the action by its number."""
    from dikom.cases.automation import webhook
    from dikom.cases.letters import LetterTemplateError, check_template

    if not isinstance(actions, list):
        return [_('The actions must be a list: [ {"type": …}, … ].')]
    if not actions:
        return [_("Please give at least one action.")]
    if len(actions) > 20:
        return [_("A rule may have at most 20 actions.")]
    problems: list[str] = []
    for number, action in enumerate(actions, start=1):

        def problem(text: str, number: int = number) -> None:
            problems.append(_("Action %(number)d: %(problem)s") % {"number": number, "problem": text})

        if not isinstance(action, dict) or not isinstance(action.get("type"), str):
            problem(_("each action is an object with a “type”."))
            continue
        kind = action["type"]
        if kind not in ACTIONS:
            problem(_("unknown type “%(type)s”; possible: %(types)s.") % {"type": kind, "types": ", ".join(ACTIONS)})
            continue
        required, optional = ACTIONS[kind]
        before = len(problems)
        unknown = set(action) - {"type", *required, *optional}
        if unknown:
            problem(
                _("unknown parameter(s) %(names)s for “%(type)s”.")
                % {"names": ", ".join(f"“{n}”" for n in sorted(unknown)), "type": kind}
            )
        missing = [name for name in required if not str(action.get(name) or "").strip()]
        if missing:
            problem(_("“%(type)s” needs %(names)s.") % {"type": kind, "names": ", ".join(f"“{n}”" for n in missing)})
            continue
        for name in set(action) - {"type"} - BOOLEAN_PARAMETERS:
            if not isinstance(action[name], str):
                problem(_("“%(name)s” must be a text.") % {"name": name})
        for name in BOOLEAN_PARAMETERS & set(action):
            if not isinstance(action[name], bool):
                problem(_("“%(name)s” must be true or false.") % {"name": name})
        if len(problems) > before:
            continue
        if kind == "assign_to_unit" and find_unit(municipality, action["unit"]) is None:
            problem(_("%(city)s has no unit “%(unit)s”.") % {"city": municipality.name, "unit": action["unit"]})
        elif kind == "assign_to_user" and find_staff(municipality, action["user"]) is None:
            problem(
                _("“%(user)s” is not a caseworker or administrator of %(city)s.")
                % {"user": action["user"], "city": municipality.name}
            )
        elif kind == "set_status":
            if action["status"] not in SETTABLE_STATUSES:
                problem(
                    _("a rule can set the status %(statuses)s.")
                    % {"statuses": ", ".join(f"“{s}”" for s in SETTABLE_STATUSES)}
                )
            elif action["status"] == Case.Status.WAITING and not (
                str(action.get("subject") or "").strip() and str(action.get("message") or "").strip()
            ):
                problem(_("waiting for the citizen needs a “subject” and a “message” saying what is missing."))
        elif kind == "decide":
            if action["outcome"] not in OUTCOMES:
                problem(_("the outcome is one of %(outcomes)s.") % {"outcomes": ", ".join(f"“{o}”" for o in OUTCOMES)})
            elif action["outcome"] != Case.Outcome.APPROVED and not str(action.get("reasons") or "").strip():
                problem(_("a decision other than “approved” needs “reasons”."))
            elif content is not None and not automatic_decision_allowed(content):
                problem(_("this online service is not marked as fully rule-based; it cannot be decided automatically."))
        for name in sorted(TEMPLATE_PARAMETERS & set(action)):
            # Every text a rule fills in runs in the template sandbox; refuse now what it would refuse then.
            try:
                check_template(action[name])
            except LetterTemplateError as error:
                problem(_("the text “%(name)s” cannot be used: %(problem)s") % {"name": name, "problem": error})
        if len(problems) > before:
            continue
        if kind == "notify":
            to = action["to"].strip()
            if to not in {"unit", "citizen"} and not _is_email(to):
                problem(_("“to” is “unit”, “citizen” or an e-mail address."))
        elif kind == "call_webhook":
            try:
                webhook.parse_url(action["url"])
            except ValidationError as error:
                problem(" ".join(str(m) for m in error.messages))
    return problems


def _is_email(text: str) -> bool:
    from django.core.validators import validate_email

    try:
        validate_email(text)
    except ValidationError:
        return False
    return True
