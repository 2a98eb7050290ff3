"""Adapters of SpiffWorkflow: the safe script engine, service tasks, timers, parser and serializer."""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
    StartEventParser,
)
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnTaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, ServiceTask, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from .. import timers
from ..checks import RENAMED_SUFFIX
from ..clock import current_time
from ..cron import CronExpression, looks_like_cron
from ..expressions import ExpressionError, evaluate, execute, validate_expression
from .base import (
    EngineError,
    ServiceCall,
    ServiceHandler,
    _checked_data,
)

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
        #: event subprocesses an error or escalation starts, not yet started: (workflow, spec name, start spec,
        #: event). Only within one operation (``ProcessInstance._run_steps`` starts them), never stored.
        self.pending_starts: list[tuple[Any, str, Any, BpmnEvent]] = []

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
    """A repeating timer (reminders) that reads the engine's clock.

    A cron expression (``cron``) as its cycle fires at its next occurrence; only a non-interrupting boundary timer
    repeats (every occurrence after the one before, a missed one once). Elsewhere (a start event, an
    intermediate event, an interrupting boundary event) it fires once, at the next occurrence.
    """

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_fired", False):
            return True
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = self._first_value(my_task)
            my_task._set_internal_data(event_value=event_value)
        if event_value.get("once") and datetime.fromisoformat(event_value["next"]) <= current_time():
            my_task._set_internal_data(event_fired=True)
            if not my_task.children:
                # SpiffWorkflow predicts no path after a cycle timer (each firing adds one); this one fires once.
                for output in my_task.task_spec.outputs:
                    child = my_task._add_child(output, TaskState.FUTURE)
                    child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
            return True
        return False

    def update_task(self, my_task):
        event_value = my_task._get_internal_data("event_value") or {}
        if not event_value.get("once"):
            super().update_task(my_task)

    def _first_value(self, my_task) -> dict[str, Any]:
        now = current_time()
        text = _timer_expression_value(my_task, timers.CYCLE, self.expression)
        if looks_like_cron(text):
            spec = my_task.task_spec
            repeats = isinstance(spec, BoundaryEvent) and not spec.cancel_activity
            return {
                "cycles": -1 if repeats else 1,
                "next": _cron_next(text, now, spec.bpmn_id).isoformat(),
                "cron": text,
                **({} if repeats else {"once": True}),
            }
        cycles, start, interval = timers.parse_cycle(text, now)
        return {"cycles": cycles, "next": start.isoformat(), "duration": interval.total_seconds()}

    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = current_time()
        if event_value is None:
            event_value = self._first_value(my_task)
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                # One firing per call: a reminder missed twice while down is sent once, then the next.
                if event_value.get("cron"):
                    following = _cron_next(event_value["cron"], now, my_task.task_spec.bpmn_id)
                else:
                    following = _next_after(next_event, event_value["duration"], now)
                event_value["next"] = following.isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        if "event_fired" not in my_task.internal_data:
            my_task._set_internal_data(event_value=event_value)
        return ready


def _cron_next(text: str, now: datetime, bpmn_id: str) -> datetime:
    following = CronExpression.parse(text).next_after(now)
    if following is None:
        raise EngineError(f"The timer's cron expression {text!r} does not occur any more.", bpmn_id)
    return following


def _next_after(previous: datetime, seconds: float, now: datetime) -> datetime:
    from datetime import timedelta

    step = timedelta(seconds=seconds)
    if step.total_seconds() <= 0:
        return now + timedelta(days=1)
    skipped = max(0, math.floor((now - previous) / step))
    return previous + step * (skipped + 1)


def case_view(my_task) -> dict[str, Any]:
    """The case's data as a waiting event of ``my_task``'s process sees it now: its own data, then what every
    finished step of that process changed and what was set from outside (``ProcessInstance.set_data``), the
    latest change last. SpiffWorkflow gives each branch its own copy of the data; a condition reads the latest
    value whichever branch set it."""
    workflow = my_task.workflow
    changes: list[tuple[float, dict[str, Any]]] = []
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        if task.workflow is not workflow:
            continue
        parent = task.parent.data if task.parent is not None else {}
        delta = {k: v for k, v in task.data.items() if k not in parent or parent[k] != v}
        if delta:
            changes.append((task.last_state_change, delta))
    for stamp, values in workflow.top_workflow.task_tree.internal_data.get("dikom_data_set", []):
        changes.append((stamp, values))
    view = dict(my_task.data)
    for _stamp, delta in sorted(changes, key=lambda change: change[0]):
        view.update(delta)
    return view


class DikomConditionalEvent(ConditionalEventDefinition):
    """A conditional event: it occurs once its condition holds on the case's data (``case_view``); checked when
    the event is reached and whenever the data changes (``ProcessInstance._advance``)."""

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_fired", False):
            return True
        try:
            holds = evaluate(self.expression, case_view(my_task))
        except ExpressionError as exc:
            if exc.message.startswith("Unknown name"):
                return False  # the data it reads has not been set yet
            raise
        if holds:
            my_task._set_internal_data(event_fired=True)
            return True
        return False


_TIMER_CLASSES: dict[type, type] = {
    TimeDateEventDefinition: DikomTimeDateTimer,
    DurationTimerEventDefinition: DikomDurationTimer,
    CycleTimerEventDefinition: DikomCycleTimer,
}


class _StartEventParser(StartEventParser):
    """Start events as SpiffWorkflow parses them, and also error and escalation start events of event
    subprocesses (SpiffWorkflow would read them as plain start events and start the subprocess at once)."""

    def create_task(self):
        event_definition = self.get_event_definition(
            [
                MESSAGE_EVENT_XPATH,
                SIGNAL_EVENT_XPATH,
                TIMER_EVENT_XPATH,
                CONDITIONAL_EVENT_XPATH,
                ERROR_EVENT_XPATH,
                ESCALATION_EVENT_XPATH,
            ]
        )
        task = self._create_task(event_definition)
        self.spec.start.connect(task)
        return task


class _Parser(BpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        full_tag("serviceTask"): (TaskParser, DikomServiceTask),
        full_tag("startEvent"): (_StartEventParser, StartEvent),
    }


# -- errors and escalations that start event subprocesses ----------------------


def _caught_on_the_way(top, workflow, event: BpmnEvent) -> bool:
    """Whether a waiting event (a boundary event) of ``workflow`` or of a process above it catches ``event``, as
    SpiffWorkflow looks for one."""
    level = workflow
    while level is not None:
        for task in list(top.event_manager.tasks.values()):
            if task.workflow is level and task.task_spec.event_definition.catches(task, event):
                return True
        level = level.parent_workflow
    return False


def _event_subprocess_for(top, workflow, event: BpmnEvent):
    """The innermost event subprocess, of ``workflow`` or a process above it, whose start event catches ``event``:
    (its process, spec name, start spec), or None."""
    level = workflow
    while level is not None:
        if not level.task_tree.internal_data.get("dikom_interrupted"):
            for name in getattr(level.spec.start, "trigger_specs", []):
                sp_spec = top.subprocess_specs.get(name)
                for start in getattr(sp_spec, "bpmn_start_events", []) if sp_spec is not None else []:
                    if start.event_definition == event.event_definition:
                        return level, name, start
        level = level.parent_workflow
    return None


def _throw_code_event(definition, my_task) -> None:
    """Throw an error or escalation: to a boundary event that waits for it (SpiffWorkflow's own handling), else to
    an event subprocess whose start event catches it (started by ``ProcessInstance`` right after this step, so
    an interrupting one ends the rest before anything else runs)."""
    event = BpmnEvent(definition, payload=copy.deepcopy(my_task.data), target=my_task.workflow)
    top = my_task.workflow.top_workflow
    engine = top.script_engine
    if isinstance(engine, DikomScriptEngine) and not _caught_on_the_way(top, my_task.workflow, event):
        found = _event_subprocess_for(top, my_task.workflow, event)
        if found is not None:
            engine.pending_starts.append((*found, event))
            return
    top.catch(event)


def _throw_signal(definition, my_task) -> None:
    """Throw a signal: every waiting event that catches it occurs (catch and boundary events), and the event
    subprocesses of the process and of every running subprocess whose start event catches it start (by
    ``ProcessInstance`` right after this step, so an interrupting one ends the rest before anything else runs;
    SpiffWorkflow itself starts only those of the top process and never interrupts)."""
    payload = copy.deepcopy(my_task.data)
    event = BpmnEvent(definition, payload=payload)
    top = my_task.workflow.top_workflow
    engine = top.script_engine
    if not isinstance(engine, DikomScriptEngine):
        top.catch(event)
        return
    for level in [top, *top.get_active_subprocesses()]:
        if level.task_tree.internal_data.get("dikom_interrupted"):
            continue
        for name in getattr(level.spec.start, "trigger_specs", []):
            sp_spec = top.subprocess_specs.get(name)
            for start in getattr(sp_spec, "bpmn_start_events", []) if sp_spec is not None else []:
                if start.event_definition == definition:
                    engine.pending_starts.append(
                        (level, name, start, BpmnEvent(definition, payload=copy.deepcopy(payload)))
                    )
    for task in list(top.event_manager.tasks.values()):
        if task.task_spec.catches(task, event):
            task.task_spec.catch(task, event)
            task.task_spec._update(task)


def _route_code_events(task_spec) -> None:
    """Errors and escalations thrown by ``task_spec`` also reach event subprocesses (``_throw_code_event``), and
    signals those of subprocesses too (``_throw_signal``)."""
    definition = getattr(task_spec, "event_definition", None)
    if not isinstance(task_spec, ThrowingEvent) or "throw" in getattr(definition, "__dict__", {}):
        return
    if isinstance(definition, ErrorEventDefinition | EscalationEventDefinition):
        definition.throw = functools.partial(_throw_code_event, definition)
    elif isinstance(definition, SignalEventDefinition):
        definition.throw = functools.partial(_throw_signal, definition)


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(DEFAULT_CONFIG)
    config[DikomServiceTask] = BpmnTaskSpecConverter
    for cls in (DikomTimeDateTimer, DikomDurationTimer, DikomCycleTimer, DikomConditionalEvent):
        config[cls] = TimerConditionalEventDefinitionConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


_SERIALIZER = _serializer()


def _diagram_id(bpmn_id: str | None) -> str | None:
    """The element of the drawn file: a caseworker's choice (added before its gateway) is shown as the gateway;
    an element renamed because SpiffWorkflow uses its id itself has its own id again."""
    return bpmn_id.removesuffix("__dikom_choice").removesuffix(RENAMED_SUFFIX) if bpmn_id else bpmn_id


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
