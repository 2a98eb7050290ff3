"""Running a checked BPMN process with SpiffWorkflow.

``ProcessDefinition.from_xml(xml)`` checks the file (``checks.inspect``) and
parses it; ``definition.start(data, now=...)`` gives a ``ProcessInstance``.
An instance is plain data between calls: ``instance.dump()`` returns a
JSON-compatible dict (store it in a JSONField), ``ProcessInstance.load(state)``
restores it, also in another process after a restart; the dict contains the
parsed process, so the XML is not needed again.

Every operation takes the time as ``now`` (default: the wall clock). Timers
store their due time as an absolute instant when they start, so a timer that
became due while the server was down fires on the next ``fire_due_timers``.

Service tasks call the ``service_handler`` given to ``start``/``load`` with a
``ServiceCall``; its returned mapping is merged into the case data. Each
operation is all-or-nothing: if a handler, a script or a condition fails, the
instance is rolled back to its state before the call and ``EngineError`` is
raised, so a crash in the middle of an automation never leaves half a step.
A handler may run again for the same ``ServiceCall.key`` after a crash between
its side effect and the caller's commit, so handlers must be idempotent.

Conditions, scripts and timer expressions run in dikom's safe expression
language (``expressions``), never in Python's ``eval``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, ServiceTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask as NoneTaskMixin
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import timers
from .checks import RENAMED_SUFFIX, ProcessReport, ProcessResolver, inspect
from .clock import current_time, use_time
from .expressions import ExpressionError, evaluate, execute, validate_expression
from .xmlsafe import BPMN_NS, DIKOM_NS, is_bpmn, local_name

STATE_FORMAT = "dikom-bpmn/1"

# SpiffWorkflow logs every task state change at INFO; keep that out of the
# platform's logs unless the deployment configures the "spiff" logger itself.
if logging.getLogger("spiff").level == logging.NOTSET:
    logging.getLogger("spiff").setLevel(logging.WARNING)
MAX_DATA_BYTES = 1024 * 1024
_DUE_LINE = re.compile(r"^\s*(?:due|frist)\s*:\s*(P\S+)\s*$", re.IGNORECASE | re.MULTILINE)


class EngineError(Exception):
    """An operation could not be carried out; the instance is unchanged.

    ``bpmn_id`` names the element that failed, when there is one.
    """

    def __init__(self, message: str, bpmn_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.bpmn_id = bpmn_id


class ProcessNotSupported(EngineError):
    """The file did not pass the import checks; ``report`` says why."""

    def __init__(self, report: ProcessReport) -> None:
        super().__init__("; ".join(str(f) for f in report.errors) or "The process cannot be run.")
        self.report = report


@dataclass(frozen=True)
class ServiceCall:
    """What a service task asks the automation for.

    ``key`` identifies this execution of the task: the n-th run of this
    element in this instance. Replaying the same stored state after a crash
    gives the same key, so handlers can use it to make side effects idempotent.
    """

    key: str
    bpmn_id: str
    name: str
    topic: str
    data: dict[str, Any]
    #: For business rule tasks (topic ``dmn:<decision>``): the case data name the decision's result goes to.
    result_variable: str = ""


ServiceHandler = Callable[[ServiceCall], Mapping[str, Any] | None]


@dataclass(frozen=True)
class UserTaskInfo:
    """A user task waiting for a person."""

    id: str
    bpmn_id: str
    name: str
    lane_id: str | None
    lane_name: str | None
    documentation: str
    ready_at: datetime
    due_at: datetime | None
    reminders: tuple[datetime, ...]
    data: dict[str, Any] = field(repr=False)
    #: A caseworker's choice at an exclusive gateway without conditions: the case data name to set, and the
    #: (value, label) pairs of the paths; ``complete_user_task`` refuses anything else.
    choice_variable: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    #: A message the case waits for (a message boundary event, the start of an event subprocess): the
    #: message's name. Completing the step delivers the message, with the entered data as its content.
    message: str = ""


@dataclass(frozen=True)
class TimerInfo:
    """A running timer (boundary, intermediate or start event)."""

    bpmn_id: str
    name: str
    due_at: datetime | None
    interrupting: bool
    attached_to: str | None


# -- SpiffWorkflow adapters -------------------------------------------------


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, backed by dikom's safe interpreter."""

    def evaluate(self, expression, context, external_context=None):
        variables = {**(external_context or {}), **context}
        return evaluate(expression, variables)

    def execute(self, script, context, external_context=None):
        execute(script, context, read_only=external_context or None)
        return True

    def call_service(self, context, **kwargs):
        raise ExpressionError("Service calls go through dikom's service handler")


class DikomScriptEngine(PythonScriptEngine):
    """Script engine holding the safe environment and the service handler (never serialized)."""

    def __init__(self, service_handler: ServiceHandler | None = None) -> None:
        super().__init__(environment=SafeEnvironment())
        self.service_handler = service_handler

    def validate(self, expression):
        validate_expression(expression)

    def run_service(self, task) -> bool:
        spec = task.task_spec
        info = getattr(spec, "extensions", {}).get("dikom", {})
        if self.service_handler is None:
            raise EngineError("No automation is configured for service tasks.", spec.bpmn_id)
        top = task.workflow.top_workflow
        # Deterministic: the same stored state replayed after a crash yields the same key.
        runs = len(top.get_tasks(state=TaskState.COMPLETED, spec_name=spec.name))
        call = ServiceCall(
            key=f"{top.task_tree.id}:{spec.bpmn_id}:{runs + 1}",
            bpmn_id=spec.bpmn_id,
            name=spec.bpmn_name or spec.bpmn_id,
            topic=info.get("topic") or spec.bpmn_id,
            data=copy.deepcopy(task.data),
            result_variable=info.get("result_variable", ""),
        )
        result = self.service_handler(call)
        if result is not None:
            if not isinstance(result, Mapping):
                raise EngineError("The automation returned something other than a mapping.", spec.bpmn_id)
            task.data.update(_checked_data(result))
        return True


class DikomServiceTask(ServiceTask):
    """A service task that hands over to the pluggable automation handler."""

    def _execute(self, task):
        return task.workflow.script_engine.run_service(task)


def _timer_expression_value(task, kind: str, expression: str) -> str:
    literal = timers.literal_value(kind, expression)
    if literal is not None:
        return literal
    value = task.workflow.script_engine.evaluate(task, expression)
    if not isinstance(value, str) or timers.literal_value(kind, value) is None:
        raise EngineError(f"Timer expression {expression!r} did not give an ISO 8601 value.", task.task_spec.bpmn_id)
    return value


class DikomTimeDateTimer(TimeDateEventDefinition):
    """A date timer that reads the engine's clock."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            text = _timer_expression_value(my_task, timers.DATE, self.expression)
            event_value = timers.parse_datetime(text).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if datetime.fromisoformat(event_value) <= current_time():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class DikomDurationTimer(DurationTimerEventDefinition):
    """A duration timer that reads the engine's clock and stores its due instant."""

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            text = _timer_expression_value(my_task, timers.DURATION, self.expression)
            event_value = timers.add_duration(current_time(), text).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if datetime.fromisoformat(event_value) <= current_time():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class DikomCycleTimer(CycleTimerEventDefinition):
    """A repeating timer (reminders) that reads the engine's clock."""

    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = current_time()
        if event_value is None:
            text = _timer_expression_value(my_task, timers.CYCLE, self.expression)
            cycles, start, interval = timers.parse_cycle(text, now)
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": interval.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                # One firing per call: a reminder missed twice while down is sent once, then the next.
                event_value["next"] = _next_after(next_event, event_value["duration"], now).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        if "event_fired" not in my_task.internal_data:
            my_task._set_internal_data(event_value=event_value)
        return ready


def _next_after(previous: datetime, seconds: float, now: datetime) -> datetime:
    from datetime import timedelta

    step = timedelta(seconds=seconds)
    if step.total_seconds() <= 0:
        return now + timedelta(days=1)
    skipped = max(0, math.floor((now - previous) / step))
    return previous + step * (skipped + 1)


_TIMER_CLASSES: dict[type, type] = {
    TimeDateEventDefinition: DikomTimeDateTimer,
    DurationTimerEventDefinition: DikomDurationTimer,
    CycleTimerEventDefinition: DikomCycleTimer,
}


class _Parser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = {full_tag("serviceTask"): (TaskParser, DikomServiceTask)}


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(DEFAULT_CONFIG)
    config[DikomServiceTask] = BpmnTaskSpecConverter
    for cls in (DikomTimeDateTimer, DikomDurationTimer, DikomCycleTimer):
        config[cls] = TimerConditionalEventDefinitionConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _serializer()


# -- data checks ------------------------------------------------------------


def _checked_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Case data must be plain JSON; ``typename`` keys are refused (SpiffWorkflow would revive them as objects)."""

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, str | int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise EngineError(f"{path}: numbers must be finite")
            return value
        if isinstance(value, list | tuple):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            result = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise EngineError(f"{path}: keys must be text")
                if key == "typename":
                    raise EngineError(f"{path}: the key 'typename' is reserved")
                result[key] = walk(item, f"{path}.{key}" if path else key)
            return result
        raise EngineError(f"{path or 'data'}: {type(value).__name__} is not JSON data")

    if not isinstance(data, Mapping):
        raise EngineError("Case data must be a mapping")
    checked = walk(dict(data), "")
    if len(json.dumps(checked)) > MAX_DATA_BYTES:
        raise EngineError("Case data is too large")
    return checked


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
        if node.get(f"{{{DIKOM_NS}}}interrupting") == "true":
            info["interrupting"] = True
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


def _diagram_id(bpmn_id: str | None) -> str | None:
    """The element of the drawn file: a caseworker's choice (added before its gateway) is shown as the gateway;
    an element renamed because SpiffWorkflow uses its id itself has its own id again."""
    return bpmn_id.removesuffix("__dikom_choice").removesuffix(RENAMED_SUFFIX) if bpmn_id else bpmn_id


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


def _instance_items_stay_local(task_spec) -> None:
    """A repeated activity without an output collection: SpiffWorkflow merges each instance's data into the
    activity, input item included, and then refuses to start the next sequential instance ("input item already
    exists"). The item belongs to its instance: it is not merged (each instance gets its own)."""
    if getattr(task_spec, "input_item", None) is None or getattr(task_spec, "data_output", None) is not None:
        return
    if "merge_child" in vars(task_spec):
        return
    original = task_spec.merge_child
    item = task_spec.input_item.bpmn_id

    def merge_child(workflow, child) -> None:
        child.data.pop(item, None)  # before the merge: a sequential activity starts the next instance in it
        original(workflow, child)

    task_spec.merge_child = merge_child


def _adapt_spec(process_spec, settings: dict[str, dict[str, Any]]) -> None:
    for task_spec in process_spec.task_specs.values():
        _instance_items_stay_local(task_spec)
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


# -- instance ---------------------------------------------------------------


def _info(spec) -> dict[str, Any]:
    return (getattr(spec, "extensions", None) or {}).get("dikom", {})


class ProcessInstance:
    """One running process (one case). Not thread-safe; load, change, dump."""

    def __init__(self, workflow: BpmnWorkflow, engine: DikomScriptEngine) -> None:
        self._workflow = workflow
        self._engine = engine
        self._running: str | None = None  # bpmn id of the automatic step being run, for error messages

    # persistence
    def dump(self) -> dict[str, Any]:
        """The full state as a JSON-compatible dict (stable: ``load(dump()).dump() == dump()``)."""
        text = _SERIALIZER.serialize_json(self._workflow)
        return {"format": STATE_FORMAT, "workflow": json.loads(text)}

    @classmethod
    def load(cls, state: Mapping[str, Any] | str, service_handler: ServiceHandler | None = None) -> ProcessInstance:
        """Restore an instance from ``dump()`` output (a dict, or its JSON text)."""
        if isinstance(state, str):
            state = json.loads(state)
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            raise EngineError("This is not a stored dikom process state.")
        engine = DikomScriptEngine(service_handler)
        try:
            workflow = _SERIALIZER.deserialize_json(json.dumps(state["workflow"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineError(f"The stored process state is damaged: {exc}") from None
        workflow.script_engine = engine
        # The serializer does not keep ``manual``: plain tasks pass through after a load too.
        for process_spec in [workflow.spec, *workflow.subprocess_specs.values()]:
            for task_spec in process_spec.task_specs.values():
                if isinstance(task_spec, NoneTaskMixin):
                    task_spec.manual = False
                _instance_items_stay_local(task_spec)
        return cls(workflow, engine)

    def set_service_handler(self, handler: ServiceHandler | None) -> None:
        self._engine.service_handler = handler

    # queries
    @property
    def is_completed(self) -> bool:
        return bool(self._workflow.completed)

    @property
    def data(self) -> dict[str, Any]:
        """The case data as the process sees it now (merged over finished branches)."""
        if self._workflow.completed:
            return copy.deepcopy(self._workflow.data)
        merged: dict[str, Any] = {}
        for task in self._workflow.get_tasks(state=TaskState.COMPLETED):
            merged.update(task.data)
        for task in self._workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            merged.update(task.data)
        return copy.deepcopy(merged)

    def ready_user_tasks(self) -> list[UserTaskInfo]:
        """User (and manual) tasks waiting for a person, oldest first."""
        result = []
        for task in self._workflow.get_tasks(state=TaskState.READY, manual=True):
            spec = task.task_spec
            info = _info(spec)
            ready_at = datetime.fromisoformat(task._get_internal_data("dikom_ready_at") or current_time().isoformat())
            due_at, reminders = self._deadlines(task, ready_at, info)
            result.append(
                UserTaskInfo(
                    id=str(task.id),
                    bpmn_id=spec.bpmn_id.removesuffix(RENAMED_SUFFIX),
                    name=spec.bpmn_name or spec.bpmn_id,
                    lane_id=info.get("lane_id"),
                    lane_name=info.get("lane_name") or spec.lane,
                    documentation=spec.documentation or "",
                    ready_at=ready_at,
                    due_at=due_at,
                    reminders=reminders,
                    data=copy.deepcopy(task.data),
                    choice_variable=info.get("choice_variable", ""),
                    choices=tuple((v, label) for v, label in info.get("choices", [])),
                )
            )
        offers = [(str(task.id), task.task_spec, task) for task in self._message_waits()]
        offers += [(key, spec, None) for key, (_workflow, _name, spec) in self._message_starts().items()]
        stamps = self._workflow.task_tree.internal_data.get("dikom_message_ready", {})
        for key, spec, task in offers:
            info = _info(spec)
            stamp = task._get_internal_data("dikom_ready_at") if task is not None else stamps.get(key)
            ready_at = datetime.fromisoformat(stamp or current_time().isoformat())
            message = str(spec.event_definition.name or spec.bpmn_name or spec.bpmn_id)
            result.append(
                UserTaskInfo(
                    id=key,
                    bpmn_id=spec.bpmn_id.removesuffix(RENAMED_SUFFIX),
                    name=info.get("message_step") or spec.bpmn_name or message,
                    lane_id=info.get("lane_id"),
                    lane_name=info.get("lane_name") or spec.lane,
                    documentation=spec.documentation or "",
                    ready_at=ready_at,
                    due_at=None,
                    reminders=(),
                    data=copy.deepcopy(task.data) if task is not None else {},
                    message=message,
                )
            )
        return sorted(result, key=lambda t: (t.ready_at, t.bpmn_id))

    def _message_starts(self) -> dict[str, tuple[Any, str, Any]]:
        """Event subprocesses a message starts, of the process and of every running (called) subprocess:
        step id → (workflow, event subprocess spec name, start event spec). SpiffWorkflow keeps them as triggers
        of the workflow's start, not as waiting tasks; the step id is stable across ``dump``/``load``."""
        top = self._workflow
        if top.completed:
            return {}
        offers: dict[str, tuple[Any, str, Any]] = {}
        for workflow in [top, *top.get_active_subprocesses()]:
            if workflow.task_tree.internal_data.get("dikom_interrupted"):
                continue
            start = workflow.spec.start
            for name in getattr(start, "trigger_specs", []):
                sp_spec = top.subprocess_specs.get(name)
                for spec in getattr(sp_spec, "bpmn_start_events", []) if sp_spec is not None else []:
                    if not isinstance(getattr(spec, "event_definition", None), MessageEventDefinition):
                        continue
                    owner = "top" if workflow is top else str(workflow.parent_task_id)
                    digest = hashlib.sha256(f"{owner}:{name}:{spec.bpmn_id}".encode()).hexdigest()[:32]
                    offers[f"message-{digest}"] = (workflow, name, spec)
        return offers

    def _message_waits(self) -> list:
        """Waiting catch events for messages from outside (boundary events, event subprocess starts)."""
        return [
            task
            for task in self._workflow.get_tasks(state=TaskState.WAITING)
            if isinstance(task.task_spec, CatchingEvent)
            and isinstance(getattr(task.task_spec, "event_definition", None), MessageEventDefinition)
        ]

    def waiting_timers(self) -> list[TimerInfo]:
        """Timers that have started and not fired, with their due instants."""
        result = []
        for task in self._workflow.get_tasks(state=TaskState.WAITING):
            spec = task.task_spec
            if not isinstance(spec, CatchingEvent) or not isinstance(spec.event_definition, TimerEventDefinition):
                continue
            attached = None
            if isinstance(spec, BoundaryEvent) and task.parent is not None:
                attached = next(
                    (c.task_spec.bpmn_id for c in task.parent.children if not isinstance(c.task_spec, BoundaryEvent)),
                    None,
                )
            result.append(
                TimerInfo(
                    bpmn_id=spec.bpmn_id.removesuffix(RENAMED_SUFFIX),
                    name=spec.bpmn_name or spec.bpmn_id,
                    due_at=_timer_due(task),
                    interrupting=bool(getattr(spec, "cancel_activity", True)),
                    attached_to=attached,
                )
            )
        return result

    def next_timer_due(self) -> datetime | None:
        """When the next timer fires (to schedule the next ``fire_due_timers`` call)."""
        dues = [t.due_at for t in self.waiting_timers() if t.due_at is not None]
        return min(dues) if dues else None

    def active_element_ids(self) -> list[str]:
        """BPMN ids of elements where the process currently is (for the diagram)."""
        ids: list[str] = []
        for task in self._workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            bpmn_id = _diagram_id(getattr(task.task_spec, "bpmn_id", None))
            if bpmn_id and bpmn_id not in ids:
                ids.append(bpmn_id)
        return ids

    def completed_element_ids(self) -> list[str]:
        """BPMN ids of elements that have been completed at least once."""
        ids: list[str] = []
        for task in self._workflow.get_tasks(state=TaskState.COMPLETED):
            bpmn_id = _diagram_id(getattr(task.task_spec, "bpmn_id", None))
            if bpmn_id and bpmn_id not in ids:
                ids.append(bpmn_id)
        return ids

    # changes
    def complete_user_task(
        self, task_id: str | UUID, data: Mapping[str, Any] | None = None, now: datetime | None = None
    ) -> None:
        """Complete a ready user task with the data the person entered, then run on."""
        checked = _checked_data(data or {})
        if str(task_id).startswith("message-"):
            key = str(task_id)
            with use_time(now):
                self._guarded(lambda: self._start_by_message(key, checked))
            return
        try:
            uuid = task_id if isinstance(task_id, UUID) else UUID(str(task_id))
        except ValueError:
            raise EngineError("Unknown task.") from None

        def step() -> None:
            task = self._workflow.get_task_from_id(uuid)
            if task is not None and any(task is waiting for waiting in self._message_waits()):
                # The message has arrived: deliver it (with the entered data as its content) to the waiting event.
                definition = task.task_spec.event_definition
                task.workflow.top_workflow.catch(BpmnEvent(definition, payload=copy.deepcopy(checked)))
                self._advance()
                return
            if task is None or not task.task_spec.manual:
                raise EngineError("Unknown task.")
            if task.state != TaskState.READY:
                raise EngineError("This task is not waiting for input.", task.task_spec.bpmn_id)
            info = _info(task.task_spec)
            variable = info.get("choice_variable")
            if variable and checked.get(variable) not in {v for v, _label in info.get("choices", [])}:
                raise EngineError(
                    f"Choose one of the paths: {', '.join(label for _v, label in info.get('choices', []))}.",
                    task.task_spec.bpmn_id,
                )
            task.data.update(copy.deepcopy(checked))
            _fill_output_item(task, checked)
            task.run()
            self._advance()

        with use_time(now):
            self._guarded(step)

    def receive_message(self, message: str, data: Mapping[str, Any] | None = None, now: datetime | None = None) -> bool:
        """A message from outside arrived (a platform event: a citizen's reply, a payment, a webhook): complete the
        oldest step waiting for a message of that name. Returns False when the case waits for no such message."""
        waiting = next((t for t in self.ready_user_tasks() if t.message and t.message == message), None)
        if waiting is None:
            return False
        self.complete_user_task(waiting.id, data, now=now)
        return True

    def run(self, now: datetime | None = None) -> None:
        """Fire due timers and run automatic steps (service, script tasks, gateways)."""
        with use_time(now):
            self._guarded(self._advance)

    def fire_due_timers(self, now: datetime | None = None) -> list[str]:
        """Fire every timer due at ``now`` and run on; returns the BPMN ids of the timers that fired."""
        before = {
            (str(t.id)): t.task_spec.bpmn_id
            for t in self._workflow.get_tasks(state=TaskState.WAITING)
            if isinstance(t.task_spec, CatchingEvent)
        }
        before_cycles = {str(t.id): len(t.children) for t in self._workflow.get_tasks(state=TaskState.WAITING)}
        with use_time(now):
            self._guarded(self._advance)
        fired = []
        for task in self._workflow.get_tasks():
            key = str(task.id)
            if key in before and (task.state != TaskState.WAITING or len(task.children) > before_cycles.get(key, 0)):
                fired.append(before[key])
        return fired

    def _start_by_message(self, key: str, payload: dict[str, Any]) -> None:
        """A message arrived that starts an event subprocess: start it (SpiffWorkflow does this itself only for
        the event subprocesses of the top process) and hand it the message."""
        offer = self._message_starts().get(key)
        if offer is None:
            raise EngineError("Unknown task.")
        workflow, name, spec = offer
        event = BpmnEvent(spec.event_definition, payload=copy.deepcopy(payload))
        started = workflow.spec.start.trigger_wf(workflow.task_tree, name)
        if _info(spec).get("interrupting"):
            # An interrupting event subprocess ends everything else its (sub)process is doing, and no other
            # event subprocess of it starts any more (SpiffWorkflow does not do this itself).
            _cancel_all_but(workflow.task_tree, started)
            workflow.task_tree.internal_data["dikom_interrupted"] = True
        self._workflow.do_engine_steps()  # the event subprocess starts and its start event waits
        self._workflow.catch(event)
        self._advance()

    # internals
    def _advance(self) -> None:
        workflow = self._workflow
        for _round in range(100):
            workflow.refresh_timers()
            workflow.do_engine_steps(will_complete_task=self._note_running)
            if not workflow.get_tasks(state=TaskState.READY, manual=False):
                break
        if not workflow.completed and workflow.is_completed():
            # Ended without reaching its end event: an interrupting event subprocess ended the rest. The case
            # data is what the finished branches left.
            for task in workflow.get_tasks(state=TaskState.COMPLETED):
                workflow.data.update(task.data)
        now_text = current_time().isoformat()
        for task in [*workflow.get_tasks(state=TaskState.READY, manual=True), *self._message_waits()]:
            if task._get_internal_data("dikom_ready_at") is None:
                task._set_internal_data(dikom_ready_at=now_text)
        offers = self._message_starts()
        known = workflow.task_tree.internal_data.get("dikom_message_ready", {})
        stamps = {key: known.get(key, now_text) for key in offers}
        if stamps or known:
            workflow.task_tree.internal_data["dikom_message_ready"] = stamps

    def _note_running(self, task) -> None:
        self._running = getattr(task.task_spec, "bpmn_id", None)
        _fill_output_item(task, {})

    def _guarded(self, operation: Callable[[], None]) -> None:
        snapshot = _SERIALIZER.serialize_json(self._workflow)
        self._running = None
        try:
            operation()
        except Exception as exc:
            restored = _SERIALIZER.deserialize_json(snapshot)
            restored.script_engine = self._engine
            self._workflow = restored
            error = exc if isinstance(exc, EngineError) else _engine_error(exc)
            if error.bpmn_id is None:
                error.bpmn_id = self._running
            if error is exc:
                raise
            raise error from exc

    def _deadlines(
        self, task, ready_at: datetime, info: Mapping[str, Any]
    ) -> tuple[datetime | None, tuple[datetime, ...]]:
        interrupting: list[datetime] = []
        reminders: list[datetime] = []
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
            for sibling in parent.children:
                spec = sibling.task_spec
                if sibling is task or not isinstance(spec, BoundaryEvent):
                    continue
                if not isinstance(spec.event_definition, TimerEventDefinition):
                    continue
                due = _timer_due(sibling)
                if due is None:
                    continue
                (interrupting if spec.cancel_activity else reminders).append(due)
        if info.get("due_in"):
            due_at: datetime | None = timers.add_duration(ready_at, info["due_in"])
        else:
            due_at = min(interrupting) if interrupting else None
        return due_at, tuple(sorted(reminders))


def _cancel_all_but(task, keep) -> None:
    """Cancel every unfinished task below ``task`` except the branch starting at the task with id ``keep``."""
    for child in list(task.children):
        if child.id == keep:
            continue
        if child.has_state(TaskState.FINISHED_MASK):
            _cancel_all_but(child, keep)
        else:
            child.cancel()


def _fill_output_item(task, entered: Mapping[str, Any]) -> None:
    """An instance of a multi-instance activity with an output collection contributes its output item.

    Models name the item (``outputDataItem``) but nobody sets it: a person enters data, an automation
    answers. Unless the instance set it itself, the item is what was entered for it, else its input item
    (so the collection has one entry per instance, as BPMN defines, and the activity completes).
    """
    parent = task.parent
    spec = getattr(parent, "task_spec", None)
    output = getattr(spec, "output_item", None)
    if output is None or getattr(spec, "data_output", None) is None or output.bpmn_id in task.data:
        return
    if entered:
        value: Any = copy.deepcopy(dict(entered))
    else:
        input_item = getattr(spec, "input_item", None)
        value = copy.deepcopy(task.data.get(input_item.bpmn_id)) if input_item is not None else None
    task.data[output.bpmn_id] = value


def _timer_due(task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        value = value.get("next") if value.get("cycles") != 0 else None
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _engine_error(exc: BaseException) -> EngineError:
    bpmn_id = None
    task = getattr(exc, "task", None)
    if task is not None:
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
    cause: BaseException = exc
    inner = getattr(cause, "exception", None)
    while isinstance(inner, BaseException) and inner is not cause:  # SpiffWorkflow wraps errors
        cause, inner = inner, getattr(inner, "exception", None)
    if isinstance(cause, EngineError):
        return EngineError(cause.message, cause.bpmn_id or bpmn_id)
    if isinstance(cause, ExpressionError):
        return EngineError(f"Expression failed: {cause.message}", bpmn_id)
    if isinstance(exc, SpiffWorkflowException):
        return EngineError(f"The process failed: {exc}", bpmn_id)
    return EngineError(f"The process failed: {type(exc).__name__}: {exc}", bpmn_id)


__all__ = [
    "BPMN_NS",
    "EngineError",
    "ProcessDefinition",
    "ProcessInstance",
    "ProcessNotSupported",
    "ServiceCall",
    "ServiceHandler",
    "TimerInfo",
    "UserTaskInfo",
]
