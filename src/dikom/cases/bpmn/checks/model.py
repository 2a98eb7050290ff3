"""The report of an import check and what it is built from: element kinds, namespaces, limits, findings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _
from lxml import etree

from ..xmlsafe import BPMN_NS, MAX_BYTES, UnsafeXMLError, local_name, namespace, parse_xml

ERROR = "error"
NOTE = "note"

TASKS = {"task", "userTask", "manualTask", "serviceTask", "scriptTask"}
UNSUPPORTED_TASKS = {"sendTask", "receiveTask", "businessRuleTask"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
UNSUPPORTED_GATEWAYS = {"complexGateway"}
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
