"""Event-based and inclusive gateways, link events: their checks and how the engine copy runs them.

An **event-based gateway** waits for the first of the events after it. The engine copy turns the gateway into
a wait step that no person completes (``dikom:eventGateway``) and the events after it into interrupting boundary
events of that step: a message becomes the step "Message received: …" (completed by a person or delivered by
the platform), a timer runs like every timer, a signal is caught when the process throws it. The first event
ends the wait and the others with it; its path goes on. The events keep their ids, so the diagram shows them.

An **inclusive gateway** takes every outgoing flow whose condition holds, the default flow when none does; a
flow without a condition is always taken. As a join it waits for every path that can still reach it
(SpiffWorkflow's own handling).

A **link event** pair is a sequence flow drawn in two pieces: the engine copy connects each throwing link event
to the catching one of the same name on the same process level.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from lxml import etree

from ..xmlsafe import BPMN_NS, DIKOM_NS, is_bpmn, local_name
from .base import InspectorBase
from .foreign import _has_condition
from .model import EVENT_DEFINITIONS, _format

#: What may follow an event-based gateway (BPMN 2.0, 10.6.6), as dikom runs it.
GATEWAY_EVENT_KINDS = {"message", "timer", "signal", "conditional"}


def _kinds(node: etree._Element) -> list[str]:
    return [EVENT_DEFINITIONS[local_name(c)] for c in node if is_bpmn(c) and local_name(c) in EVENT_DEFINITIONS]


def _link_name(node: etree._Element) -> str:
    definition = next((c for c in node if is_bpmn(c, "linkEventDefinition")), None)
    name = (definition.get("name") if definition is not None else None) or node.get("name") or ""
    return " ".join(name.split())


class GatewayChecks(InspectorBase):
    """Event-based gateways, inclusive gateways and link events."""

    def scan_container(
        self,
        nodes: dict[str | None, etree._Element],
        outgoing: dict[str, list[etree._Element]],
    ) -> None:
        """Before the elements of one process level are checked: which events follow an event-based gateway,
        which link events belong together."""
        for ident, node in nodes.items():
            if not is_bpmn(node, "eventBasedGateway"):
                continue
            for flow in outgoing.get(ident or "", []):
                target = nodes.get(flow.get("targetRef"))
                if target is not None and target.get("id"):
                    self.gateway_events.setdefault(target.get("id") or "", node)
        throws: dict[str, list[etree._Element]] = {}
        catches: dict[str, list[etree._Element]] = {}
        for node in nodes.values():
            if _kinds(node) != ["link"]:
                continue
            if is_bpmn(node, "intermediateThrowEvent"):
                throws.setdefault(_link_name(node), []).append(node)
            elif is_bpmn(node, "intermediateCatchEvent"):
                catches.setdefault(_link_name(node), []).append(node)
        for name, found in catches.items():
            if len(found) > 1:
                for node in found[1:]:
                    self.error(
                        "link-ambiguous",
                        _format(
                            _("Link event %(event)s has the same name “%(link)s” as another catching link event."),
                            {"event": self.label(node), "link": name},
                        ),
                        node,
                    )
            elif name not in throws:
                self.note(
                    "link-never-thrown",
                    _format(
                        _("No link event throws to %(event)s (“%(link)s”): the path after it is never taken."),
                        {"event": self.label(found[0]), "link": name},
                    ),
                    found[0],
                )
        for name, found in throws.items():
            for node in found:
                if name not in catches:
                    self.error(
                        "link-unmatched",
                        _format(
                            _(
                                "Link event %(event)s throws to “%(link)s”, but no catching link event of the same "
                                "process level has that name."
                            ),
                            {"event": self.label(node), "link": name},
                        ),
                        node,
                    )
                else:
                    self.link_pairs.append((node, catches[name][0]))

    # -- event-based gateways -------------------------------------------------
    def check_event_gateway(
        self,
        node: etree._Element,
        outgoing: list[etree._Element],
        siblings: dict[str | None, etree._Element],
    ) -> bool:
        ok = True
        if node.get("instantiate") == "true":
            self.unsupported(
                node, _("an event-based gateway that starts the process is not supported; use a start event.")
            )
            return False
        if not outgoing:
            self.error(
                "event-gateway-target",
                _format(
                    _("Event-based gateway %(gateway)s has no outgoing flow."),
                    {"gateway": self.label(node)},
                ),
                node,
            )
            return False
        events: list[etree._Element] = []
        for flow in outgoing:
            target = siblings.get(flow.get("targetRef"))
            if target is None:
                continue  # reported with the flow
            kinds = _kinds(target)
            fitting = (
                is_bpmn(target, "intermediateCatchEvent") and len(kinds) == 1 and kinds[0] in GATEWAY_EVENT_KINDS
            ) or (
                is_bpmn(target, "receiveTask")
                and not any(is_bpmn(c, "multiInstanceLoopCharacteristics") for c in target)
                and not any(
                    b.get("attachedToRef") == target.get("id") for b in self.root.iter(f"{{{BPMN_NS}}}boundaryEvent")
                )
            )
            if not fitting:
                self.error(
                    "event-gateway-target",
                    _format(
                        _(
                            "After event-based gateway %(gateway)s comes %(target)s; only intermediate message, timer, "
                            "signal or conditional events and receive tasks (without boundary events or loops) may "
                            "follow it."
                        ),
                        {"gateway": self.label(node), "target": self.label(target)},
                    ),
                    node,
                    at=flow,
                )
                ok = False
                continue
            if _has_condition(flow):
                self.note(
                    "condition-ignored",
                    _format(
                        _("The condition on %(flow)s is ignored: after an event-based gateway the first event wins."),
                        {"flow": self.label(flow)},
                    ),
                    flow,
                )
                self.drop_conditions(flow)
            others = [
                f
                for f in self.root.iter(f"{{{BPMN_NS}}}sequenceFlow")
                if f.get("targetRef") == target.get("id") and f.get("sourceRef") != node.get("id")
            ]
            if others:
                self.error(
                    "event-gateway-target",
                    _format(
                        _("%(target)s follows event-based gateway %(gateway)s and may not be reached otherwise."),
                        {"gateway": self.label(node), "target": self.label(target)},
                    ),
                    target,
                )
                ok = False
                continue
            events.append(target)
        if ok and events and all(self.never_occurs(event) for event in events):
            self.error(
                "event-gateway-target",
                _format(
                    _(
                        "None of the events after event-based gateway %(gateway)s can occur: no event of this "
                        "process throws their signals, so the case would wait forever."
                    ),
                    {"gateway": self.label(node)},
                ),
                node,
            )
            ok = False
        if ok:
            self.event_gateways.append((node, events))
            self.note(
                "event-gateway",
                _format(
                    _(
                        "Event-based gateway %(gateway)s waits for the first of: %(events)s. Messages are offered "
                        "as steps “Message received: …”; the first event to occur decides the path."
                    ),
                    {"gateway": self.label(node), "events": ", ".join(self.label(e) for e in events)},
                ),
                node,
            )
        return ok

    def never_occurs(self, event: etree._Element) -> bool:
        definition = next((c for c in event if is_bpmn(c, "signalEventDefinition")), None)
        return definition is not None and not self.signal_thrown(definition)

    def make_event_gateway(self, node: etree._Element, events: list[etree._Element]) -> None:
        """In the engine copy: the gateway becomes a wait step, the events after it its interrupting boundary
        events (keeping their ids and outgoing flows)."""
        twin = self.engine_twin(node)
        container = twin.getparent() if twin is not None else None
        if twin is None or container is None:
            return
        ident = twin.get("id") or ""
        for child in list(twin):
            if is_bpmn(child, "outgoing"):
                twin.remove(child)
        twin.tag = f"{{{BPMN_NS}}}userTask"
        for attr in ("gatewayDirection", "instantiate", "eventGatewayType", "default"):
            twin.attrib.pop(attr, None)
        twin.set(f"{{{DIKOM_NS}}}eventGateway", "true")
        for event in events:
            event_twin = self.engine_twin(event)
            if event_twin is None:
                continue
            for flow in [f for f in container if is_bpmn(f, "sequenceFlow") and f.get("targetRef") == event.get("id")]:
                container.remove(flow)
            for child in [c for c in event_twin if is_bpmn(c, "incoming")]:
                event_twin.remove(child)
            if is_bpmn(event_twin, "receiveTask"):
                definition = etree.Element(f"{{{BPMN_NS}}}messageEventDefinition")
                if event_twin.get("messageRef"):
                    definition.set("messageRef", event_twin.get("messageRef") or "")
                for attr in ("messageRef", "implementation", "instantiate", "operationRef"):
                    event_twin.attrib.pop(attr, None)
                for child in [
                    c for c in event_twin if not is_bpmn(c, "outgoing", "documentation", "extensionElements")
                ]:
                    event_twin.remove(child)
                event_twin.append(definition)
            event_twin.tag = f"{{{BPMN_NS}}}boundaryEvent"
            event_twin.attrib.pop("parallelMultiple", None)
            event_twin.set("attachedToRef", ident)
            event_twin.set("cancelActivity", "true")

    # -- inclusive gateways -----------------------------------------------------
    def check_inclusive_gateway(self, node: etree._Element, outgoing: list[etree._Element]) -> None:
        default = node.get("default")
        unconditional = [f for f in outgoing if f.get("id") != default and not _has_condition(f)]
        if len(outgoing) > 1 and unconditional:
            self.note(
                "inclusive-unconditional",
                _format(
                    _(
                        "Inclusive gateway %(gateway)s: the flows without a condition (%(paths)s) are always taken, "
                        "together with every flow whose condition holds."
                    ),
                    {"gateway": self.label(node), "paths": ", ".join(self.flow_label(f) for f in unconditional)},
                ),
                node,
            )
            self.unconditional_flows.extend(unconditional)

    def make_always_taken(self, flow: etree._Element) -> None:
        twin = self.engine_twin(flow)
        if twin is None:
            return
        for condition in [c for c in twin if is_bpmn(c, "conditionExpression")]:
            twin.remove(condition)
        etree.SubElement(twin, f"{{{BPMN_NS}}}conditionExpression").text = "True"

    # -- link events --------------------------------------------------------------
    def make_link(self, throw: etree._Element, catch: etree._Element) -> None:
        """In the engine copy: a plain sequence flow from the throwing to the catching link event, both plain
        intermediate events."""
        throw_twin, catch_twin = self.engine_twin(throw), self.engine_twin(catch)
        container = throw_twin.getparent() if throw_twin is not None else None
        if throw_twin is None or catch_twin is None or container is None:
            return
        for twin in (throw_twin, catch_twin):
            for child in [c for c in twin if is_bpmn(c, "linkEventDefinition")]:
                twin.remove(child)
            twin.tag = f"{{{BPMN_NS}}}intermediateThrowEvent"
        source, target = throw_twin.get("id") or "", catch_twin.get("id") or ""
        flow_id = f"{source}__dikom_link"
        etree.SubElement(throw_twin, f"{{{BPMN_NS}}}outgoing").text = flow_id
        etree.SubElement(catch_twin, f"{{{BPMN_NS}}}incoming").text = flow_id
        etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=source, targetRef=target)
