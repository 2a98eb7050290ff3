"""Choosing the process to run, its lanes, and the walk over its elements."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from lxml import etree

from ..xmlsafe import BPMN_NS, DIKOM_NS, is_bpmn, local_name, namespace
from .activities import ActivityChecks
from .events import EventChecks
from .flows import FlowChecks
from .foreign import _has_condition
from .model import (
    ACTIVITIES,
    ARTIFACTS,
    DATA_ELEMENTS,
    EVENT_DEFINITIONS,
    EVENTS,
    FLOW_NODES,
    GATEWAYS,
    STRUCTURAL,
    TOPIC_ATTRIBUTES,
    UNSUPPORTED_CONTAINERS,
    UNSUPPORTED_GATEWAYS,
    LaneInfo,
    _cosmetic,
    _format,
    _tag,
    _vendor,
)


class StructureChecks(EventChecks, ActivityChecks, FlowChecks):
    """Walks the chosen process and hands every element to the check for its kind."""

    # -- choosing the process -----------------------------------------------
    def choose_process(self, process_id: str | None = None) -> etree._Element | None:
        processes = [p for p in self.root if is_bpmn(p, "process")]
        if process_id is not None:
            # A process of the library called by another one: that process, whatever else the file holds.
            forced = next((p for p in processes if p.get("id") == process_id), None)
            if forced is None:
                self.error(
                    "no-process",
                    _format(_("The file contains no process “%(process)s”."), {"process": process_id}),
                )
            return forced
        called = {
            ca.get("calledElement")
            for p in processes
            for ca in p.iter(f"{{{BPMN_NS}}}callActivity")
            if ca.get("calledElement")
        }
        participants = [p for c in self.root if is_bpmn(c, "collaboration") for p in c if is_bpmn(p, "participant")]
        for participant in participants:
            if not participant.get("processRef"):
                self.note(
                    "participant-without-process",
                    _format(
                        _("Pool %(pool)s has no process; it is shown in the diagram only."),
                        {"pool": self.label(participant)},
                    ),
                    participant,
                )
        for collaboration in (c for c in self.root if is_bpmn(c, "collaboration")):
            for flow in collaboration.iter(f"{{{BPMN_NS}}}messageFlow"):
                self.note(
                    "message-flow-ignored",
                    _format(
                        _(
                            "Message flow %(flow)s is shown in the diagram; the messages of the process are steps "
                            "or platform events (see the documentation)."
                        ),
                        {"flow": self.label(flow)},
                    ),
                    flow,
                )
        candidates = [
            p
            for p in processes
            if p.get("id") not in called and any(is_bpmn(child) and local_name(child) in FLOW_NODES for child in p)
        ]
        if not candidates:
            self.error("no-process", _("The file contains no process with tasks or events."))
            return None
        if len(candidates) > 1:
            executable = [p for p in candidates if p.get("isExecutable", "true") == "true"]
            if len(executable) == 1:
                chosen = executable[0]
            else:
                # A collaboration of several pools, none (or several) marked executable, as modelling tools
                # export them: the city's pool is the one with the most steps; the first pool of the
                # collaboration wins a tie. Marking one process executable chooses it instead.
                order = {p.get("processRef"): i for i, p in enumerate(participants)}
                chosen = max(
                    candidates,
                    key=lambda p: (
                        sum(1 for child in p.iter() if is_bpmn(child) and local_name(child) in FLOW_NODES),
                        -order.get(p.get("id"), len(order)),
                    ),
                )
                self.note(
                    "pool-chosen",
                    _format(
                        _(
                            "The file contains several pools with processes; dikom runs %(process)s (the one with "
                            "the most steps). Mark exactly one process as executable to choose another."
                        ),
                        {"process": self.label(chosen)},
                    ),
                    chosen,
                )
            for process in candidates:
                if process is not chosen:
                    self.note(
                        "process-ignored",
                        _format(
                            _("Process %(process)s (another pool) is not run and is shown in the diagram only."),
                            {"process": self.label(process)},
                        ),
                        process,
                    )
        else:
            chosen = candidates[0]
        if chosen.get("isExecutable") == "false":
            self.note(
                "not-executable",
                _(
                    "The process is marked as not executable, as modelling tools often do; "
                    "dikom runs it after these checks."
                ),
                chosen,
            )
        return chosen

    # -- walking the process ------------------------------------------------
    def collect_lanes(self, process: etree._Element) -> None:
        def innermost(lane: etree._Element) -> None:
            refs = tuple(ref.text.strip() for ref in lane if is_bpmn(ref, "flowNodeRef") and ref.text)
            children = [
                sub for child in lane if is_bpmn(child, "childLaneSet") for sub in child if is_bpmn(sub, "lane")
            ]
            self.report.lanes.append(
                LaneInfo(
                    id=lane.get("id") or "",
                    name=(lane.get("name") or "").strip(),
                    line=lane.sourceline,
                    element_ids=refs,
                )
            )
            if not (lane.get("name") or "").strip():
                self.note("lane-without-name", _("A lane has no name; give it one so it can be mapped."), lane)
            for ref in refs:
                self.lane_of[ref] = lane.get("id") or ""
            for sub in children:
                innermost(sub)  # nested lanes override their parent lane

        for lane_set in (c for c in process if is_bpmn(c, "laneSet")):
            for lane in (c for c in lane_set if is_bpmn(c, "lane")):
                innermost(lane)

    def walk(self, container: etree._Element, parent_id: str | None, inherited_lane: str | None) -> None:
        flows = [c for c in container if is_bpmn(c, "sequenceFlow")]
        nodes = {c.get("id"): c for c in container if is_bpmn(c) and local_name(c) in FLOW_NODES}
        outgoing: dict[str, list[etree._Element]] = {}
        for flow in flows:
            outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
        self.scan_container(nodes, outgoing)

        if parent_id is not None and not nodes and is_bpmn(container, "subProcess"):
            # A collapsed subprocess whose content the tool did not export: it passes through like a plain task.
            self.note(
                "collapsed-subprocess",
                _format(
                    _("Subprocess %(subprocess)s has no content in the file; it passes through like a plain task."),
                    {"subprocess": self.label(container)},
                ),
                container,
            )
            twin = self.engine_twin(container)
            if twin is not None:
                twin.tag = f"{{{BPMN_NS}}}task"
                for child in [c for c in twin if not is_bpmn(c, "incoming", "outgoing")]:
                    twin.remove(child)
            return
        starts = [n for n in nodes.values() if local_name(n) == "startEvent"]
        if not starts:
            if parent_id is None:
                self.error("no-start-event", _("The process has no start event."), container)
            else:
                self.error(
                    "subprocess-start",
                    _format(
                        _("Subprocess %(subprocess)s needs exactly one start event."),
                        {"subprocess": self.label(container)},
                    ),
                    container,
                )
        elif parent_id is not None and len(starts) > 1:
            self.error(
                "subprocess-start",
                _format(
                    _("Subprocess %(subprocess)s needs exactly one start event."), {"subprocess": self.label(container)}
                ),
                container,
            )
        if parent_id is not None and not any(local_name(n) == "endEvent" for n in nodes.values()):
            self.error(
                "subprocess-end",
                _format(_("Subprocess %(subprocess)s needs an end event."), {"subprocess": self.label(container)}),
                container,
            )

        for child in container:
            if not isinstance(child.tag, str):
                continue
            ns = namespace(child)
            if ns != BPMN_NS:
                continue
            name = local_name(child)
            if name in FLOW_NODES:
                lane = self.lane_of.get(child.get("id") or "", inherited_lane)
                self.check_node(child, parent_id, lane, outgoing.get(child.get("id") or "", []), nodes)
            elif name == "sequenceFlow":
                self.check_flow(child, nodes)
            elif name in DATA_ELEMENTS:
                self.note(
                    "data-ignored",
                    _format(
                        _("%(element)s is ignored: dikom keeps all case data in the case, not in BPMN data objects."),
                        {"element": _tag(child)},
                    ),
                    child,
                )
                self.drop_from_engine(child)
            elif name in ARTIFACTS or name in STRUCTURAL:
                continue
            else:
                self.error(
                    "unsupported-element",
                    _format(
                        _("%(element)s %(label)s is not supported."),
                        {"element": _tag(child), "label": self.label(child)},
                    ),
                    child,
                )
            self.check_vendor_settings(child)

    def check_node(
        self,
        node: etree._Element,
        parent_id: str | None,
        lane: str | None,
        outgoing: list[etree._Element],
        siblings: dict[str | None, etree._Element],
    ) -> None:
        name = local_name(node)
        ok = True
        if not node.get("id"):
            self.error("missing-id", _format(_("%(element)s has no id."), {"element": _tag(node)}), node)
            ok = False
        for ref in (c for c in node if is_bpmn(c, "incoming", "outgoing")):
            target = self.ids.get((ref.text or "").strip())
            if target is None or not is_bpmn(target, "sequenceFlow", "messageFlow"):
                self.error(
                    "missing-target",
                    _format(
                        _("%(element)s refers to sequence flow “%(flow)s”, which does not exist."),
                        {"element": self.label(node), "flow": (ref.text or "").strip()},
                    ),
                    node,
                    at=ref,
                )
                ok = False
        definitions = [c for c in node if is_bpmn(c) and local_name(c) in EVENT_DEFINITIONS]
        kinds = [EVENT_DEFINITIONS[local_name(d)] for d in definitions]
        if any(is_bpmn(c, "eventDefinitionRef") for c in node):
            self.unsupported(node, _("references to shared event definitions are not supported"))
            ok = False

        if name == "receiveTask" and (node.get("id") or "") in self.gateway_events:
            self.await_gateway_message(node)
        elif name in {"sendTask", "receiveTask"}:
            self.map_message_task(node, name)
        elif name == "businessRuleTask":
            self.map_business_rule_task(node)
        elif name in UNSUPPORTED_GATEWAYS:
            self.unsupported(
                node,
                _(
                    "a complex gateway's rule for going on cannot be run; use exclusive, inclusive or parallel "
                    "gateways instead."
                ),
            )
            ok = False
        elif name == "eventBasedGateway":
            ok = self.check_event_gateway(node, outgoing, siblings) and ok
        elif name == "inclusiveGateway":
            self.check_inclusive_gateway(node, outgoing)
        elif name in UNSUPPORTED_CONTAINERS:
            self.unsupported(node, _("use an embedded subprocess."))
            ok = False
        elif name == "subProcess" and node.get("triggeredByEvent") == "true":
            # An event subprocess starts when its start event's trigger happens while the process runs
            # (SpiffWorkflow's own handling); its start event is checked in check_event.
            self.event_subprocesses.add(node.get("id") or "")
        elif name == "callActivity":
            ok = self.check_call_activity(node, lane) and ok
        elif name in EVENTS:
            ok = self.check_event(node, name, kinds, definitions, parent_id) and ok

        if name == "scriptTask":
            ok = self.check_script(node) and ok
        if name == "serviceTask":
            self.check_service(node)
        if name == "exclusiveGateway" and len(outgoing) > 1:
            default = node.get("default")
            if any(flow.get("id") != default and not _has_condition(flow) for flow in outgoing):
                # A descriptive model: a person decides here (Signavio, ADONIS and the MIWG models label the
                # flows instead of giving conditions). The engine copy gets a user task that asks for the path.
                self.choice_gateways.append((node, list(outgoing), lane, parent_id))
                self.note(
                    "caseworker-choice",
                    _format(
                        _(
                            "Exclusive gateway %(gateway)s has flows without a condition: a caseworker chooses "
                            "the path (%(paths)s)."
                        ),
                        {"gateway": self.label(node), "paths": ", ".join(self.flow_label(f) for f in outgoing)},
                    ),
                    node,
                )
        if (
            name in {"exclusiveGateway", "inclusiveGateway"}
            and node.get("default")
            and node.get("default") not in {f.get("id") for f in outgoing}
        ):
            self.error(
                "bad-default",
                _format(
                    _("The default flow of gateway %(gateway)s is not one of its outgoing flows."),
                    {"gateway": self.label(node)},
                ),
                node,
            )
            ok = False
        if name == "parallelGateway":
            for flow in outgoing:
                if any(is_bpmn(c, "conditionExpression") for c in flow):
                    self.note(
                        "condition-ignored",
                        _format(
                            _("The condition on %(flow)s is ignored: parallel gateways take every outgoing flow."),
                            {"flow": self.label(flow)},
                        ),
                        flow,
                    )
                    self.drop_conditions(flow)
        conditional = name in ACTIVITIES and (
            bool(node.get("default")) or any(_has_condition(flow) for flow in outgoing)
        )
        if conditional:
            # BPMN: conditional flows leaving an activity are each taken when their condition holds, flows
            # without one always, the default flow when no other is taken. The engine copy gets an inclusive
            # gateway after the activity (SpiffWorkflow evaluates conditions at gateways only).
            self.conditional_activities.append((node, list(outgoing)))
            self.note(
                "conditional-flows",
                _format(
                    _(
                        "%(element)s has conditional outgoing flows: every flow whose condition holds is taken, "
                        "as after an inclusive gateway."
                    ),
                    {"element": self.label(node)},
                ),
                node,
            )
        elif name not in GATEWAYS and name not in UNSUPPORTED_GATEWAYS and len(outgoing) > 1:
            # BPMN: an activity or event with several unconditioned outgoing flows takes all of them (an
            # implicit parallel split); the engine copy gets an explicit parallel gateway (SpiffWorkflow needs it).
            self.implicit_splits.append(node)
            self.note(
                "implicit-split",
                _format(
                    _("%(element)s has several outgoing flows: all of them are taken, as after a parallel gateway."),
                    {"element": self.label(node)},
                ),
                node,
            )
        if any(is_bpmn(c, "standardLoopCharacteristics") for c in node):
            self.unsupported(node, _("loops are not supported; model the loop with an exclusive gateway."))
            ok = False
        for loop in (c for c in node if is_bpmn(c, "multiInstanceLoopCharacteristics")):
            ok = self.check_multi_instance(node, loop) and ok

        self.record(node, parent_id, lane, ok)
        if name == "subProcess":
            self.walk(node, node.get("id"), lane)

    def check_vendor_settings(self, element: etree._Element) -> None:
        dropped: list[str] = []
        for attr in element.attrib:
            ns = namespace(attr)
            vendor = _vendor(ns)
            local = attr.rsplit("}", 1)[-1]
            if vendor and (vendor, local) not in TOPIC_ATTRIBUTES:
                dropped.append(f"{vendor}:{local}")
        for ext in (c for c in element if is_bpmn(c, "extensionElements")):
            for child in ext:
                if not isinstance(child.tag, str):
                    continue
                ns = namespace(child)
                vendor = _vendor(ns)
                if vendor and not (vendor == "zeebe" and local_name(child) in {"taskDefinition", "calledDecision"}):
                    dropped.append(f"{vendor}:{local_name(child)}")
                elif not vendor and not _cosmetic(ns) and ns != DIKOM_NS:
                    dropped.append(_tag(child))
        if dropped:
            self.note(
                "vendor-ignored",
                _format(
                    _(
                        "Tool-specific settings of %(element)s are ignored: %(settings)s. "
                        "dikom assigns work through lanes and takes forms and automation from the service."
                    ),
                    {"element": self.label(element), "settings": ", ".join(sorted(set(dropped)))},
                ),
                element,
            )
