"""Event subprocesses started by a timer, a signal or a condition, and what SpiffWorkflow 3.2 leaves to dikom.

SpiffWorkflow starts an event subprocess with a timer start event together with its (sub)process (the start
event then waits for its timer); one started by a signal only for the top process, and one started by a
condition never; and it interrupts nothing. Here:

* ``levels``: the processes whose event subprocesses may start now (the top process and every running
  subprocess, unless an interrupting event subprocess has already ended the rest of it);
* ``start_event_subprocess``: start one, with the case data as its process sees it now; an interrupting one
  ends everything else its process does (``cancel_all_but``);
* ``conditional_starts``: the conditional start events whose condition has come to hold (false → true) since
  it was last checked (edge-triggered; a condition that holds when its process starts counts as an edge);
* ``timer_start_fired``: a timer start event that has just fired and is interrupting;
* ``end_idle_event_subprocesses``: a process whose own flow has ended no longer waits for the timers of event
  subprocesses that have not started (BPMN: an event subprocess that has not started holds nothing up).
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState

from ..expressions import ExpressionError, evaluate
from .spiff import case_view

_INTERRUPTED = "dikom_interrupted"
_CONDITIONS = "dikom_condition_starts"


def _info(spec) -> dict[str, Any]:
    return (getattr(spec, "extensions", None) or {}).get("dikom", {})


def is_interrupting(start_spec) -> bool:
    return bool(_info(start_spec).get("interrupting"))


def levels(top) -> list:
    """The top process and every running subprocess whose event subprocesses may still start."""
    if top.completed:
        return []
    return [w for w in [top, *top.get_active_subprocesses()] if not w.task_tree.internal_data.get(_INTERRUPTED)]


def owner_key(top, level) -> str:
    """A name of ``level`` that stays the same across ``dump``/``load``."""
    return "top" if level is top else str(level.parent_task_id)


def trigger_starts(top, level, kind: type) -> list[tuple[str, Any]]:
    """(event subprocess spec name, start event spec) of ``level``'s event subprocesses that a ``kind`` event
    starts (SpiffWorkflow keeps them as triggers of the process's start, not as tasks)."""
    found = []
    for name in getattr(level.spec.start, "trigger_specs", []):
        sp_spec = top.subprocess_specs.get(name)
        for start in getattr(sp_spec, "bpmn_start_events", []) if sp_spec is not None else []:
            if isinstance(getattr(start, "event_definition", None), kind):
                found.append((name, start))
    return found


def level_view(level) -> dict[str, Any]:
    """The case data as ``level``'s process sees it now (its start data, then what its steps and the platform
    changed)."""
    return case_view(level.task_tree)


def cancel_all_but(task, keep) -> None:
    """Cancel every unfinished task below ``task`` except the branch starting at the task with id ``keep``."""
    for child in list(task.children):
        if child.id == keep:
            continue
        if child.has_state(TaskState.FINISHED_MASK):
            cancel_all_but(child, keep)
        else:
            child.cancel()


def interrupt(level, keep) -> None:
    """An interrupting event subprocess (the branch at task ``keep``) has started: everything else ``level``'s
    process does ends, and no other event subprocess of it starts any more."""
    cancel_all_but(level.task_tree, keep)
    level.task_tree.internal_data[_INTERRUPTED] = True


def start_event_subprocess(top, level, name: str, start, *, fire: bool = False):
    """Start the event subprocess ``name`` of ``level`` with the case data as ``level`` sees it now; returns the
    started sub-workflow. ``fire``: its start event occurs at once (a condition that has come to hold)."""
    view = level_view(level)
    started = level.spec.start.trigger_wf(level.task_tree, name)
    if is_interrupting(start):
        interrupt(level, started)
    subprocess = top.subprocesses.get(started)
    if subprocess is not None:
        for task in subprocess.get_tasks(state=TaskState.WAITING | TaskState.READY):
            if task.workflow is subprocess and isinstance(task.task_spec, StartEvent):
                task.data.update(view)
                if fire:
                    task._set_internal_data(event_fired=True)
                    task.task_spec._update(task)
    return subprocess


def _holds(expression: str, view: dict[str, Any]) -> bool:
    try:
        return bool(evaluate(expression, view))
    except ExpressionError as exc:
        if exc.message.startswith("Unknown name"):
            return False  # the data it reads has not been set yet
        raise


def conditional_starts(top) -> list[tuple[Any, str, Any]]:
    """The conditional start events of event subprocesses whose condition has come to hold since the last check:
    (process, event subprocess spec name, start event spec). Remembers each condition's value in the case's
    state, so a non-interrupting one starts once per false → true change."""
    seen = top.task_tree.internal_data.setdefault(_CONDITIONS, {})
    due = []
    for level in levels(top):
        starts = trigger_starts(top, level, ConditionalEventDefinition)
        if not starts:
            continue
        view = level_view(level)
        for name, start in starts:
            key = f"{owner_key(top, level)}:{name}:{start.bpmn_id}"
            holds = _holds(start.event_definition.expression, view)
            if holds and not seen.get(key, False):
                due.append((level, name, start))
            seen[key] = holds
    return due


def armed_conditional_starts(top) -> list[Any]:
    """Start event specs of event subprocesses that wait for their condition to come to hold."""
    seen = top.task_tree.internal_data.get(_CONDITIONS, {})
    armed = []
    for level in levels(top):
        for name, start in trigger_starts(top, level, ConditionalEventDefinition):
            if not seen.get(f"{owner_key(top, level)}:{name}:{start.bpmn_id}", False):
                armed.append(start)
    return armed


def _event_subprocess_task(task):
    """The task running the event subprocess ``task`` belongs to, and that task's process; (None, None) when
    ``task`` is not in an event subprocess (event subprocesses hang directly below their process's start)."""
    workflow = task.workflow
    parent = workflow.parent_workflow
    if parent is None:
        return None, None
    runner = parent.get_task_from_id(workflow.parent_task_id)
    if runner is None or runner.parent is not parent.task_tree or not isinstance(runner.task_spec, SubWorkflowTask):
        return None, None
    return runner, parent


def prepare_timer_start(task) -> None:
    """A timer start event of an event subprocess is about to occur: the subprocess started with its process, so
    it takes the case data as its process sees it now."""
    spec = task.task_spec
    if not isinstance(spec, StartEvent) or not isinstance(
        getattr(spec, "event_definition", None), TimerEventDefinition
    ):
        return
    runner, level = _event_subprocess_task(task)
    if runner is not None:
        task.data.update(level_view(level))


def timer_start_fired(task) -> tuple[Any, Any] | None:
    """(process, task id to keep) when ``task`` is an interrupting timer start event of an event subprocess that
    has just occurred."""
    spec = task.task_spec
    if not isinstance(spec, StartEvent) or not isinstance(
        getattr(spec, "event_definition", None), TimerEventDefinition
    ):
        return None
    if not is_interrupting(spec):
        return None
    runner, level = _event_subprocess_task(task)
    if runner is None or level.task_tree.internal_data.get(_INTERRUPTED):
        return None
    return level, runner.id


def _idle(top, runner) -> bool:
    """Whether the event subprocess run by ``runner`` has not started: only its start events wait."""
    subprocess = top.subprocesses.get(runner.id)
    if subprocess is None or subprocess.completed:
        return False
    waiting = False
    for task in subprocess.get_tasks(
        state=TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.COMPLETED
    ):
        if task is subprocess.task_tree:
            continue
        if task.state != TaskState.WAITING or not isinstance(task.task_spec, StartEvent):
            return False
        waiting = True
    return waiting


def end_idle_event_subprocesses(top) -> bool:
    """A process whose own flow has ended (only its end waits) ends the event subprocesses that have not started
    (their start events' timers). Returns whether any was ended."""
    ended = False
    for level in [top, *top.get_active_subprocesses()]:
        if level.completed:
            continue
        idle = []
        busy = False
        for task in level.get_tasks(state=TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.FUTURE):
            if task.workflow is not level:
                continue
            if task.parent is level.task_tree and isinstance(task.task_spec, SubWorkflowTask) and _idle(top, task):
                idle.append(task)
            elif task.task_spec is not level.spec.end and task.task_spec.name != "End":
                busy = True
                break
        if busy or not idle:
            continue
        for task in idle:
            task.cancel()
        for task in level.get_tasks(state=TaskState.WAITING):
            if task.workflow is level and task.task_spec is level.spec.end:
                task.task_spec._update(task)  # the end no longer waits for them
        ended = True
    return ended
