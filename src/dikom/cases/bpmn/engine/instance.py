"""A running process (``ProcessInstance``): its state, user tasks, messages and timers."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask as NoneTaskMixin
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from .. import timers
from ..checks import RENAMED_SUFFIX
from ..clock import current_time, use_time
from ..expressions import ExpressionError
from . import event_starts
from .base import (
    STATE_FORMAT,
    EngineError,
    ServiceHandler,
    TimerInfo,
    UserTaskInfo,
    _checked_data,
)
from .spiff import (
    _SERIALIZER,
    DikomScriptEngine,
    _diagram_id,
    _instance_items_stay_local,
    _route_code_events,
)

# -- instance ---------------------------------------------------------------


class _Interrupted(Exception):
    """An error or escalation is to start an event subprocess: no further step runs before it has started."""


def _readapt(workflow: BpmnWorkflow) -> None:
    """What the serializer does not keep of ``definition._adapt_spec``: plain tasks pass through, instance items
    stay local, errors and escalations reach event subprocesses."""
    for process_spec in [workflow.spec, *workflow.subprocess_specs.values()]:
        for task_spec in process_spec.task_specs.values():
            if isinstance(task_spec, NoneTaskMixin):
                task_spec.manual = False
            _instance_items_stay_local(task_spec)
            _route_code_events(task_spec)


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
        _readapt(workflow)
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
            if info.get("event_gateway"):
                continue  # the events after the gateway are offered (messages) or run (timers, signals)
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
                    interrupting=(
                        event_starts.is_interrupting(spec)
                        if isinstance(spec, StartEvent) and task.workflow is not self._workflow
                        else bool(getattr(spec, "cancel_activity", True))
                    ),
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
            if task is None or not task.task_spec.manual or _info(task.task_spec).get("event_gateway"):
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
        waiting = self.waiting_for(message)
        if waiting is None:
            return False
        self.complete_user_task(waiting, data, now=now)
        return True

    def waiting_for(self, message: str) -> str | None:
        """The id of the oldest step waiting for the message ``message``: a message boundary event or event
        subprocess start, or a receive task / catch event that the import mapped to a platform event
        (``dikom:awaits``, see ``platform_events``); None when the case waits for no such message."""
        awaiting = {
            str(task.id)
            for task in self._workflow.get_tasks(state=TaskState.READY, manual=True)
            if _info(task.task_spec).get("awaits") == message
        }
        return next(
            (t.id for t in self.ready_user_tasks() if (t.message and t.message == message) or t.id in awaiting), None
        )

    def awaited_messages(self) -> list[tuple[str, str]]:
        """(message name, platform event or "") of every step that can wait for a message from outside, in the
        process and in every process it runs (embedded, or called from the library at any depth): read from the
        stored process, so also for called processes whose file is not the case's."""
        found: list[tuple[str, str]] = []
        for process_spec in [self._workflow.spec, *self._workflow.subprocess_specs.values()]:
            for spec in process_spec.task_specs.values():
                info = _info(spec)
                definition = getattr(spec, "event_definition", None)
                if isinstance(spec, CatchingEvent) and isinstance(definition, MessageEventDefinition):
                    name = str(definition.name or "")
                else:
                    name = str(info.get("awaits") or "")
                pair = (name, str(info.get("platform_event") or ""))
                if name and pair not in found:
                    found.append(pair)
        return found

    def waiting_conditions(self) -> list[str]:
        """BPMN ids of the conditional events waiting for their condition to hold (also the conditional start
        events of event subprocesses, until their condition comes to hold)."""
        ids = [task.task_spec.bpmn_id.removesuffix(RENAMED_SUFFIX) for task in self._conditional_waits()]
        for start in event_starts.armed_conditional_starts(self._workflow):
            bpmn_id = start.bpmn_id.removesuffix(RENAMED_SUFFIX)
            if bpmn_id not in ids:
                ids.append(bpmn_id)
        return ids

    def set_data(self, values: Mapping[str, Any], now: datetime | None = None) -> None:
        """Data set from outside the steps (an automation rule): the steps waiting now carry it on, conditional
        events read it, and the case runs on (a conditional event whose condition now holds occurs)."""
        checked = _checked_data(values)

        def step() -> None:
            workflow = self._workflow
            for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
                task.data.update(copy.deepcopy(checked))
            changes = workflow.task_tree.internal_data.setdefault("dikom_data_set", [])
            changes.append([time.time(), copy.deepcopy(checked)])
            self._advance()

        with use_time(now):
            self._guarded(step)

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
            and isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
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
            event_starts.interrupt(workflow, started)
        self._run_steps()  # the event subprocess starts and its start event waits
        self._workflow.catch(event)
        self._advance()

    def _run_steps(self) -> None:
        """SpiffWorkflow's automatic steps; after a step that threw an error or escalation to an event
        subprocess, that subprocess starts (an interrupting one ends everything else its process does) and then
        the steps go on."""
        workflow = self._workflow
        pending = self._engine.pending_starts
        interrupts: list[tuple[Any, Any]] = []

        def stop_if_thrown(task) -> None:
            fired = event_starts.timer_start_fired(task)
            if fired is not None:
                interrupts.append(fired)  # an interrupting timer start: the rest of its process ends first
            if pending or interrupts:
                raise _Interrupted

        def will_run(task) -> None:
            self._note_running(task)
            event_starts.prepare_timer_start(task)

        for _round in range(100):
            with contextlib.suppress(_Interrupted):
                workflow.do_engine_steps(will_complete_task=will_run, did_complete_task=stop_if_thrown)
            if not pending and not interrupts:
                return
            while interrupts:
                level, keep = interrupts.pop(0)
                if not level.task_tree.internal_data.get("dikom_interrupted"):
                    event_starts.interrupt(level, keep)
            while pending:
                level, name, start, event = pending.pop(0)
                if level.task_tree.internal_data.get("dikom_interrupted"):
                    continue
                subprocess = event_starts.start_event_subprocess(workflow, level, name, start)
                workflow.do_engine_steps(will_complete_task=self._note_running)  # its start event waits
                event.target = subprocess if subprocess is not None else level
                workflow.catch(event)

    # internals
    def _conditional_waits(self) -> list:
        return [
            task
            for task in self._workflow.get_tasks(state=TaskState.WAITING)
            if isinstance(task.task_spec, CatchingEvent)
            and isinstance(getattr(task.task_spec, "event_definition", None), ConditionalEventDefinition)
        ]

    def _refresh_conditions(self) -> None:
        """The case's data may have changed: conditional events whose condition now holds occur (SpiffWorkflow
        checks a condition only when its event is reached), and event subprocesses whose conditional start
        event's condition has come to hold start."""
        for task in self._conditional_waits():
            if task.state == TaskState.WAITING:  # an earlier one may have interrupted it
                self._running = getattr(task.task_spec, "bpmn_id", None)
                task.task_spec._update(task)
        top = self._workflow
        self._running = None
        for level, name, start in event_starts.conditional_starts(top):
            if level.task_tree.internal_data.get("dikom_interrupted"):
                continue  # an interrupting one that came to hold at the same time came first
            self._running = start.bpmn_id
            event_starts.start_event_subprocess(top, level, name, start, fire=True)

    def _advance(self) -> None:
        workflow = self._workflow
        for _round in range(100):
            workflow.refresh_timers()
            self._refresh_conditions()
            self._run_steps()
            _end_interrupted_subprocesses(workflow)
            if event_starts.end_idle_event_subprocesses(workflow):
                self._run_steps()
                _end_interrupted_subprocesses(workflow)
            self._refresh_conditions()
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
            self._engine.pending_starts.clear()
            restored = _SERIALIZER.deserialize_json(snapshot)
            restored.script_engine = self._engine
            _readapt(restored)
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


def _end_interrupted_subprocesses(top: BpmnWorkflow) -> None:
    """A (called or embedded) subprocess whose interrupting event subprocess has ended has nothing left to do,
    but never reached its end event: it ends, and the activity that runs it goes on (SpiffWorkflow does this
    only when the end event is reached)."""
    for subprocess in list(top.subprocesses.values()):
        if subprocess.completed or not subprocess.task_tree.internal_data.get("dikom_interrupted"):
            continue
        if subprocess.is_completed():  # no unfinished task left; marks it completed
            subprocess.completed_event(subprocess)


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
