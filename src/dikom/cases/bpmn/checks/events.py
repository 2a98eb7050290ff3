"""Checks of events: start, end, intermediate and boundary events, timers, messages, signals."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _
from lxml import etree

from .. import timers
from ..clock import current_time
from ..cron import CronError, CronExpression, looks_like_cron
from ..expressions import ExpressionError, validate_expression
from ..xmlsafe import BPMN_NS, DIKOM_NS, is_bpmn, local_name
from .base import InspectorBase
from .foreign import _convert_foreign_expression
from .model import _format


def _unquoted(text: str) -> str:
    """A timer value without the quotes SpiffWorkflow files (and FEEL text literals) put around it."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].strip()
    return text


def _is_expression(text: str) -> bool:
    try:
        validate_expression(text)
    except ExpressionError:
        return False
    return True


class EventChecks(InspectorBase):
    """Events and message tasks."""

    #: the condition check of sequence flows (``flows.FlowChecks``), also used for conditional events
    check_condition: Callable[[etree._Element, etree._Element], None]

    def check_event(
        self,
        node: etree._Element,
        name: str,
        kinds: list[str],
        definitions: list[etree._Element],
        parent_id: str | None,
    ) -> bool:
        if len(kinds) > 1:
            self.unsupported(node, _("events with several triggers are not supported."))
            return False
        kind = kinds[0] if kinds else None
        # Events within the process run on SpiffWorkflow's own handling (error, escalation, signal, terminate);
        # link events become plain flows (gateways.py); messages to and from other participants become platform
        # steps (see map_message_event).
        after_gateway = (node.get("id") or "") in self.gateway_events
        in_event_subprocess = parent_id is not None and parent_id in self.event_subprocesses
        if name == "startEvent" and in_event_subprocess:
            start_kinds: set[str | None] = {"message", "timer", "signal", "error", "escalation", "conditional"}
            if kind == "error" or (
                kind in {"escalation", "timer", "signal", "conditional"}
                and node.get("isInterrupting", "true") != "false"
            ):
                # Thrown within the (sub)process and not caught by a boundary event on the way (error, escalation),
                # due (timer), thrown anywhere in the case (signal) or come to hold (condition), it starts the event
                # subprocess, which ends everything else its process does (an error always does).
                self.set_engine_attr(node, f"{{{DIKOM_NS}}}interrupting", "true")
        else:
            start_kinds = {None, "timer", "message", "conditional"} if parent_id is None else {None}
        allowed: dict[str, set[str | None]] = {
            "startEvent": start_kinds,
            "endEvent": {None, "terminate", "error", "escalation", "signal", "message"},
            "intermediateCatchEvent": {"timer", "message", "signal", "link", "conditional"},
            "intermediateThrowEvent": {None, "signal", "escalation", "message", "link"},
            "boundaryEvent": {"timer", "error", "escalation", "signal", "message", "conditional"},
        }
        if kind not in allowed[name]:
            reason = (
                _format(_("%(kind)s events are not supported."), {"kind": kind.capitalize()})
                if kind
                else _("this event needs a timer.")
            )
            self.unsupported(node, reason)
            return False
        if name == "boundaryEvent":
            attached = self.ids.get(node.get("attachedToRef") or "")
            if attached is None:
                self.error(
                    "missing-target",
                    _format(
                        _("Boundary event %(event)s is not attached to an existing task."), {"event": self.label(node)}
                    ),
                    node,
                )
                return False
            if is_bpmn(attached, "task") and kind in {"message", "timer", "signal"}:
                self.note(
                    "boundary-on-plain-task",
                    _format(
                        _(
                            "Boundary event %(event)s never occurs: the plain task it is attached to passes "
                            "through at once. Make the task a user task if someone works on it."
                        ),
                        {"event": self.label(node)},
                    ),
                    node,
                )
        if (
            kind == "signal"
            and name == "intermediateCatchEvent"
            and not after_gateway
            and not self.signal_thrown(definitions[0])
        ):
            # Nothing outside the process sends signals to a case: a wait for one nobody throws never ends.
            self.unsupported(node, _("no event of this process throws its signal, so the case would wait forever."))
            return False
        if kind == "message" and (
            name == "boundaryEvent" or (in_event_subprocess and name == "startEvent") or after_gateway
        ):
            # The message arrives from outside while the activity (or the process) runs: the case offers a
            # step "message received" that a person or the platform (a citizen's reply, a payment, a webhook)
            # completes; SpiffWorkflow then interrupts the activity or starts the event subprocess.
            self.note(
                "message-wait",
                _format(
                    _(
                        "Message event %(event)s: while it waits, the case offers the step “%(step)s”, completed "
                        "when the message arrives (by a person or the platform)."
                    ),
                    {"event": self.label(node), "step": self.message_step_name(node)},
                ),
                node,
            )
            self.set_engine_attr(node, f"{{{DIKOM_NS}}}messageStep", str(self.message_step_name(node)))
            if in_event_subprocess and node.get("isInterrupting", "true") != "false":
                self.set_engine_attr(node, f"{{{DIKOM_NS}}}interrupting", "true")
        elif kind == "message" and name != "startEvent":
            self.map_message_event(node, name)
        elif kind == "message":
            # The message that starts the city's process is the application (or request) that opens the case.
            self.note(
                "message-start",
                _format(
                    _("Message start event %(event)s: the case starts when the application is received."),
                    {"event": self.label(node)},
                ),
                node,
            )
            twin = self.engine_twin(node)
            if twin is not None:
                for child in [c for c in twin if is_bpmn(c, "messageEventDefinition")]:
                    twin.remove(child)
        if kind == "timer":
            return self.check_timer(node, definitions[0])
        if kind == "conditional" and name == "startEvent" and parent_id is None:
            # The city's process starts when the application is received: the case opens then and waits until the
            # condition holds on its data (like an intermediate conditional event right after the start).
            self.note(
                "conditional-start",
                _format(
                    _(
                        "Conditional start event %(event)s: the case starts when the application is received and "
                        "waits until the condition holds on its data."
                    ),
                    {"event": self.label(node)},
                ),
                node,
            )
        if kind == "conditional":
            return self.check_conditional(node, definitions[0])
        return True

    def check_conditional(self, node: etree._Element, definition: etree._Element) -> bool:
        """A conditional event waits until its condition holds: checked when the event is reached and again
        whenever the case's data changes (``engine.instance``). The condition is written like a sequence flow's
        (safe expression, FEEL, JUEL or XPath, translated the same way)."""
        conditions = [c for c in definition if is_bpmn(c, "condition")]
        if not conditions or not (conditions[0].text or "").strip():
            self.error(
                "bad-condition",
                _format(
                    _("Conditional event %(event)s has no condition, so dikom cannot know when it occurs."),
                    {"event": self.label(node)},
                ),
                node,
            )
            return False
        before = len(self.report.errors)
        self.check_condition(node, conditions[0])
        if len(self.report.errors) > before:
            return False
        self.note(
            "conditional-event",
            _format(
                _(
                    "Conditional event %(event)s occurs when its condition holds: checked when it is reached and "
                    "again whenever the case's data changes."
                ),
                {"event": self.label(node)},
            ),
            node,
        )
        return True

    def check_timer(self, node: etree._Element, definition: etree._Element) -> bool:
        values = [c for c in definition if is_bpmn(c) and local_name(c) in {timers.DATE, timers.DURATION, timers.CYCLE}]
        if not values or not any((v.text or "").strip() for v in values):
            # A drawn timer without a value (descriptive models): dikom cannot know when it fires, and guessing
            # from its name would run the case on a made-up deadline.
            self.error(
                "bad-timer",
                _format(
                    _(
                        "Timer %(event)s has no value, so dikom cannot know when it fires. Give it a time date, a "
                        "time duration (e.g. P14D) or a time cycle."
                    ),
                    {"event": self.label(node)},
                ),
                node,
            )
            return False
        if len(values) != 1:
            self.error(
                "bad-timer",
                _format(
                    _("Timer %(event)s needs exactly one of time date, time duration or time cycle."),
                    {"event": self.label(node)},
                ),
                node,
            )
            return False
        value = values[0]
        kind = local_name(value)
        text = (value.text or "").strip()
        converted, dialect = _convert_foreign_expression(text)
        if kind == timers.CYCLE and looks_like_cron(_unquoted(converted)) and not _is_expression(converted):
            return self.check_cron(node, value, text, _unquoted(converted), dialect)
        if timers.literal_value(kind, converted) is not None:
            if dialect:
                self.engine_index_text(value, converted)
            return True
        try:
            validate_expression(converted)
        except ExpressionError:
            self.error(
                "bad-timer",
                _format(
                    _("Timer %(event)s: “%(value)s” is not an ISO 8601 %(kind)s."),
                    {
                        "event": self.label(node),
                        "value": text,
                        "kind": {
                            timers.DATE: _("date"),
                            timers.DURATION: _("duration"),
                            timers.CYCLE: _("repeating interval"),
                        }[kind],
                    },
                ),
                node,
                at=value,
            )
            return False
        self.note(
            "timer-expression",
            _format(
                _("Timer %(event)s is computed from case data (“%(value)s”) when it starts."),
                {"event": self.label(node), "value": text},
            ),
            node,
            at=value,
        )
        if dialect:
            self.engine_index_text(value, converted)
        return True

    def check_cron(
        self, node: etree._Element, value: etree._Element, text: str, expression: str, dialect: str | None
    ) -> bool:
        """A cron expression as a time cycle (Camunda 7, Camunda 8): refused with the reason unless dikom can run it
        and it still occurs."""
        try:
            parsed = CronExpression.parse(expression)
            if parsed.next_after(current_time()) is None:
                raise CronError(str(_("it does not occur any more.")))
        except CronError as exc:
            self.error(
                "bad-timer",
                _format(
                    _("Timer %(event)s: “%(value)s” is no cron expression dikom can run: %(reason)s"),
                    {"event": self.label(node), "value": text, "reason": exc.reason},
                ),
                node,
                at=value,
            )
            return False
        self.note(
            "timer-cron",
            _format(
                _(
                    "Timer %(event)s follows the cron expression “%(value)s” (Europe/Berlin time); it fires at the "
                    "next occurrence, a non-interrupting boundary timer at every occurrence."
                ),
                {"event": self.label(node), "value": expression},
            ),
            node,
            at=value,
        )
        if dialect or expression != text:
            self.engine_index_text(value, expression)
        return True

    def signal_thrown(self, definition: etree._Element) -> bool:
        ref = definition.get("signalRef")
        for throw in self.root.iter(f"{{{BPMN_NS}}}intermediateThrowEvent", f"{{{BPMN_NS}}}endEvent"):
            for other in throw:
                if is_bpmn(other, "signalEventDefinition") and other.get("signalRef") == ref:
                    return True
        return False

    def message_name(self, node: etree._Element) -> str:
        definition = next((c for c in node if is_bpmn(c, "messageEventDefinition")), None)
        ref = definition.get("messageRef") if definition is not None else node.get("messageRef")
        message = self.ids.get(ref or "")
        label = (message.get("name") if message is not None else None) or node.get("name") or node.get("id") or ""
        return " ".join(label.split())

    def message_step_name(self, node: etree._Element) -> str:
        return str(_format(_("Message received: %(message)s"), {"message": self.message_name(node)}))

    def await_gateway_message(self, node: etree._Element) -> None:
        """A receive task after an event-based gateway: like a message event there, the step "message received"
        (the engine copy makes it a boundary event of the gateway's wait, see ``gateways``)."""
        self.note(
            "message-wait",
            _format(
                _(
                    "Message event %(event)s: while it waits, the case offers the step “%(step)s”, completed "
                    "when the message arrives (by a person or the platform)."
                ),
                {"event": self.label(node), "step": self.message_step_name(node)},
            ),
            node,
        )
        self.set_engine_attr(node, f"{{{DIKOM_NS}}}messageStep", str(self.message_step_name(node)))

    def map_message_event(self, node: etree._Element, name: str) -> None:
        """A message event to or from another participant: a throw (intermediate or end) hands the message to the
        automation like a send task; a catch waits for a person to record it like a receive task."""
        twin = self.engine_twin(node)
        definition = next((c for c in node if is_bpmn(c, "messageEventDefinition")), None)
        message = self.ids.get(definition.get("messageRef") or "") if definition is not None else None
        label = (message.get("name") if message is not None else None) or node.get("name") or node.get("id") or ""
        catch = name == "intermediateCatchEvent"
        if catch:
            self.note(
                "receive-task",
                _format(
                    _("Receive task %(task)s waits until a person records that the message has arrived."),
                    {"task": self.label(node)},
                ),
                node,
            )
        else:
            topic = "message:" + " ".join(label.split())
            self.note(
                "send-task",
                _format(
                    _("Send task %(task)s hands its message to the automation (topic “%(topic)s”)."),
                    {"task": self.label(node), "topic": topic},
                ),
                node,
            )
        if twin is None:
            return
        for child in [c for c in twin if is_bpmn(c, "messageEventDefinition")]:
            twin.remove(child)
        if catch:
            twin.tag = f"{{{BPMN_NS}}}userTask"
            return
        twin.tag = f"{{{BPMN_NS}}}serviceTask"
        twin.set(f"{{{DIKOM_NS}}}topic", "message:" + " ".join(label.split()))
        container = twin.getparent()
        if name == "endEvent" and container is not None:
            # The process still has to end: the service task hands over, then a plain end event follows.
            ident = twin.get("id") or ""
            end_id, flow_id = f"{ident}__dikom_end", f"{ident}__dikom_to_end"
            etree.SubElement(twin, f"{{{BPMN_NS}}}outgoing").text = flow_id
            end = etree.SubElement(container, f"{{{BPMN_NS}}}endEvent", id=end_id)
            etree.SubElement(end, f"{{{BPMN_NS}}}incoming").text = flow_id
            etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=ident, targetRef=end_id)

    def map_message_task(self, node: etree._Element, name: str) -> None:
        """Messages to and from other participants are platform events: a send task hands the message to the
        city's automation (a service task whose topic is ``message:<message name>``, e.g. an e-mail or a
        webhook handler; without a handler it passes through), a receive task waits until a person records the
        answer (a user task: the citizen's reply to an information request, a payment, a letter)."""
        twin = self.engine_twin(node)
        message = self.ids.get(node.get("messageRef") or "")
        label = (message.get("name") if message is not None else None) or node.get("name") or node.get("id") or ""
        topic = "message:" + " ".join(label.split())
        if name == "sendTask":
            self.note(
                "send-task",
                _format(
                    _("Send task %(task)s hands its message to the automation (topic “%(topic)s”)."),
                    {"task": self.label(node), "topic": topic},
                ),
                node,
            )
        else:
            self.note(
                "receive-task",
                _format(
                    _("Receive task %(task)s waits until a person records that the message has arrived."),
                    {"task": self.label(node)},
                ),
                node,
            )
        if twin is None:
            return
        for attr in ("messageRef", "implementation", "instantiate", "operationRef"):
            twin.attrib.pop(attr, None)
        if name == "sendTask":
            twin.tag = f"{{{BPMN_NS}}}serviceTask"
            if not twin.get(f"{{{DIKOM_NS}}}topic"):
                twin.set(f"{{{DIKOM_NS}}}topic", topic)
        else:
            twin.tag = f"{{{BPMN_NS}}}userTask"
