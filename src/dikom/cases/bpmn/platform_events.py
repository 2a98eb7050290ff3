"""Which platform event a BPMN message is: the vocabulary, and its import check.

A message to or from another participant (a citizen, a payment platform, an
outside system) names the platform event it stands for in one of two ways:

- its name is a word of the vocabulary: ``<bpmn:message id="m" name="dikom:zahlung-eingegangen"/>``;
- or it carries dikom's attribute: ``<bpmn:message id="m" name="Gebühr bezahlt" dikom:event="zahlung-eingegangen"/>``
  (``xmlns:dikom="urn:dikom:bpmn:1"``; the ``dikom:`` prefix of the value may be left out).

Messages without either stay what they were: a step a person (or the case API)
completes. ``check`` refuses a word outside the vocabulary and a word used the
wrong way round (a payment cannot be sent); it marks the engine copy so that the
platform finds what waits (``dikom:awaits`` on the user task a receive task or an
intermediate catch event becomes, ``dikom:platformEvent`` on every waiting step) and what is sent (the topic
``message:<platform event>`` of the send step). ``dikom.cases.platform_messages``
delivers and sends them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from lxml import etree

from .xmlsafe import BPMN_NS, DIKOM_NS, is_bpmn, local_name

if TYPE_CHECKING:
    from .checks.base import InspectorBase

PREFIX = "dikom:"
#: The payment of the case (its application's payment, or a payment whose reference is the case's) is paid.
PAYMENT_RECEIVED = "dikom:zahlung-eingegangen"
#: The citizen answered an information request of the city in the portal.
CITIZEN_ANSWER = "dikom:antwort-antragsteller"
#: A message to the citizen: a notice in the portal mailbox (and an e-mail that it is there).
CITIZEN_NOTICE = "dikom:nachricht-antragsteller"
#: ``dikom:webhook:<name>``: from an outside system over the case API, or to the city's webhook subscribers.
WEBHOOK = "dikom:webhook:"
#: An e-mail arrived at the case's reply address (``antwort+<token>@DIKOM_INBOUND_MAIL_DOMAIN``; ``dikom.cases.mail``).
MAIL_RECEIVED = "dikom:e-mail-eingegangen"
WEBHOOK_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

#: platform event → (may be caught, may be sent)
VOCABULARY: dict[str, tuple[bool, bool]] = {
    PAYMENT_RECEIVED: (True, False),
    CITIZEN_ANSWER: (True, False),
    CITIZEN_NOTICE: (False, True),
    MAIL_RECEIVED: (True, False),
}

CATCHING = {"intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask"}
THROWING = {"intermediateThrowEvent", "endEvent", "sendTask"}


@dataclass(frozen=True)
class Declared:
    """What a ``bpmn:message`` says about itself: its platform event ("" when none) or why it is refused."""

    event: str = ""
    problem: str = ""


def declared(message: etree._Element) -> Declared:
    attribute = (message.get(f"{{{DIKOM_NS}}}event") or "").strip()
    name = " ".join((message.get("name") or "").split())
    if attribute:
        word = attribute if attribute.startswith(PREFIX) else PREFIX + attribute
    elif name.startswith(PREFIX):
        word = name
    else:
        return Declared()
    if word in VOCABULARY:
        return Declared(event=word)
    if word.startswith(WEBHOOK):
        if WEBHOOK_NAME.fullmatch(word.removeprefix(WEBHOOK)):
            return Declared(event=word)
        return Declared(problem="webhook-name")
    return Declared(problem="unknown")


def engine_name(message: etree._Element) -> str:
    """The name the engine knows the message by (SpiffWorkflow uses the message's ``name``)."""
    return message.get("name") or declared(message).event or message.get("id") or ""


def may(event: str, *, catch: bool) -> bool:
    if event.startswith(WEBHOOK):
        return True
    caught, sent = VOCABULARY.get(event, (False, False))
    return caught if catch else sent


def _vocabulary_text() -> str:
    return ", ".join([*VOCABULARY, WEBHOOK + "<name>"])


def check(inspector: InspectorBase, process: etree._Element) -> None:
    """Refuse unknown platform events and ones used the wrong way round; mark the engine copy."""
    from .checks.model import _format

    events: dict[str, str] = {}
    for message in inspector.root.iter(f"{{{BPMN_NS}}}message"):
        found = declared(message)
        label = inspector.label(message)
        if found.problem == "unknown":
            inspector.error(
                "unknown-platform-event",
                _format(
                    _(
                        "Message %(message)s names the platform event “%(event)s”, which dikom does not know. "
                        "Known platform events: %(known)s."
                    ),
                    {
                        "message": label,
                        "event": message.get(f"{{{DIKOM_NS}}}event") or message.get("name"),
                        "known": _vocabulary_text(),
                    },
                ),
                message,
            )
        elif found.problem == "webhook-name":
            inspector.error(
                "unknown-platform-event",
                _format(
                    _(
                        "Message %(message)s: the name after “dikom:webhook:” may only contain lower-case letters, "
                        "digits, dots, hyphens and underscores (at most 64 characters)."
                    ),
                    {"message": label},
                ),
                message,
            )
        elif found.event:
            events[message.get("id") or ""] = found.event
            twin = inspector.engine_twin(message)
            if twin is not None and not twin.get("name"):
                twin.set("name", found.event)  # the engine knows a message by its name
    if not events:
        return
    for node in process.iter():
        if not isinstance(node.tag, str) or not is_bpmn(node):
            continue
        kind = local_name(node)
        if kind in {"receiveTask", "sendTask"}:
            ref = node.get("messageRef") or ""
        elif kind in CATCHING | THROWING:
            definition = next((c for c in node if is_bpmn(c, "messageEventDefinition")), None)
            ref = definition.get("messageRef") or "" if definition is not None else ""
        else:
            continue
        event = events.get(ref)
        if not event:
            continue
        catch = kind in CATCHING
        top_start = kind == "startEvent" and node.getparent() is process
        if top_start or not may(event, catch=catch):
            reason = (
                _("a case starts with the application, not with “%(event)s”.")
                if top_start
                else _("“%(event)s” is a message the platform receives; it cannot be sent.")
                if not catch
                else _("“%(event)s” is a message the platform sends; no case can wait for it.")
            )
            inspector.unsupported(node, _format(reason, {"event": event}))
            continue
        inspector.note(
            "platform-message",
            _format(
                _("%(element)s is the platform event “%(event)s” (see the documentation of BPMN messages)."),
                {"element": inspector.label(node), "event": event},
            ),
            node,
        )
        twin = inspector.engine_twin(node)
        if twin is None:
            continue
        if catch:
            # What the step waits for, kept in the stored process: the platform finds it also in a process
            # called from the library, whose file is not the case's.
            twin.set(f"{{{DIKOM_NS}}}platformEvent", event)
        message = inspector.ids.get(ref)
        if catch and local_name(twin) == "userTask":
            # A receive task or intermediate catch event is a user task in the engine copy: say what it awaits.
            twin.set(f"{{{DIKOM_NS}}}awaits", engine_name(message) if message is not None else event)
        elif not catch and (twin.get(f"{{{DIKOM_NS}}}topic") or "").startswith("message:"):
            twin.set(f"{{{DIKOM_NS}}}topic", "message:" + event)
