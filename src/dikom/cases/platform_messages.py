"""Platform events as BPMN messages: a payment, the citizen's answer, an outside system's message.

A service's process says which platform event a message stands for (the
vocabulary and the import check are in ``cases.bpmn.platform_events``; see
docs/bpmn.md). This module delivers them:

- ``on_payment_recorded``: a payment of the case turns paid (``payments.signals.payment_status_recorded``,
  inside the payment's transaction) → ``dikom:zahlung-eingegangen``; ``payment_at_opening`` for a case whose
  application was paid in the portal before it opened;
- ``citizen_answered``: the citizen answers an information request in the portal (``actions.answer_information``)
  → ``dikom:antwort-antragsteller``;
- ``post_message``: an outside system posts a message over the case API → ``dikom:webhook:<name>``, or a
  message of the process that names no platform event.

Every delivery runs in the transaction of the event, under the case's row lock,
and is recorded in the case history with its key: the same event delivered again
(a payment platform's repeated notification, a client's retry with the same
``Idempotency-Key``) changes nothing the second time. When the case waits for no
such message the delivery is a no-op, recorded as such; when the process cannot
take it (an engine error) the step stays open for a person and the history says
why — the event itself (the payment, the answer) is never lost.

Messages the process sends (``message:dikom:…`` topics of send tasks and message
throw events) are handled by ``send_platform_message``: a notice in the citizen's
portal mailbox, or a webhook event ``process.message`` to the city's subscribers.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid as uuid_module
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from dikom.cases import actions, workflow
from dikom.cases.bpmn import platform_events
from dikom.cases.bpmn.engine import ProcessInstance, ServiceCall
from dikom.cases.bpmn.xmlsafe import BPMN_NS, UnsafeXMLError, parse_xml
from dikom.cases.models import Case, CaseEvent, CaseMessage, Task

logger = logging.getLogger(__name__)

#: The history entry of a platform event delivered (or not) to the case's process; ``data["key"]`` makes it once.
KIND = "platform_message"
#: The history entry of a message the process sent to a platform event; ``data["key"]`` is the engine call's key.
SENT_KIND = "platform_message_sent"

DELIVERED = "delivered"
NOT_WAITING = "not_waiting"
FAILED = "failed"
OUTCOME_CHOICES = [(DELIVERED, DELIVERED), (NOT_WAITING, NOT_WAITING), (FAILED, FAILED)]


@dataclass(frozen=True)
class Delivery:
    """What became of one platform event: ``outcome`` (delivered, not_waiting, failed), the BPMN message name it
    was delivered as, whether it had been delivered before (``duplicate``), and the error of a failed delivery."""

    outcome: str
    message: str = ""
    duplicate: bool = False
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.outcome == DELIVERED


# --- What the process declares ----------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _declared(digest: str, xml: str) -> tuple[tuple[str, str], ...]:
    try:
        root = parse_xml(xml)
    except UnsafeXMLError:
        return ()
    return tuple(
        (platform_events.engine_name(message), platform_events.declared(message).event)
        for message in root.iter(f"{{{BPMN_NS}}}message")
    )


def declared_messages(xml: str) -> tuple[tuple[str, str], ...]:
    """(BPMN message name as the engine knows it, platform event or "") of every message of the process file."""
    if not xml:
        return ()
    return _declared(hashlib.sha256(xml.encode()).hexdigest(), xml)


def names_for(xml: str, event: str) -> list[str]:
    """The message names of the process file that stand for the platform event ``event``."""
    return [name for name, declared in declared_messages(xml) if declared == event]


def case_messages(case: Case) -> list[tuple[str, str]]:
    """(BPMN message name, platform event or "") of the case's process file and of the processes it calls from
    the library, at any depth: those are part of the case's stored state (the version the case started with),
    not of its file."""
    declared = list(declared_messages(case.process_xml))
    if not case.workflow_state or "callActivity" not in (case.process_xml or ""):
        return declared
    try:
        called = ProcessInstance.load(case.workflow_state).awaited_messages()
    except workflow.EngineError:
        return declared
    return declared + [pair for pair in called if pair not in declared]


def case_names_for(case: Case, event: str) -> list[str]:
    """The message names of the case's processes (its own and the called ones) that stand for ``event``."""
    return [name for name, declared in case_messages(case) if declared == event]


# --- Delivering -------------------------------------------------------------------------------


def deliver(
    case: Case,
    names: list[str],
    *,
    key: str,
    event: str,
    data: dict[str, Any],
    text: str,
    source: str = "",
    actor: Any = None,
    requested: str = "",
) -> Delivery:
    """Deliver a platform event as the first of the BPMN messages ``names`` the case waits for, once per ``key``.

    Runs in the caller's transaction (a savepoint of it) under the case's row lock and records ``text`` with
    the outcome in the history. ``source`` is the automatic actor's label (the payment platform, the portal);
    ``actor`` a person or a specialist procedure instead.
    """
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        previous = CaseEvent.objects.filter(case=case, kind=KIND, data__key=key).first()
        if previous is not None:
            if requested and previous.data.get("requested") != requested:
                raise actions.CaseActionError(
                    _("This Idempotency-Key was already used for another message of this case.")
                )
            return Delivery(
                str(previous.data.get("outcome") or NOT_WAITING),
                str(previous.data.get("message") or ""),
                duplicate=True,
                error=str(previous.data.get("error") or ""),
            )
        outcome, delivered, error = NOT_WAITING, "", ""
        step, name = _waiting_step(case, names)
        if step is not None:
            try:
                with transaction.atomic():
                    _complete_step(case, step, data, source=source, actor=actor, event=event)
                outcome, delivered = DELIVERED, name
            except (workflow.EngineError, actions.CaseActionError) as exc:
                outcome, error = FAILED, str(exc)[:300]
                logger.warning("cases: %s could not take %s (%s): %s", case.reference, name, event, exc)
        suffix = {
            DELIVERED: _("The process continued (message “%(message)s”).") % {"message": delivered},
            NOT_WAITING: _("The process was not waiting for it."),
            FAILED: _("The process could not take it (%(error)s); the step stays open for a person.")
            % {"error": error},
        }[outcome]
        actions.record_event(
            case,
            KIND,
            f"{text} {suffix}",
            actor=actor,
            automatic_label=source,
            data={
                "key": key[:300],
                "event": event,
                "outcome": outcome,
                "message": delivered,
                "requested": requested,
                **({"error": error} if error else {}),
            },
        )
    return Delivery(outcome, delivered, error=error)


def _waiting_step(case: Case, names: list[str]) -> tuple[str | None, str]:
    if not names or not case.is_open or not case.workflow_state:
        return None, ""
    instance = ProcessInstance.load(case.workflow_state)
    for name in names:
        step = instance.waiting_for(name)
        if step is not None:
            return step, name
    return None, ""


def _complete_step(case: Case, step: str, data: dict[str, Any], *, source: str, actor: Any, event: str) -> None:
    """Complete the step waiting for the message as a caseworker would, with the message's content as its data."""
    task = case.tasks.filter(kind=Task.Kind.WORKFLOW, status=Task.Status.OPEN, engine_task_id=step).first()
    if task is not None:
        actions.complete_task(
            task,
            actor,
            expected_version=None,
            result=_("Received from the platform: %(event)s.") % {"event": event},
            data=data,
            automatic_label=source,
        )
        return
    # The task list always mirrors the engine's steps; should the row be missing, move the process on anyway.
    result = workflow.complete(case.process_xml, case.workflow_state, step, data, {"case_pk": case.pk})
    actions._apply(case, result, actor=actor)


# --- The platform's events --------------------------------------------------------------------


def _payment_data(payment: Any) -> dict[str, Any]:
    return {
        "payment": {
            "reference": payment.reference,
            "amount_cents": payment.amount_cents,
            "method": payment.method,
            "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
        }
    }


def _payment_text(payment: Any) -> str:
    return _("Payment %(reference)s of %(amount)s received.") % {
        "reference": payment.reference,
        "amount": payment.amount_display,
    }


def cases_of_payment(payment: Any) -> list[Case]:
    """The open cases of the payment's city whose application it belongs to, or whose reference it carries."""
    from django.db.models import Q

    from dikom.portal.actions import application_for_payment

    match = Q(reference=payment.reference)
    application = application_for_payment(payment)
    if application is not None:
        match |= Q(application_id=application.pk)
    return list(
        Case.objects.filter(match, municipality_id=payment.municipality_id, status__in=[Case.Status.OPEN,
                                                                                          Case.Status.WAITING])
    )  # fmt: skip


def on_payment_recorded(sender: Any, payment: Any, old_status: str, new_status: str, **kwargs: Any) -> None:
    """A payment turned paid (inside its transaction): ``dikom:zahlung-eingegangen`` for the cases it belongs to.
    Each paid attempt is one event (its uuid the key), so a repeated notification delivers nothing more."""
    if new_status != "paid":
        return
    for case in cases_of_payment(payment):
        names = case_names_for(case, platform_events.PAYMENT_RECEIVED)
        if names:
            deliver(
                case,
                names,
                key=f"payment:{payment.uuid}",
                event=platform_events.PAYMENT_RECEIVED,
                data=_payment_data(payment),
                text=_payment_text(payment),
                source=_("Payment platform"),
            )


def payment_at_opening(case: Case) -> None:
    """The application was paid in the portal before the case opened: the process learns it as soon as it starts
    (same key as the payment's own event, so it is delivered once)."""
    from dikom.payments import service as payments

    paid = (case.application.submission_data or {}).get("payment") or {}
    names = case_names_for(case, platform_events.PAYMENT_RECEIVED)
    if not names or not paid.get("uuid"):
        return
    payment = payments.get_payment(str(paid["uuid"]))
    if payment is None:
        return
    deliver(
        case,
        names,
        key=f"payment:{payment.uuid}",
        event=platform_events.PAYMENT_RECEIVED,
        data=_payment_data(payment),
        text=_payment_text(payment),
        source=_("Payment platform"),
    )


def citizen_answered(case: Case, request: CaseMessage, answer: CaseMessage, files: int) -> None:
    """The citizen answered ``request`` in the portal: ``dikom:antwort-antragsteller`` (once per request)."""
    names = case_names_for(case, platform_events.CITIZEN_ANSWER)
    if not names:
        return
    deliver(
        case,
        names,
        key=f"answer:{request.uuid}",
        event=platform_events.CITIZEN_ANSWER,
        data={"citizen_answer": {"subject": request.subject, "text": answer.body, "files": files}},
        text=_("The citizen answered “%(subject)s”.") % {"subject": request.subject},
        source=_("Citizen (portal)"),
    )


class UnknownMessage(Exception):
    """The case's process has no message of that name (or only the platform itself may deliver it)."""


def api_message_names(case: Case, message: str) -> list[str]:
    """The BPMN messages of the case's process (and of the processes it calls, ``case_messages``) an outside
    system may deliver as ``message``: the ones declared ``dikom:webhook:<message>`` (also when ``message`` is
    given in that full form) and the ones that name no platform event and are called ``message``. Raises
    ``UnknownMessage`` with a reason to show otherwise."""
    declared = case_messages(case)
    wanted = message if message.startswith(platform_events.WEBHOOK) else platform_events.WEBHOOK + message
    names = [name for name, event in declared if event == wanted]
    names += [name for name, event in declared if not event and name == message and name not in names]
    if names:
        return names
    reserved = next((event for name, event in declared if message in (name, event) and event), "")
    if reserved:
        raise UnknownMessage(
            _("The message “%(message)s” is the platform event “%(event)s”; only the platform delivers it.")
            % {"message": message, "event": reserved}
        )
    raise UnknownMessage(_("The case's process has no message “%(message)s”.") % {"message": message})


def post_message(case: Case, message: str, data: dict[str, Any], *, actor: Any, idempotency_key: str = "") -> Delivery:
    """An outside system posts ``message`` to the case over the case API (see ``api_message_names``).

    With the same ``idempotency_key`` a retry returns the first delivery's outcome and delivers nothing again;
    the key must not be reused for another message of the same case.
    """
    names = api_message_names(case, message)
    key = f"api:{idempotency_key}" if idempotency_key else f"api:{uuid_module.uuid4()}"
    event = message if message.startswith(platform_events.WEBHOOK) else platform_events.WEBHOOK + message
    return deliver(
        case,
        names,
        key=key,
        event=event,
        data=data,
        text=_("Message “%(message)s” received over the case API.") % {"message": message},
        actor=actor,
        requested=message,
    )


# --- Messages the process sends -----------------------------------------------------------------


def send_platform_message(call: ServiceCall, context: Any) -> None:
    """Service task handler of the topics ``message:dikom:…``: the process sends a message to a platform event.

    ``dikom:nachricht-antragsteller`` puts a notice into the citizen's portal mailbox (subject: the step's name;
    text: the case data ``notice_text`` if a step set it, else a short standard text) and e-mails them that it is
    there; ``dikom:webhook:<name>`` emits the webhook event ``process.message`` with ``{"message": name}`` to the
    city's subscribers. Both happen once per engine call (``call.key``), also when a step is replayed.
    """
    from dikom.cases.webhooks import actions as webhooks

    event = call.topic.removeprefix("message:")
    case = Case.objects.get(pk=context["case_pk"])
    if CaseEvent.objects.filter(case=case, kind=SENT_KIND, data__key=call.key).exists():
        return
    if event == platform_events.CITIZEN_NOTICE:
        text = call.data.get("notice_text")
        subject = (call.name or _("News about your application")).strip()[:200]
        body = (
            text.strip()
            if isinstance(text, str) and text.strip()
            else _("There is news about your application %(reference)s: %(step)s.")
            % {"reference": case.reference, "step": subject}
        )
        actions.send_message_to_citizen(case, subject=subject, body=body, automatic_label=_("Process"))
    elif event.startswith(platform_events.WEBHOOK):
        name = event.removeprefix(platform_events.WEBHOOK)
        webhooks.emit(case, "process.message", {"message": name, "step": call.bpmn_id})
    else:  # the import check refuses every other word; a state stored before a vocabulary change passes
        logger.warning("cases: %s sends %s, which is no platform event it can send", case.reference, event)
        return
    actions.record_event(
        case,
        SENT_KIND,
        _("The process sent the message “%(event)s”.") % {"event": event},
        automatic_label=_("Process"),
        data={"key": call.key, "event": event},
    )


def connect() -> None:
    """Wire the platform's events (called by the cases app's ``ready``)."""
    from dikom.payments.signals import payment_status_recorded

    payment_status_recorded.connect(on_payment_recorded, dispatch_uid="cases-platform-messages-payment")
    workflow.SERVICE_TASKS.setdefault("message:dikom:", send_platform_message)
