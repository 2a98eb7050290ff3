"""A checked, parsed process (``ProcessDefinition``) and the settings it gives its task specs."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask as NoneTaskMixin

from .. import timers
from ..checks import RENAMED_SUFFIX, ProcessReport, ProcessResolver, inspect
from ..clock import use_time
from ..xmlsafe import DIKOM_NS, is_bpmn, local_name
from .base import (
    _DUE_LINE,
    EngineError,
    ProcessNotSupported,
    ServiceHandler,
    _checked_data,
)
from .instance import ProcessInstance
from .spiff import (
    _TIMER_CLASSES,
    DikomConditionalEvent,
    DikomScriptEngine,
    _instance_items_stay_local,
    _Parser,
    _route_code_events,
)

# -- definition -------------------------------------------------------------


def _element_settings(engine_roots: list[etree._Element], report: ProcessReport) -> dict[str, dict[str, Any]]:
    lanes = {lane.id: lane.name for lane in report.lanes}
    settings: dict[str, dict[str, Any]] = {}
    for element in report.elements:
        info: dict[str, Any] = {"lane_id": element.lane_id, "lane_name": lanes.get(element.lane_id or "")}
        settings[element.id] = info
    for node in (node for engine_root in engine_roots for node in engine_root.iter()):
        ident = (node.get("id") or "").removesuffix(RENAMED_SUFFIX) if isinstance(node.tag, str) else ""
        if not isinstance(node.tag, str) or not is_bpmn(node) or ident not in settings:
            continue
        info = settings[ident]
        topic = node.get(f"{{{DIKOM_NS}}}topic")
        if topic:
            info["topic"] = topic
        choice = node.get(f"{{{DIKOM_NS}}}choice")
        if choice:
            info["choice_variable"] = choice
            info["choices"] = [
                [str(v), str(label)] for v, label in json.loads(node.get(f"{{{DIKOM_NS}}}choices") or "[]")
            ]
        message_step = node.get(f"{{{DIKOM_NS}}}messageStep")
        if message_step:
            info["message_step"] = message_step
        awaits = node.get(f"{{{DIKOM_NS}}}awaits")
        if awaits:
            info["awaits"] = awaits  # a receive task / catch event mapped to a platform event (platform_events)
        platform_event = node.get(f"{{{DIKOM_NS}}}platformEvent")
        if platform_event:
            info["platform_event"] = platform_event  # a waiting step's platform event (platform_events)
        if node.get(f"{{{DIKOM_NS}}}interrupting") == "true":
            info["interrupting"] = True
        if node.get(f"{{{DIKOM_NS}}}eventGateway") == "true":
            # an event-based gateway's wait: no person completes it, the first of its events ends it
            info["event_gateway"] = True
        result_variable = node.get(f"{{{DIKOM_NS}}}resultVariable")
        if result_variable:
            info["result_variable"] = result_variable
        due = node.get(f"{{{DIKOM_NS}}}dueIn")
        if not due:
            docs = " ".join(c.text or "" for c in node if is_bpmn(c, "documentation"))
            match = _DUE_LINE.search(docs)
            due = match.group(1) if match else None
        if due and timers.literal_value(timers.DURATION, due):
            info["due_in"] = due
        if local_name(node) in {"userTask", "manualTask", "task"}:
            info["kind"] = local_name(node)
    return settings


class ProcessDefinition:
    """A checked, parsed process, ready to start instances."""

    def __init__(self, report: ProcessReport, spec, subprocess_specs: dict) -> None:
        self.report = report
        self.process_id: str = report.process_id or ""
        self.name: str = report.process_name
        self._spec = spec
        self._subprocess_specs = subprocess_specs

    @classmethod
    def from_xml(cls, xml_bytes: bytes | str, resolve_process: ProcessResolver | None = None) -> ProcessDefinition:
        """Check and parse a BPMN file; raise ``ProcessNotSupported`` when the checks fail.

        ``resolve_process`` finds the released processes of the library that call activities call (see
        ``checks.inspect``); they become part of the definition, so a running case keeps the version it started
        with.
        """
        report = inspect(xml_bytes, resolve_process=resolve_process)
        if not report.ok or report.engine_xml is None:
            raise ProcessNotSupported(report)
        xml_parser = etree.XMLParser(resolve_entities=False, no_network=True)
        engine_root = etree.fromstring(report.engine_xml, xml_parser)
        called_roots = [etree.fromstring(xml, xml_parser) for xml in report.called_processes.values()]
        parser = _Parser()
        try:
            parser.add_bpmn_xml(engine_root, filename=f"{report.process_id}.bpmn")
            for process_id, root in zip(report.called_processes, called_roots, strict=True):
                parser.add_bpmn_xml(root, filename=f"{process_id}.bpmn")
            spec = parser.get_spec(report.process_id)
            subprocess_specs = parser.get_subprocess_specs(report.process_id)
        except ValidationException as exc:
            raise EngineError(f"The process cannot be parsed: {exc}", getattr(exc, "id", None)) from None
        settings = _element_settings([engine_root, *called_roots], report)
        for process_spec in [spec, *subprocess_specs.values()]:
            _adapt_spec(process_spec, settings)
        return cls(report, spec, subprocess_specs)

    @property
    def lanes(self) -> list[tuple[str, str]]:
        """(lane id, lane name) pairs, to be mapped to org units or roles."""
        return [(lane.id, lane.name) for lane in self.report.lanes]

    def start(
        self,
        data: Mapping[str, Any] | None = None,
        now: datetime | None = None,
        service_handler: ServiceHandler | None = None,
    ) -> ProcessInstance:
        """Start an instance with the case data and run it up to the first wait state."""
        checked = _checked_data(data or {})
        engine = DikomScriptEngine(service_handler)
        workflow = BpmnWorkflow(copy.deepcopy(self._spec), copy.deepcopy(self._subprocess_specs), script_engine=engine)
        start_task = workflow.task_tree
        start_task.data.update(copy.deepcopy(checked))
        instance = ProcessInstance(workflow, engine)
        with use_time(now):
            instance._guarded(lambda: instance._advance())
        return instance


def _adapt_spec(process_spec, settings: dict[str, dict[str, Any]]) -> None:
    for task_spec in process_spec.task_specs.values():
        _instance_items_stay_local(task_spec)
        _route_code_events(task_spec)
        if isinstance(task_spec, NoneTaskMixin):
            # A plain bpmn:task has no behaviour in BPMN: it passes through (SpiffWorkflow would wait for a person).
            task_spec.manual = False
        bpmn_id = (getattr(task_spec, "bpmn_id", None) or "").removesuffix(RENAMED_SUFFIX)
        if bpmn_id in settings:
            extensions = dict(getattr(task_spec, "extensions", None) or {})
            extensions["dikom"] = settings[bpmn_id]
            task_spec.extensions = extensions
        definition = getattr(task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition) and type(definition) in _TIMER_CLASSES:
            replacement = _TIMER_CLASSES[type(definition)](
                definition.name, definition.expression, description=definition.description
            )
            task_spec.event_definition = replacement
        elif isinstance(definition, ConditionalEventDefinition) and not isinstance(definition, DikomConditionalEvent):
            task_spec.event_definition = DikomConditionalEvent(
                definition.expression, name=definition.name, description=definition.description
            )
