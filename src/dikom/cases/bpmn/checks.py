"""Import checks for BPMN 2.0 files: what is in the file, and can dikom run it?

``inspect(xml_bytes)`` never raises for bad input; it returns a ``ProcessReport``
listing every element of the process, the lanes (to be mapped to org units or
roles), and findings: errors (the file cannot be adopted as it is) and notes
(something is ignored or converted). Unsupported elements are reported here, at
import, so they never surface while a case is running.

When the report has no errors, ``report.engine_xml`` holds the prepared copy
the engine runs: data objects and vendor settings removed, Camunda/Zeebe
conditions converted to dikom's safe expressions, the process marked executable.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _
from lxml import etree

from . import timers, xpath
from .expressions import ExpressionError, validate_expression, validate_script
from .xmlsafe import BPMN_NS, DIKOM_NS, MAX_BYTES, XSI_NS, UnsafeXMLError, is_bpmn, local_name, namespace, parse_xml

ERROR = "error"
NOTE = "note"

TASKS = {"task", "userTask", "manualTask", "serviceTask", "scriptTask"}
UNSUPPORTED_TASKS = {"sendTask", "receiveTask", "businessRuleTask"}
GATEWAYS = {"exclusiveGateway", "parallelGateway"}
UNSUPPORTED_GATEWAYS = {"inclusiveGateway", "eventBasedGateway", "complexGateway"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
CONTAINERS = {"subProcess"}
#: Activities: conditional flows may leave them (BPMN 2.0, 10.3.1).
ACTIVITIES = TASKS | {"sendTask", "receiveTask", "businessRuleTask", "subProcess", "callActivity"}
UNSUPPORTED_CONTAINERS = {"transaction", "adHocSubProcess"}
FLOW_NODES = (
    TASKS | UNSUPPORTED_TASKS | GATEWAYS | UNSUPPORTED_GATEWAYS | EVENTS | CONTAINERS | UNSUPPORTED_CONTAINERS
) | {"callActivity"}
DATA_ELEMENTS = {
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "dataInputAssociation",
    "dataOutputAssociation",
    "ioSpecification",
    "property",
}
ARTIFACTS = {"textAnnotation", "association", "group"}
STRUCTURAL = {
    "incoming",
    "outgoing",
    "documentation",
    "extensionElements",
    "laneSet",
    "lane",
    "flowNodeRef",
    "childLaneSet",
    # of a subprocess: checked with the subprocess (check_node), not as one of its elements
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
}
EVENT_DEFINITIONS = {
    "timerEventDefinition": "timer",
    "terminateEventDefinition": "terminate",
    "messageEventDefinition": "message",
    "signalEventDefinition": "signal",
    "escalationEventDefinition": "escalation",
    "compensateEventDefinition": "compensation",
    "conditionalEventDefinition": "conditional",
    "errorEventDefinition": "error",
    "linkEventDefinition": "link",
    "cancelEventDefinition": "cancel",
}
PYTHON_LANGUAGES = {"", "python", "text/x-python", "py", "python3", "dikom"}

#: Namespace URIs of the common modelling tools, by substring, and a readable name.
VENDOR_NAMESPACES = (
    ("camunda.org/schema/zeebe", "zeebe"),
    ("camunda.org/schema/1.0/bpmn", "camunda"),
    ("camunda.org/schema/modeler", "modeler"),
    ("signavio", "signavio"),
    ("bizagi", "bizagi"),
    ("boc-group", "adonis"),
    ("adonis", "adonis"),
    ("activiti", "activiti"),
    ("flowable", "flowable"),
)
#: Namespaces that only carry colours or layout: ignored without a note.
COSMETIC_NAMESPACES = ("bpmn.io/schema/bpmn/biocolor", "spec/BPMN/non-normative/color", "bpmn.io/schema/bpmn")
#: Vendor settings dikom uses instead of dropping (as the automation topic).
TOPIC_ATTRIBUTES = {("camunda", "topic"), ("camunda", "decisionRef"), ("camunda", "resultVariable")}


def _lazy_format(template: Promise | str, params: dict[str, Any]) -> str:
    return str(template) % params


_format = lazy(_lazy_format, str)

# Limits of a process model, checked at import before anything else is looked
# at (one pass over the parsed tree). Real processes of a municipality have a
# few dozen nodes; a model far beyond these is a mistake or an attack (40 000
# unconnected tasks made every process page take seconds).
MAX_FLOW_NODES = 1000
MAX_SEQUENCE_FLOWS = 3000
MAX_SUBPROCESS_DEPTH = 10


def limit_problem(root: etree._Element) -> str | None:
    """The first limit ``root`` exceeds, as a German message naming it; None if it keeps them all."""
    nodes = flows = 0
    for element in root.iter(f"{{{BPMN_NS}}}*"):
        name = local_name(element)
        if name == "sequenceFlow":
            flows += 1
        elif name in FLOW_NODES:
            nodes += 1
    if nodes > MAX_FLOW_NODES:
        return _format(
            _("The process has %(count)s elements (tasks, events, gateways); at most %(limit)s are allowed."),
            {"count": nodes, "limit": MAX_FLOW_NODES},
        )
    if flows > MAX_SEQUENCE_FLOWS:
        return _format(
            _("The process has %(count)s sequence flows; at most %(limit)s are allowed."),
            {"count": flows, "limit": MAX_SEQUENCE_FLOWS},
        )
    for container in root.iter(
        f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction", f"{{{BPMN_NS}}}adHocSubProcess"
    ):
        depth = sum(
            1 for ancestor in container.iterancestors() if local_name(ancestor) in CONTAINERS | UNSUPPORTED_CONTAINERS
        )
        if depth >= MAX_SUBPROCESS_DEPTH:
            return _format(
                _("Subprocesses are nested more than %(limit)s levels deep; at most %(limit)s are allowed."),
                {"limit": MAX_SUBPROCESS_DEPTH},
            )
    return None


def exceeds_limits(xml: bytes | str) -> str | None:
    """Like ``limit_problem`` for a whole document (also its size); None if it is within the limits or not XML."""
    size = len(xml.encode("utf-8") if isinstance(xml, str) else xml)
    if size > MAX_BYTES:
        return str(_format(_("The process file is larger than %(size)s MB."), {"size": MAX_BYTES // 2**20}))
    try:
        root = parse_xml(xml)
    except UnsafeXMLError:
        return None  # the release check reports what is wrong with it
    problem = limit_problem(root)
    return str(problem) if problem is not None else None


@dataclass(frozen=True)
class Finding:
    """One problem or remark about the file.

    ``message`` is translated lazily (render with ``str()``), ``code`` is stable
    for programs, ``tag`` is prefixed like ``bpmn:sendTask``, ``line`` is the
    line in the uploaded file.
    """

    level: str
    code: str
    message: Any
    element_id: str | None = None
    element_name: str | None = None
    tag: str | None = None
    line: int | None = None

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.level}: {self.message}{where}"


@dataclass(frozen=True)
class ElementInfo:
    """One BPMN element of the executed process (or one it calls)."""

    id: str
    name: str
    tag: str
    line: int | None
    supported: bool
    lane_id: str | None = None
    parent_id: str | None = None


@dataclass(frozen=True)
class LaneInfo:
    """A lane (swimlane), to be mapped to an org unit or role by the application."""

    id: str
    name: str
    line: int | None
    element_ids: tuple[str, ...] = ()


@dataclass
class ProcessReport:
    """The result of ``inspect``."""

    process_id: str | None = None
    process_name: str = ""
    exporter: str = ""
    elements: list[ElementInfo] = field(default_factory=list)
    lanes: list[LaneInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    has_diagram: bool = False
    engine_xml: bytes | None = None
    #: (business rule task id, decision id) for every business rule task that calls a DMN decision.
    decision_refs: list[tuple[str, str]] = field(default_factory=list)
    #: Engine copies of the processes of the library that call activities call (process id → prepared XML).
    called_processes: dict[str, bytes] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def notes(self) -> list[Finding]:
        return [f for f in self.findings if f.level == NOTE]

    @property
    def ok(self) -> bool:
        """True when the file can be adopted and run."""
        return not self.errors and self.process_id is not None

    def element(self, element_id: str) -> ElementInfo | None:
        return next((e for e in self.elements if e.id == element_id), None)


def _tag(element: etree._Element) -> str:
    ns = namespace(element)
    prefix = "bpmn" if ns == BPMN_NS else (element.prefix or ns)
    return f"{prefix}:{local_name(element)}"


def _vendor(ns: str) -> str | None:
    for marker, name in VENDOR_NAMESPACES:
        if marker in ns:
            return name
    return None


def _cosmetic(ns: str) -> bool:
    return any(marker in ns for marker in COSMETIC_NAMESPACES)


#: Looks up a released process of the library by its process id: the BPMN file that contains it, or None.
ProcessResolver = Callable[[str], "bytes | str | None"]
MAX_CALL_DEPTH = 5

_STRING_LITERAL = re.compile(r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')")


FEEL_KEYWORDS = {
    "and", "or", "not", "true", "false", "null", "between", "in", "instance", "of", "if", "then", "else",
    "some", "every", "satisfies", "for", "return",
}  # fmt: skip
#: FEEL's quantifiers over a list with an equality test: ``some x in list satisfies x = "a"`` is ``"a" in list``,
#: ``every x in list satisfies x = "a"`` is ``["a"] * len(list) == list``. Any other quantified expression stays
#: and is refused by the safe-expression check.
_FEEL_QUANTIFIER = re.compile(
    r"\b(some|every)\s+([A-Za-z_]\w*)\s+in\s+([A-Za-z_]\w*)\s+satisfies\s+\2\s*=\s*"
    r"(\"[^\"]*\"|'[^']*'|-?\d+(?:\.\d+)?|true|false)(?=\s*(?:$|\)|\band\b|\bor\b))"
)


def _feel_quantifier(match: re.Match[str]) -> str:
    kind, collection, value = match.group(1), match.group(3), match.group(4)
    return f"({value} in {collection})" if kind == "some" else f"([{value}] * len({collection}) == {collection})"


XPATH_LITERALS = {"true": "True", "true()": "True", "false": "False", "false()": "False"}


def _has_condition(flow: etree._Element) -> bool:
    """Whether a sequence flow carries a condition (an empty condition element, as XPath tools export it, is
    none)."""
    return any(is_bpmn(c, "conditionExpression") and (c.text or "").strip() for c in flow)


def _join_feel_names(part: str) -> str:
    """FEEL names may contain spaces (``Vacation Approval``): join their words with ``_`` for the safe language."""

    def join(match: re.Match[str]) -> str:
        words = match.group(0).split(" ")
        out: list[str] = []
        for word in words:
            if out and word.lower() not in FEEL_KEYWORDS and out[-1].lower() not in FEEL_KEYWORDS:
                out[-1] = f"{out[-1]}_{word}"
            else:
                out.append(word)
        return " ".join(out)

    return re.sub(r"[A-Za-z_]\w*(?: [A-Za-z_]\w*)+", join, part)


def _convert_foreign_expression(text: str, feel: bool = False) -> tuple[str, str | None]:
    """Convert Camunda 7 JUEL (``${a && b}``) and Zeebe FEEL (``= a = 1``) conditions.

    Returns (expression, dialect) where dialect is None when nothing was converted.
    Only simple comparisons and boolean logic convert; anything else is left
    for the safe-expression check to refuse.
    """
    stripped = text.strip()
    dialect = None
    if (stripped.startswith("${") or stripped.startswith("#{")) and stripped.endswith("}"):
        stripped, dialect = stripped[2:-1], "JUEL"
    elif stripped.startswith("="):
        stripped, dialect = stripped[1:], "FEEL"
    elif "bpmn:getDataObject(" in stripped:
        # BPMN's XPath functions (the spec's default expression language)
        stripped = re.sub(r"bpmn:getDataObject\(\s*'([A-Za-z_]\w*)'\s*\)", r"\1", stripped)
        stripped = re.sub(r"\b(true|false)\(\)", r"\1", stripped)
        stripped = re.sub(r"(?<![\w.])not\(", "not (", stripped)
        dialect = "XPath"
    elif feel:
        dialect = "FEEL"
    if dialect is None:
        return text, None
    if dialect == "FEEL":
        stripped = _FEEL_QUANTIFIER.sub(_feel_quantifier, stripped)
    parts = _STRING_LITERAL.split(stripped)
    for index in range(0, len(parts), 2):  # even parts are outside string literals
        part = parts[index]
        part = part.replace("&&", " and ").replace("||", " or ")
        part = re.sub(r"!(?!=)", " not ", part)
        if dialect in {"FEEL", "XPath"}:
            part = re.sub(r"(?<![<>!=])=(?!=)", "==", part)
            part = _join_feel_names(part)
        part = re.sub(r"\btrue\b", "True", part)
        part = re.sub(r"\bfalse\b", "False", part)
        part = re.sub(r"\bnull\b", "None", part)
        parts[index] = part
    return " ".join("".join(parts).split()), dialect


class _Inspector:
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
                        _("Message flow %(flow)s is shown in the diagram only; dikom does not exchange BPMN messages."),
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

        if name in {"sendTask", "receiveTask"}:
            self.map_message_task(node, name)
        elif name == "businessRuleTask":
            self.map_business_rule_task(node)
        elif name in UNSUPPORTED_GATEWAYS:
            reasons = {
                "inclusiveGateway": _("use exclusive and parallel gateways instead."),
                "eventBasedGateway": _("dikom does not wait for competing events; use a timer on a user task."),
                "complexGateway": _("use exclusive and parallel gateways instead."),
            }
            self.unsupported(node, reasons[name])
            ok = False
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
            name == "exclusiveGateway"
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

    def check_call_activity(self, node: etree._Element, lane: str | None) -> bool:
        """A call activity runs a process of this file or a released process of the library."""
        called = (node.get("calledElement") or "").strip()
        if not called:
            # Camunda 8 names the called process only in its extension (zeebe:calledElement processId="…").
            for ext in (c for c in node if is_bpmn(c, "extensionElements")):
                for child in ext:
                    if isinstance(child.tag, str) and local_name(child) == "calledElement" and child.get("processId"):
                        called = (child.get("processId") or "").strip().lstrip("=").strip()
            if called:
                self.set_engine_attr(node, "calledElement", called)
        target = self.ids.get(called) if called else None
        if target is not None and is_bpmn(target, "process"):
            self.mark_executable(target)
            self.collect_lanes(target)
            self.walk(target, node.get("id"), lane)
            return True
        if not called:
            self.unsupported(node, _("it does not name the process it calls."))
            return False
        if called in self.report.called_processes:
            return True
        if called in self.call_stack or called == self.report.process_id:
            self.unsupported(
                node, _format(_("process “%(process)s” calls itself (through the library)."), {"process": called})
            )
            return False
        xml = self.resolve_process(called) if self.resolve_process is not None else None
        if xml is None:
            self.unsupported(
                node,
                _format(
                    _(
                        "it calls process “%(process)s”, which is neither in this file nor a released process of "
                        "the library. Release the service that contains it first, or add the process to this file."
                    ),
                    {"process": called},
                ),
            )
            return False
        if len(self.call_stack) >= MAX_CALL_DEPTH:
            self.unsupported(
                node,
                _format(
                    _("calls of processes of the library are nested more than %(limit)s levels deep."),
                    {"limit": MAX_CALL_DEPTH},
                ),
            )
            return False
        sub = inspect(
            xml,
            resolve_process=self.resolve_process,
            process_id=called,
            call_stack=(*self.call_stack, self.report.process_id or ""),
        )
        if not sub.ok or sub.engine_xml is None:
            problems = "; ".join(str(f.message) for f in sub.errors[:3]) or _("it has no executable process")
            self.unsupported(
                node,
                _format(
                    _("process “%(process)s” of the library cannot be run: %(problems)s"),
                    {"process": called, "problems": problems},
                ),
            )
            return False
        self.report.called_processes[called] = sub.engine_xml
        self.report.called_processes.update(sub.called_processes)
        self.report.decision_refs.extend(sub.decision_refs)
        for element in sub.elements:
            self.report.elements.append(
                ElementInfo(
                    element.id,
                    element.name,
                    element.tag,
                    None,  # a line of the other file
                    element.supported,
                    element.lane_id or lane,
                    element.parent_id or node.get("id"),
                )
            )
        self.report.lanes.extend(sub.lanes)
        self.note(
            "library-process",
            _format(
                _("Call activity %(activity)s runs process “%(process)s” of the library (its released version)."),
                {"activity": self.label(node), "process": called},
            ),
            node,
        )
        return True

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
        # Events within the process run on SpiffWorkflow's own handling (error, escalation, signal,
        # terminate; link events do not reach their catch event there and stay refused); messages to and from other participants become platform steps (see map_message_event).
        in_event_subprocess = parent_id is not None and parent_id in self.event_subprocesses
        if name == "startEvent" and in_event_subprocess:
            start_kinds: set[str | None] = {"message", "timer", "signal"}
            if kinds and kinds[0] in {"error", "escalation"}:
                self.unsupported(
                    node,
                    _(
                        "an event subprocess started by an error or escalation is not supported (SpiffWorkflow "
                        "would start it at once); catch the error with a boundary event on a subprocess instead."
                    ),
                )
                return False
            if kinds and kinds[0] in {"timer", "signal"} and node.get("isInterrupting", "true") != "false":
                self.unsupported(
                    node,
                    _(
                        "an interrupting event subprocess started by a timer or a signal is not supported; make it "
                        "non-interrupting or use a boundary event."
                    ),
                )
                return False
        else:
            start_kinds = {None, "timer", "message"} if parent_id is None else {None}
        allowed: dict[str, set[str | None]] = {
            "startEvent": start_kinds,
            "endEvent": {None, "terminate", "error", "escalation", "signal", "message"},
            "intermediateCatchEvent": {"timer", "message", "signal"},
            "intermediateThrowEvent": {None, "signal", "escalation", "message"},
            "boundaryEvent": {"timer", "error", "escalation", "signal", "message"},
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
        if kind == "signal" and name == "intermediateCatchEvent" and not self.signal_thrown(definitions[0]):
            # Nothing outside the process sends signals to a case: a wait for one nobody throws never ends.
            self.unsupported(node, _("no event of this process throws its signal, so the case would wait forever."))
            return False
        if kind == "message" and (name == "boundaryEvent" or in_event_subprocess):
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
        return True

    def check_timer(self, node: etree._Element, definition: etree._Element) -> bool:
        values = [c for c in definition if is_bpmn(c) and local_name(c) in {timers.DATE, timers.DURATION, timers.CYCLE}]
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

    def check_script(self, node: etree._Element) -> bool:
        language = (node.get("scriptFormat") or "").strip().lower()
        scripts = [c for c in node if is_bpmn(c, "script")]
        if language not in PYTHON_LANGUAGES:
            self.unsupported(
                node,
                _format(
                    _(
                        "script language “%(language)s” is not supported; write the script in dikom's safe expression language."
                    ),
                    {"language": node.get("scriptFormat")},
                ),
            )
            return False
        if not scripts or not (scripts[0].text or "").strip():
            self.error(
                "empty-script", _format(_("Script task %(task)s has no script."), {"task": self.label(node)}), node
            )
            return False
        try:
            validate_script(scripts[0].text or "")
        except ExpressionError as exc:
            raw = (scripts[0].text or "").replace("\r\n", "\n")
            blank_lead = 0
            for text_line in raw.split("\n"):
                if text_line.strip():
                    break
                blank_lead += 1
            line = (
                scripts[0].sourceline + blank_lead + (exc.line - 1 if exc.line else 0)
                if scripts[0].sourceline
                else None
            )
            self.error(
                "unsafe-script",
                _format(
                    _("The script of %(task)s is not allowed: %(reason)s"),
                    {"task": self.label(node), "reason": exc.message},
                ),
                node,
                at=scripts[0],
                line=line,
            )
            return False
        return True

    def check_service(self, node: etree._Element) -> None:
        topic = node.get(f"{{{DIKOM_NS}}}topic")
        if topic:
            return
        for attr, value in node.attrib.items():
            vendor = _vendor(namespace(attr))
            if vendor and (vendor, attr.rsplit("}", 1)[-1]) in TOPIC_ATTRIBUTES and value:
                self.set_engine_attr(node, f"{{{DIKOM_NS}}}topic", value)
                self.note(
                    "topic-from-vendor",
                    _format(
                        _("%(vendor)s:%(attribute)s of %(task)s is used as the automation topic “%(topic)s”."),
                        {
                            "vendor": vendor,
                            "attribute": attr.rsplit("}", 1)[-1],
                            "task": self.label(node),
                            "topic": value,
                        },
                    ),
                    node,
                )
                return
        for ext in (c for c in node if is_bpmn(c, "extensionElements")):
            for definition in ext:
                if (
                    isinstance(definition.tag, str)
                    and _vendor(namespace(definition)) == "zeebe"
                    and local_name(definition) == "taskDefinition"
                    and definition.get("type")
                ):
                    value = definition.get("type") or ""
                    self.set_engine_attr(node, f"{{{DIKOM_NS}}}topic", value)
                    self.note(
                        "topic-from-vendor",
                        _format(
                            _("%(vendor)s:%(attribute)s of %(task)s is used as the automation topic “%(topic)s”."),
                            {
                                "vendor": "zeebe",
                                "attribute": "taskDefinition",
                                "task": self.label(node),
                                "topic": value,
                            },
                        ),
                        node,
                    )
                    return

    def check_multi_instance(self, node: etree._Element, loop: etree._Element) -> bool:
        ok = True
        for child in loop:
            if is_bpmn(child, "loopCardinality", "completionCondition"):
                text, dialect = _convert_foreign_expression(child.text or "")
                try:
                    validate_expression(text)
                except ExpressionError as exc:
                    self.error(
                        "unsafe-expression",
                        _format(
                            _("The expression “%(expression)s” of %(element)s is not allowed: %(reason)s"),
                            {
                                "expression": (child.text or "").strip(),
                                "element": self.label(node),
                                "reason": exc.message,
                            },
                        ),
                        node,
                        at=child,
                    )
                    ok = False
                else:
                    if dialect:
                        self.engine_index_text(child, text)
        has_input = any(is_bpmn(c, "loopCardinality", "loopDataInputRef") for c in loop)
        if not has_input:
            has_input = self.map_zeebe_loop(node, loop) or self.map_camunda_loop(node, loop)
        if not has_input and local_name(node) in TASKS | UNSUPPORTED_TASKS:
            # A descriptive model ("publish on every platform") that does not say how many: one person, or one
            # call of the automation, does the work for all of them.
            self.note(
                "multi-instance-once",
                _format(
                    _(
                        "%(element)s is marked as repeated but says neither how often nor for which items: it runs "
                        "once, for all of them."
                    ),
                    {"element": self.label(node)},
                ),
                node,
            )
            self.drop_from_engine(loop)
        elif not has_input:
            self.unsupported(node, _("multi-instance tasks need a cardinality or an input collection."))
            ok = False
        return ok

    def map_camunda_loop(self, node: etree._Element, loop: etree._Element) -> bool:
        """Camunda 7 writes the collection as attributes (``camunda:collection="${items}"
        camunda:elementVariable="item"``): mapped like Zeebe's loop characteristics."""
        collection = element = ""
        for attr, value in loop.attrib.items():
            if _vendor(namespace(attr)) == "camunda" and attr.endswith("}collection"):
                collection = value.strip()
            if _vendor(namespace(attr)) == "camunda" and attr.endswith("}elementVariable"):
                element = value.strip()
        if not collection:
            return False
        plain = collection[2:-1].strip() if collection.startswith("${") and collection.endswith("}") else collection
        return self.map_loop_collection(node, loop, "camunda:collection", collection, plain, element)

    def map_loop_collection(
        self, node: etree._Element, loop: etree._Element, source: str, original: str, collection: str, element: str
    ) -> bool:
        name = re.compile(r"[A-Za-z_]\w*")
        if not name.fullmatch(collection) or (element and not name.fullmatch(element)):
            self.unsupported(
                node,
                _format(
                    _("the input collection “%(collection)s” of the repetition is not a plain name of case data."),
                    {"collection": original},
                ),
            )
            return True  # refused with its own reason
        twin = self.engine_twin(loop)
        if twin is None:
            return True
        for attr in [a for a in twin.attrib if _vendor(namespace(a)) == "camunda"]:
            del twin.attrib[attr]
        etree.SubElement(twin, f"{{{BPMN_NS}}}loopDataInputRef").text = collection
        if element:
            etree.SubElement(twin, f"{{{BPMN_NS}}}inputDataItem", id=element, name=element)
        for child in [c for c in twin if is_bpmn(c, "completionCondition")]:
            twin.remove(child)
            twin.append(child)
        self.note(
            "vendor-loop",
            _format(
                _("%(element)s is repeated for every item of “%(collection)s” (from %(source)s)."),
                {"element": self.label(node), "collection": collection, "source": source},
            ),
            node,
        )
        return True

    def map_zeebe_loop(self, node: etree._Element, loop: etree._Element) -> bool:
        """Camunda 8 writes the collection in an extension (``zeebe:loopCharacteristics inputCollection="=items"
        inputElement="item"``): when the collection and the names are plain names, the engine copy gets BPMN's
        ``loopDataInputRef``/``inputDataItem`` (and the output pair). Returns whether there is an input."""
        zeebe = next(
            (
                child
                for ext in loop
                if is_bpmn(ext, "extensionElements")
                for child in ext
                if isinstance(child.tag, str) and local_name(child) == "loopCharacteristics"
            ),
            None,
        )
        if zeebe is None:
            return False
        name = re.compile(r"[A-Za-z_]\w*")
        collection = (zeebe.get("inputCollection") or "").strip().lstrip("=").strip()
        element = (zeebe.get("inputElement") or "").strip()
        output_collection = (zeebe.get("outputCollection") or "").strip()
        output_element = (zeebe.get("outputElement") or "").strip().lstrip("=").strip()
        if not name.fullmatch(collection) or (element and not name.fullmatch(element)):
            self.unsupported(
                node,
                _format(
                    _("the input collection “%(collection)s” of the repetition is not a plain name of case data."),
                    {"collection": zeebe.get("inputCollection") or ""},
                ),
            )
            return True  # refused with its own reason
        twin = self.engine_twin(loop)
        if twin is None:
            return True
        for child in [c for c in twin if is_bpmn(c, "extensionElements")]:
            twin.remove(child)
        etree.SubElement(twin, f"{{{BPMN_NS}}}loopDataInputRef").text = collection
        if output_collection and name.fullmatch(output_collection):
            etree.SubElement(twin, f"{{{BPMN_NS}}}loopDataOutputRef").text = output_collection
        if element:
            etree.SubElement(twin, f"{{{BPMN_NS}}}inputDataItem", id=element, name=element)
        if output_collection and name.fullmatch(output_element):
            etree.SubElement(twin, f"{{{BPMN_NS}}}outputDataItem", id=output_element, name=output_element)
        # BPMN's order: the loop's data references come before the completion condition.
        for child in [c for c in twin if is_bpmn(c, "completionCondition")]:
            twin.remove(child)
            twin.append(child)
        self.note(
            "zeebe-loop",
            _format(
                _("%(element)s is repeated for every item of “%(collection)s” (from zeebe:loopCharacteristics)."),
                {"element": self.label(node), "collection": collection},
            ),
            node,
        )
        return True

    def check_flow(self, flow: etree._Element, nodes: dict[str | None, etree._Element]) -> None:
        for attr in ("sourceRef", "targetRef"):
            ref = flow.get(attr)
            if not ref or ref not in nodes:
                self.error(
                    "missing-target",
                    _format(
                        _("Sequence flow %(flow)s points to “%(ref)s”, which is not an element of the same process."),
                        {"flow": self.label(flow), "ref": ref or ""},
                    ),
                    flow,
                )
        source = nodes.get(flow.get("sourceRef"))
        for condition in (c for c in flow if is_bpmn(c, "conditionExpression")):
            if not (condition.text or "").strip():
                # Tools write an empty condition element where the modeller gave none: the flow has no condition.
                self.note(
                    "empty-condition",
                    _format(
                        _("The condition of %(flow)s is empty; the flow is treated as one without a condition."),
                        {"flow": self.label(flow)},
                    ),
                    flow,
                    at=condition,
                )
                self.drop_from_engine(condition)
                continue
            if source is not None and not (
                is_bpmn(source, "exclusiveGateway", "parallelGateway") or local_name(source) in ACTIVITIES
            ):
                self.error(
                    "conditional-flow",
                    _format(
                        _("Conditional flow %(flow)s must leave a gateway or an activity."),
                        {"flow": self.label(flow)},
                    ),
                    flow,
                )
                continue
            self.check_condition(flow, condition)

    def check_condition(self, flow: etree._Element, condition: etree._Element) -> None:
        language = (condition.get("language") or "").strip().lower()
        text = (condition.text or "").strip()
        feel = "feel" in language
        if "xpath" in language:
            self.check_xpath_condition(flow, condition, text)
            return
        if language and language not in PYTHON_LANGUAGES and not feel and language != "juel":
            self.error(
                "unsupported-language",
                _format(
                    _("The condition of %(flow)s is written in “%(language)s”; dikom needs a safe expression."),
                    {"flow": self.label(flow), "language": condition.get("language")},
                ),
                flow,
                at=condition,
            )
            return
        converted, dialect = _convert_foreign_expression(text, feel=feel)
        if dialect is None and not language:
            # No language given: exports of Trisotech, Signavio and others write FEEL here (BPMN's default,
            # XPath, is what nobody writes); read it as FEEL when it is not already a safe expression.
            try:
                validate_expression(converted)
            except ExpressionError:
                converted, dialect = _convert_foreign_expression(text, feel=True)
        try:
            validate_expression(converted)
        except ExpressionError as exc:
            self.error(
                "unsafe-expression",
                _format(
                    _("The condition “%(expression)s” of %(flow)s is not allowed: %(reason)s"),
                    {"expression": text, "flow": self.label(flow), "reason": exc.message},
                ),
                flow,
                at=condition,
            )
            return
        if dialect:
            self.engine_index_text(condition, converted)
            self.drop_language(condition)
            self.note(
                "converted-condition",
                _format(
                    _("The %(dialect)s condition “%(original)s” of %(flow)s was converted to “%(converted)s”."),
                    {"dialect": dialect, "original": text, "flow": self.label(flow), "converted": converted},
                ),
                flow,
                at=condition,
            )

    def check_xpath_condition(self, flow: etree._Element, condition: etree._Element, text: str) -> None:
        """XPath (BPMN's default language, written by older tools): the simple forms translate (see ``xpath``),
        anything else is refused with the exact expression and its line."""
        try:
            converted = xpath.translate(text)
            validate_expression(converted)
        except (xpath.XPathNotTranslatable, ExpressionError) as exc:
            part = exc.part if isinstance(exc, xpath.XPathNotTranslatable) else exc.message
            self.error(
                "unsupported-language",
                _format(
                    _(
                        "The XPath condition “%(expression)s” of %(flow)s cannot be translated (at “%(part)s”): "
                        "dikom translates comparisons, and/or/not, texts, numbers and data references "
                        "(bpmn:getDataObject, $variables) only. Write it as a safe expression."
                    ),
                    {"expression": text, "flow": self.label(flow), "part": part},
                ),
                flow,
                at=condition,
            )
            return
        self.engine_index_text(condition, converted)
        self.drop_language(condition)
        if text.lower() not in XPATH_LITERALS:
            self.note(
                "converted-condition",
                _format(
                    _("The %(dialect)s condition “%(original)s” of %(flow)s was converted to “%(converted)s”."),
                    {"dialect": "XPath", "original": text, "flow": self.label(flow), "converted": converted},
                ),
                flow,
                at=condition,
            )

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

    def signal_thrown(self, definition: etree._Element) -> bool:
        ref = definition.get("signalRef")
        for throw in self.root.iter(f"{{{BPMN_NS}}}intermediateThrowEvent", f"{{{BPMN_NS}}}endEvent"):
            for other in throw:
                if is_bpmn(other, "signalEventDefinition") and other.get("signalRef") == ref:
                    return True
        return False

    def message_name(self, node: etree._Element) -> str:
        definition = next((c for c in node if is_bpmn(c, "messageEventDefinition")), None)
        message = self.ids.get(definition.get("messageRef") or "") if definition is not None else None
        label = (message.get("name") if message is not None else None) or node.get("name") or node.get("id") or ""
        return " ".join(label.split())

    def message_step_name(self, node: etree._Element) -> str:
        return str(_format(_("Message received: %(message)s"), {"message": self.message_name(node)}))

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

    def map_business_rule_task(self, node: etree._Element) -> None:
        """A business rule task calls a DMN decision of the service (``camunda:decisionRef``, Zeebe's
        ``calledDecision``, ``dikom:decisionRef``): in the engine copy it becomes a service task with topic
        ``dmn:<decision id>`` whose result goes into the result variable. Without a decision it hands over to the
        automation like a service task (topic: its id); without a handler it passes through."""
        ref, result = node.get(f"{{{DIKOM_NS}}}decisionRef") or "", node.get(f"{{{DIKOM_NS}}}resultVariable") or ""
        for attr, value in node.attrib.items():
            if _vendor(namespace(attr)) == "camunda" and attr.endswith("}decisionRef"):
                ref = ref or value.strip()
            if _vendor(namespace(attr)) == "camunda" and attr.endswith("}resultVariable"):
                result = result or value.strip()
        for ext in (c for c in node if is_bpmn(c, "extensionElements")):
            for called in ext:
                if isinstance(called.tag, str) and local_name(called) == "calledDecision":
                    ref = ref or (called.get("decisionId") or "").strip()
                    result = result or (called.get("resultVariable") or "").strip()
        twin = self.engine_twin(node)
        if twin is not None:
            twin.tag = f"{{{BPMN_NS}}}serviceTask"
            for attr in ("implementation",):
                twin.attrib.pop(attr, None)
        if not ref:
            self.note(
                "business-rule-task",
                _format(
                    _(
                        "Business rule task %(task)s names no decision: it hands over to the automation like a "
                        "service task (topic “%(topic)s”)."
                    ),
                    {"task": self.label(node), "topic": node.get(f"{{{DIKOM_NS}}}topic") or node.get("id") or ""},
                ),
                node,
            )
            return
        if result and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", result):
            self.error(
                "bad-result-variable",
                _format(
                    _("The result variable “%(name)s” of %(task)s is not a usable name (letters, digits, _)."),
                    {"name": result, "task": self.label(node)},
                ),
                node,
            )
            return
        result = result or "decision_result"
        self.report.decision_refs.append((node.get("id") or "", ref))
        self.set_engine_attr(node, f"{{{DIKOM_NS}}}topic", f"dmn:{ref}")
        self.set_engine_attr(node, f"{{{DIKOM_NS}}}resultVariable", result)
        self.note(
            "business-rule-task",
            _format(
                _(
                    "Business rule task %(task)s evaluates decision “%(decision)s” of the service's decision tables; "
                    "the result is stored as “%(variable)s”."
                ),
                {"task": self.label(node), "decision": ref, "variable": result},
            ),
            node,
        )

    def flow_label(self, flow: etree._Element) -> str:
        """How a path is offered to a person: the flow's name, else its target's name, else the ids."""
        target = self.ids.get(flow.get("targetRef") or "")
        name = (flow.get("name") or "").strip()
        if not name and target is not None:
            name = (target.get("name") or "").strip()
        return " ".join(name.split()) or flow.get("id") or ""

    def make_choice(
        self, node: etree._Element, outgoing: list[etree._Element], lane: str | None, parent_id: str | None
    ) -> None:
        """In the engine copy: incoming flows → a user task asking for the path → the gateway, whose flows get
        the conditions ``choice_<gateway> == "<flow id>"``."""
        twin = self.engine_twin(node)
        container = twin.getparent() if twin is not None else None
        if twin is None or container is None:
            return
        ident = twin.get("id") or ""
        variable = "choice_" + re.sub(r"\W", "_", ident)
        task_id, flow_id = f"{ident}__dikom_choice", f"{ident}__dikom_to_gateway"
        for flow in container:
            if is_bpmn(flow, "sequenceFlow") and flow.get("targetRef") == ident:
                flow.set("targetRef", task_id)
        task = etree.SubElement(container, f"{{{BPMN_NS}}}userTask", id=task_id)
        gateway_name = " ".join((node.get("name") or "").split()) or ident
        task.set("name", str(_format(_("Choose the path: %(gateway)s"), {"gateway": gateway_name})))
        for ref in [c for c in twin if is_bpmn(c, "incoming")]:
            twin.remove(ref)
            etree.SubElement(task, f"{{{BPMN_NS}}}incoming").text = ref.text
        etree.SubElement(task, f"{{{BPMN_NS}}}outgoing").text = flow_id
        etree.SubElement(twin, f"{{{BPMN_NS}}}incoming").text = flow_id
        etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=task_id, targetRef=ident)
        twin.attrib.pop("default", None)
        options = []
        for flow in outgoing:
            flow_twin = self.engine_twin(flow)
            if flow_twin is None:
                continue
            for condition in [c for c in flow_twin if is_bpmn(c, "conditionExpression")]:
                flow_twin.remove(condition)
            value = flow.get("id") or ""
            etree.SubElement(flow_twin, f"{{{BPMN_NS}}}conditionExpression").text = f"{variable} == {value!r}"
            options.append([value, self.flow_label(flow)])
        task.set(f"{{{DIKOM_NS}}}choice", variable)
        task.set(f"{{{DIKOM_NS}}}choices", json.dumps(options, ensure_ascii=False))
        self.report.elements.append(
            ElementInfo(task_id, task.get("name") or "", "bpmn:userTask", node.sourceline, True, lane, parent_id)
        )

    def drop_language(self, condition: etree._Element) -> None:
        """The engine copy's condition is in the safe language now: its foreign language attribute goes."""
        twin = self.engine_twin(condition)
        if twin is not None and "language" in twin.attrib:
            del twin.attrib["language"]

    def mark_executable(self, process: etree._Element) -> None:
        self.set_engine_attr(process, "isExecutable", "true")

    def make_split_explicit(self, node: etree._Element) -> None:
        """In the engine copy: ``node`` → new parallel gateway → the node's former targets."""
        twin = self.engine_twin(node)
        container = twin.getparent() if twin is not None else None
        if twin is None or container is None:
            return
        ident = twin.get("id") or ""
        gateway_id, flow_id = f"{ident}__dikom_split", f"{ident}__dikom_to_split"
        outgoing = [f for f in container if is_bpmn(f, "sequenceFlow") and f.get("sourceRef") == ident]
        for child in [c for c in twin if is_bpmn(c, "outgoing")]:
            twin.remove(child)
        etree.SubElement(twin, f"{{{BPMN_NS}}}outgoing").text = flow_id
        gateway = etree.SubElement(container, f"{{{BPMN_NS}}}parallelGateway", id=gateway_id)
        etree.SubElement(gateway, f"{{{BPMN_NS}}}incoming").text = flow_id
        for flow in outgoing:
            flow.set("sourceRef", gateway_id)
            etree.SubElement(gateway, f"{{{BPMN_NS}}}outgoing").text = flow.get("id")
        etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=ident, targetRef=gateway_id)

    def make_conditional_split(self, node: etree._Element, outgoing: list[etree._Element]) -> None:
        """In the engine copy: ``node`` → new inclusive gateway → the node's former targets; flows without a
        condition get ``True``, the node's default flow becomes the gateway's default."""
        twin = self.engine_twin(node)
        container = twin.getparent() if twin is not None else None
        if twin is None or container is None:
            return
        ident = twin.get("id") or ""
        gateway_id, flow_id = f"{ident}__dikom_conditions", f"{ident}__dikom_to_conditions"
        default = twin.attrib.pop("default", None)
        for child in [c for c in twin if is_bpmn(c, "outgoing")]:
            twin.remove(child)
        etree.SubElement(twin, f"{{{BPMN_NS}}}outgoing").text = flow_id
        gateway = etree.SubElement(container, f"{{{BPMN_NS}}}inclusiveGateway", id=gateway_id)
        if default:
            gateway.set("default", default)
        etree.SubElement(gateway, f"{{{BPMN_NS}}}incoming").text = flow_id
        for flow in outgoing:
            flow_twin = self.engine_twin(flow)
            if flow_twin is None:
                continue
            flow_twin.set("sourceRef", gateway_id)
            etree.SubElement(gateway, f"{{{BPMN_NS}}}outgoing").text = flow_twin.get("id")
            if flow_twin.get("id") != default and not _has_condition(flow_twin):
                for condition in [c for c in flow_twin if is_bpmn(c, "conditionExpression")]:
                    flow_twin.remove(condition)
                etree.SubElement(flow_twin, f"{{{BPMN_NS}}}conditionExpression").text = "True"
        etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=ident, targetRef=gateway_id)

    def prepare_engine_copy(self, chosen: etree._Element) -> bytes:
        for node, outgoing in self.conditional_activities:
            self.make_conditional_split(node, outgoing)
        for node in self.implicit_splits:
            self.make_split_explicit(node)
        for gateway, outgoing, lane, parent_id in self.choice_gateways:
            self.make_choice(gateway, outgoing, lane, parent_id)
        for process in (p for p in self.engine_root if is_bpmn(p, "process")):
            if process.get("id") == chosen.get("id"):
                process.set("isExecutable", "true")
        for element in list(self.engine_root.iter()):
            if not isinstance(element.tag, str):
                continue
            if is_bpmn(
                element, "dataStore", "import", "correlationProperty", "correlationKey", "correlationSubscription"
            ) or (is_bpmn(element) and local_name(element) in DATA_ELEMENTS):
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)
        _rename_reserved_ids(self.engine_root)
        return etree.tostring(self.engine_root, xml_declaration=True, encoding="UTF-8")


def inspect(
    xml_bytes: bytes | str,
    max_bytes: int = MAX_BYTES,
    *,
    resolve_process: ProcessResolver | None = None,
    process_id: str | None = None,
    call_stack: tuple[str, ...] = (),
) -> ProcessReport:
    """Check a BPMN 2.0 file and describe its process; see the module docstring.

    ``resolve_process`` finds the released processes of the library that call activities call (by process id);
    without it only processes of the same file can be called. ``process_id`` checks that process of the file
    (a called one) instead of choosing the one to run.
    """
    report = ProcessReport()
    try:
        root = parse_xml(xml_bytes, max_bytes=max_bytes)
    except UnsafeXMLError as exc:
        messages = {
            "too-large": _("The file is too large for a process model."),
            "doctype": _(
                "The file contains a document type declaration (DTD); these are refused for security reasons."
            ),
            "too-many-elements": _("The file contains too many XML elements for a process model."),
            "not-xml": _("The file is not well-formed XML."),
            "not-bpmn": _("The file is not a BPMN 2.0 model (the root element must be bpmn:definitions)."),
        }
        report.findings.append(Finding(level=ERROR, code=exc.code, message=messages[exc.code], line=exc.line))
        return report

    too_big = limit_problem(root)
    if too_big is not None:
        report.findings.append(Finding(level=ERROR, code="too-many-elements", message=too_big))
        return report

    exporter = root.get("exporter") or ""
    if exporter:
        report.exporter = f"{exporter} {root.get('exporterVersion') or ''}".strip()
    report.has_diagram = any(True for _el in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape"))
    inspector = _Inspector(root, report, resolve_process, call_stack)
    for child in root:
        if isinstance(child.tag, str) and is_bpmn(child, "dataStore"):
            inspector.note("data-ignored", _("Data stores are ignored."), child)
        elif isinstance(child.tag, str) and is_bpmn(child, "import"):
            inspector.note("import-ignored", _("Imports of other files are ignored."), child)
    chosen = inspector.choose_process(process_id)
    if chosen is None:
        return report
    report.process_id = chosen.get("id")
    report.process_name = (chosen.get("name") or "").strip()
    participant_name = next(
        (
            (p.get("name") or "").strip()
            for p in root.iter(f"{{{BPMN_NS}}}participant")
            if p.get("processRef") == chosen.get("id")
        ),
        "",
    )
    if not report.process_name:
        report.process_name = participant_name or report.process_id or ""
    inspector.collect_lanes(chosen)
    inspector.walk(chosen, None, None)
    inspector.check_vendor_settings(chosen)
    _check_unique_ids(root, inspector)
    if not report.errors:
        report.engine_xml = inspector.prepare_engine_copy(chosen)
    return report


#: Names SpiffWorkflow gives its own tasks of every process: an element with such an id would replace them.
RESERVED_IDS = {"Start", "End", "Root"}
#: Suffix of a renamed element in the engine copy (``engine._diagram_id`` removes it again).
RENAMED_SUFFIX = "__dikom_id"


def _rename_reserved_ids(root: etree._Element) -> None:
    """Elements with an id SpiffWorkflow uses itself (``Start``, ``End``) get another one in the engine copy."""
    renamed = {
        el.get("id"): f"{el.get('id')}{RENAMED_SUFFIX}"
        for el in root.iter()
        if isinstance(el.tag, str) and el.get("id") in RESERVED_IDS and not is_bpmn(el, "process")
    }
    if not renamed:
        return
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("id", "sourceRef", "targetRef", "attachedToRef", "default"):
            if el.get(attr) in renamed:
                el.set(attr, renamed[el.get(attr) or ""])
        if is_bpmn(el, "incoming", "outgoing", "flowNodeRef") and (el.text or "").strip() in renamed:
            el.text = renamed[(el.text or "").strip()]


def _check_unique_ids(root: etree._Element, inspector: _Inspector) -> None:
    seen: dict[str, etree._Element] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or namespace(element) != BPMN_NS:
            continue
        ident = element.get("id")
        if not ident:
            continue
        if ident in seen:
            inspector.error(
                "duplicate-id", _format(_("The id “%(id)s” is used more than once."), {"id": ident}), element
            )
        seen[ident] = element


def lane_map(report: ProcessReport) -> dict[str, str | None]:
    """Element id → lane id for every recorded element (None outside lanes)."""
    return {element.id: element.lane_id for element in report.elements}


def iter_errors(report: ProcessReport) -> Iterable[str]:
    """The error messages as plain text, with line numbers (for logs and tests)."""
    for finding in report.errors:
        yield str(finding)
