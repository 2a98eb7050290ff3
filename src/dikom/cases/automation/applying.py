"""Carrying out a rule's plan through ``dikom.cases.actions`` (the only code that changes cases).

Called inside the runner's transaction: either every action of the rule takes
effect together with its log entry, or none does. Each function checks again
what the plan checked, because the case may have changed since (a refusal
raises :class:`~dikom.cases.actions.CaseActionError`). E-mails are sent on
commit only. Webhooks are called last, after every change to the case, with
an idempotency key that stays the same when the rule runs again after a
failure.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from dikom.cases import actions as case_actions
from dikom.cases import letters
from dikom.cases.actions import CaseActionError
from dikom.cases.automation import planning, rules, webhook
from dikom.cases.models import Case, Task
from dikom.lib import pdf, template_sandbox
from dikom.lib.mail import send_mail_on_commit
from dikom.lib.slugs import german_slugify as slugify

#: Namespace of the idempotency keys of webhook calls (uuid5 of the event and the action's position).
WEBHOOK_NAMESPACE = uuid.UUID("6f1c1a52-3f7e-4c36-9a3e-1a4d1f0d6b21")


def event_key(rule: Any, case: Case, trigger: str, occurrence: str, index: int) -> str:
    return str(uuid.uuid5(WEBHOOK_NAMESPACE, f"{rule.uuid}:{case.uuid}:{trigger}:{occurrence}:{index}"))


def apply(rule: Any, case_pk: int, trigger: str, occurrence: str, plan: planning.Plan) -> list[dict[str, Any]]:
    """Perform the plan's actions (webhooks last); returns one log row per action in the rule's order."""
    ordered = [s for s in plan.steps if s.type != "call_webhook"] + [s for s in plan.steps if s.type == "call_webhook"]
    rows: dict[int, dict[str, Any]] = {}
    for step in ordered:
        if step.state == planning.SKIP:
            rows[step.index] = {"index": step.index, "type": step.type, "outcome": "skipped", "text": step.text}
            continue
        case = Case.objects.select_related("municipality", "application__version", "org_unit").get(pk=case_pk)
        context = {"trigger": trigger, "occurrence": occurrence, "index": step.index}
        text = _APPLIERS[step.type](rule, case, step.action, context)
        rows[step.index] = {"index": step.index, "type": step.type, "outcome": "done", "text": text}
    return [rows[index] for index in sorted(rows)]


def _open_tasks(case: Case, wanted: str, kinds: tuple[str, ...] = ()) -> list[Task]:
    tasks = list(case.tasks.filter(status=Task.Status.OPEN))
    return planning.tasks_named(tasks, wanted, kinds=kinds)


def _assign_to_unit(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any]) -> str:
    unit = rules.find_unit(case.municipality, action["unit"])
    if unit is None:
        raise CaseActionError(_("There is no unit “%(unit)s” (any more).") % {"unit": action["unit"]})
    tasks = _open_tasks(case, action.get("task", ""), planning.ROUTABLE)
    for task in tasks:
        case_actions.route_task(task, unit=unit, automatic_label=rule.label)
    if not tasks:
        return _("No open task to assign to %(unit)s.") % {"unit": unit.name}
    return _("Assigned %(tasks)s to %(unit)s.") % {"tasks": planning._names(tasks), "unit": unit.name}


def _assign_to_user(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any]) -> str:
    user = rules.find_staff(case.municipality, action["user"])
    if user is None:
        raise CaseActionError(_("“%(user)s” is not a caseworker of the city (any more).") % {"user": action["user"]})
    tasks = _open_tasks(case, action.get("task", ""), planning.ROUTABLE)
    for task in tasks:
        case_actions.route_task(task, user=user, automatic_label=rule.label)
    who = user.get_full_name() or user
    if not tasks:
        return _("No open task to assign to %(who)s.") % {"who": who}
    return _("Assigned %(tasks)s to %(who)s.") % {"tasks": planning._names(tasks), "who": who}


def _set_status(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any]) -> str:
    target = action["status"]
    if target == case.status:
        return _("The status is already “%(status)s”.") % {"status": planning.status_label(target)}
    if target not in rules.STATUS_TRANSITIONS.get(case.status, set()):
        raise CaseActionError(
            _("The status cannot change from “%(old)s” to “%(new)s” by a rule.")
            % {"old": planning.status_label(case.status), "new": planning.status_label(target)}
        )
    if target == Case.Status.WAITING:
        case_actions.request_information(
            case, None, subject=_render_text(case, action["subject"]), body=_render_text(case, action["message"])
        )
    elif target == Case.Status.OPEN:
        case_actions.resume_case(case, automatic_label=rule.label)
    else:
        case_actions.close_case_automatically(case, automatic_label=rule.label)
    return _("Status set to “%(status)s”.") % {"status": planning.status_label(target)}


def _complete_task(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any]) -> str:
    tasks = _open_tasks(case, action["task"])
    if not tasks:
        raise CaseActionError(_("There is no open task “%(task)s”.") % {"task": action["task"]})
    case_actions.complete_task(
        tasks[0],
        None,
        expected_version=None,
        result=_render_text(case, action.get("result", "")),
        automatic_label=rule.label,
    )
    return _("Completed “%(task)s”.") % {"task": tasks[0].name}


def _decide(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any]) -> str:
    outcome, reasons = action["outcome"], _render_text(case, action.get("reasons", ""))
    refusal = planning.decision_refusal(rules.service_content(case), case.status, case.outcome, outcome, reasons)
    if refusal:
        raise CaseActionError(refusal)
    case_actions.decide(case, None, outcome=outcome, reasons=reasons, automatic_label=rule.label)
    return {
        Case.Outcome.APPROVED: _("Approved automatically."),
        Case.Outcome.PARTLY_APPROVED: _("Partly approved automatically."),
        Case.Outcome.REJECTED: _("Rejected automatically."),
    }[Case.Outcome(outcome)]


def _render(case: Case, source: str, *, html: bool) -> str:
    """A rule's text with the letter's data (``case``, ``answers``, ``fees``, ``municipality``), sandboxed."""
    return template_sandbox.render(source, letters.letter_context(case), autoescape=html)


def _render_text(case: Case, source: str) -> str:
    if "{" not in source:
        return source
    try:
        return _render(case, source, html=False)
    except letters.LetterTemplateError as error:
        raise CaseActionError(_("The text cannot be used: %(e)s") % {"e": error}) from error


def document_html(case: Case, title: str, source: str) -> str:
    from django.utils.html import escape

    body = _render(case, source, html=True)
    return (
        '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        "<style>@page { size: A4; margin: 20mm; } body { font-family: sans-serif; font-size: 11pt; }</style>"
        f"</head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(case.municipality.name)} · {escape(case.reference)}</p>{body}</body></html>"
    )


def _generate_document(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any]) -> str:
    title = _render_text(case, action["title"])[:300]
    try:
        html = document_html(case, title, action["template"])
    except letters.LetterTemplateError as error:
        raise CaseActionError(_("The text cannot be used: %(e)s") % {"e": error}) from error
    try:
        document = pdf.render_pdf(html, pdf_variant="pdf/a-3b")
    except pdf.PdfError as error:
        raise CaseActionError(_("The document could not be generated: %(e)s") % {"e": error}) from error
    case_actions.add_generated_document(
        case,
        title=title,
        file_name=f"{slugify(title)[:60] or 'dokument'}-{case.reference}.pdf",
        content=document,
        content_type="application/pdf",
        visible_to_citizen=bool(action.get("visible_to_citizen", False)),
        automatic_label=rule.label,
    )
    return _("Generated the document “%(title)s”.") % {"title": title}


def _notify(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any]) -> str:
    to = str(action["to"]).strip()
    subject, body = _render_text(case, action["subject"]), _render_text(case, action["body"])
    if to == "citizen":
        case_actions.send_message_to_citizen(case, subject=subject, body=body, automatic_label=rule.label)
        return _("Sent the citizen a message in the portal mailbox (“%(subject)s”).") % {"subject": subject[:200]}
    address = planning.notify_address(case, to)
    if not address:
        raise CaseActionError(_("The responsible unit has no e-mail address."))
    send_mail_on_commit(subject.replace("\n", " ")[:200], body, [address])
    case_actions.record_event(
        case, "notified", _("E-mail sent to %(address)s: %(s)s") % {"address": address, "s": subject[:200]},
        automatic_label=rule.label,
    )  # fmt: skip
    return _("Sent an e-mail to %(address)s.") % {"address": address}


def webhook_body(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any], key: str) -> bytes:
    """The JSON the receiver gets; the same for every attempt of the same event (no clock in it)."""
    document: dict[str, Any] = {
        "format": "dikom.automation/1",
        "event_id": key,
        "rule": {"uuid": str(rule.uuid), "name": rule.name},
        "trigger": context["trigger"],
        "occurrence": context["occurrence"],
        "municipality": {"slug": case.municipality.slug, "ags": case.municipality.ags, "name": case.municipality.name},
        "case": {
            "uuid": str(case.uuid),
            "reference": case.reference,
            "service": case.service_slug,
            "status": case.status,
            "outcome": case.outcome,
            "decided_automatically": case.decided_automatically,
        },
    }
    if action.get("include_answers"):
        document["answers"] = (case.application.submission_data or {}).get("answers") or {}
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def _call_webhook(rule: Any, case: Case, action: dict[str, Any], context: dict[str, Any]) -> str:
    key = event_key(rule, case, context["trigger"], context["occurrence"], context["index"])
    body = webhook_body(rule, case, action, context, key)
    status = webhook.call(action["url"], body, secret=rule.webhook_secret, idempotency_key=key)
    case_actions.record_event(
        case, "webhook_called", _("Webhook called (HTTP %(status)d).") % {"status": status},
        automatic_label=rule.label, data={"event_id": key},
    )  # fmt: skip
    return _("Called the webhook (HTTP %(status)d).") % {"status": status}


_APPLIERS: dict[str, Callable[[Any, Case, dict[str, Any], dict[str, Any]], str]] = {
    "assign_to_unit": _assign_to_unit,
    "assign_to_user": _assign_to_user,
    "set_status": _set_status,
    "complete_task": _complete_task,
    "decide": _decide,
    "generate_document": _generate_document,
    "notify": _notify,
    "call_webhook": _call_webhook,
}
