"""State of one import check, recording findings, and editing the prepared copy for the engine."""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext_lazy as _
from lxml import etree

from ..xmlsafe import XSI_NS, is_bpmn
from .model import ERROR, NOTE, ElementInfo, Finding, ProcessReport, ProcessResolver, _format, _tag


class InspectorBase:
    """What every part of the check shares: the parsed file, the report, the engine copy."""

    def __init__(
        self,
        root: etree._Element,
        report: ProcessReport,
        resolve_process: ProcessResolver | None = None,
        call_stack: tuple[str, ...] = (),
    ) -> None:
        self.root = root
        self.report = report
        self.resolve_process = resolve_process
        self.call_stack = call_stack
        #: ids of event subprocesses (``triggeredByEvent="true"``): their start event has a trigger.
        self.event_subprocesses: set[str] = set()
        #: activities with conditional (or default) outgoing flows: (activity, outgoing flows)
        self.conditional_activities: list[tuple[etree._Element, list[etree._Element]]] = []
        self.engine_root = copy.deepcopy(root)
        self.engine_index = {
            el.get("id"): el for el in self.engine_root.iter() if isinstance(el.tag, str) and el.get("id")
        }
        self.ids = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        self.implicit_splits: list[etree._Element] = []
        #: exclusive gateways where a person chooses: (gateway, outgoing flows, lane id, parent id)
        self.choice_gateways: list[tuple[etree._Element, list[etree._Element], str | None, str | None]] = []
        self.lane_of: dict[str, str] = {}
        #: events (and receive tasks) after an event-based gateway: event id → gateway
        self.gateway_events: dict[str, etree._Element] = {}
        #: event-based gateways the engine copy turns into a wait: (gateway, the events after it)
        self.event_gateways: list[tuple[etree._Element, list[etree._Element]]] = []
        #: flows without a condition leaving an inclusive gateway (always taken)
        self.unconditional_flows: list[etree._Element] = []
        #: (throwing, catching) link events of the same name and process level
        self.link_pairs: list[tuple[etree._Element, etree._Element]] = []

    # -- findings ---------------------------------------------------------
    def add(
        self,
        level: str,
        code: str,
        message: Any,
        element: etree._Element | None = None,
        at: etree._Element | None = None,
        line: int | None = None,
    ) -> None:
        """Record a finding about ``element``, located at ``at`` (default: the element itself)."""
        at = element if at is None else at
        if line is None and at is not None:
            line = at.sourceline
        self.report.findings.append(
            Finding(
                level=level,
                code=code,
                message=message,
                element_id=element.get("id") if element is not None else None,
                element_name=(element.get("name") or None) if element is not None else None,
                tag=_tag(element) if element is not None else None,
                line=line,
            )
        )

    def error(
        self,
        code: str,
        message: Any,
        element: etree._Element | None = None,
        at: etree._Element | None = None,
        line: int | None = None,
    ) -> None:
        self.add(ERROR, code, message, element, at, line)

    def note(
        self, code: str, message: Any, element: etree._Element | None = None, at: etree._Element | None = None
    ) -> None:
        self.add(NOTE, code, message, element, at)

    def label(self, element: etree._Element) -> str:
        name = (element.get("name") or "").strip()
        ident = element.get("id") or "?"
        return f"“{name}” ({ident})" if name else ident

    def record(self, element: etree._Element, parent_id: str | None, lane: str | None, supported: bool) -> None:
        self.report.elements.append(
            ElementInfo(
                id=element.get("id") or "",
                name=(element.get("name") or "").strip(),
                tag=_tag(element),
                line=element.sourceline,
                supported=supported,
                lane_id=lane,
                parent_id=parent_id,
            )
        )

    def unsupported(self, element: etree._Element, reason: Any) -> None:
        self.error(
            "unsupported-element",
            _format(
                _("%(element)s %(label)s is not supported: %(reason)s"),
                {"element": _tag(element), "label": self.label(element), "reason": reason},
            ),
            element,
        )

    # -- the prepared copy for the engine -----------------------------------
    def engine_twin(self, element: etree._Element) -> etree._Element | None:
        ident = element.get("id")
        if ident:
            return self.engine_index.get(ident)
        parent = element.getparent()
        if parent is None:
            return None
        twin_parent = self.engine_twin(parent)
        if twin_parent is None:
            return None
        position = list(parent).index(element)
        children = list(twin_parent)
        return children[position] if position < len(children) else None

    def engine_index_text(self, element: etree._Element, text: str) -> None:
        twin = self.engine_twin(element)
        if twin is not None:
            twin.text = text
            for attr in ("language", f"{{{XSI_NS}}}type"):
                if attr == "language" and attr in twin.attrib:
                    del twin.attrib[attr]

    def set_engine_attr(self, element: etree._Element, attr: str, value: str) -> None:
        twin = self.engine_twin(element)
        if twin is not None:
            twin.set(attr, value)

    def drop_from_engine(self, element: etree._Element) -> None:
        twin = self.engine_twin(element)
        if twin is not None and twin.getparent() is not None:
            twin.getparent().remove(twin)
            if twin.get("id"):
                self.engine_index.pop(twin.get("id"), None)

    def drop_conditions(self, flow: etree._Element) -> None:
        twin = self.engine_twin(flow)
        if twin is not None:
            for condition in [c for c in twin if is_bpmn(c, "conditionExpression")]:
                twin.remove(condition)

    def drop_language(self, condition: etree._Element) -> None:
        """The engine copy's condition is in the safe language now: its foreign language attribute goes."""
        twin = self.engine_twin(condition)
        if twin is not None and "language" in twin.attrib:
            del twin.attrib["language"]

    def mark_executable(self, process: etree._Element) -> None:
        self.set_engine_attr(process, "isExecutable", "true")

    def flow_label(self, flow: etree._Element) -> str:
        """How a path is offered to a person: the flow's name, else its target's name, else the ids."""
        target = self.ids.get(flow.get("targetRef") or "")
        name = (flow.get("name") or "").strip()
        if not name and target is not None:
            name = (target.get("name") or "").strip()
        return " ".join(name.split()) or flow.get("id") or ""

    # -- implemented by ``StructureChecks`` (structure.py) ------------------
    def collect_lanes(self, process: etree._Element) -> None:
        raise NotImplementedError

    def walk(self, container: etree._Element, parent_id: str | None, inherited_lane: str | None) -> None:
        raise NotImplementedError

    # -- implemented by ``EventChecks`` (events.py) -------------------------
    def signal_thrown(self, definition: etree._Element) -> bool:
        raise NotImplementedError
