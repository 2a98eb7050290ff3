"""The cases app's view of the BPMN engine (``dikom.cases.bpmn.engine``).

Every call takes the stored state and returns a :class:`StepResult`: the new
state to store, the user tasks that are ready now (the case's task list is made
to match them), the timers that fired. Service tasks are dispatched by their
``topic`` to handlers registered in :data:`SERVICE_TASKS` (the automation
registers its actions there); a failing handler rolls the whole step back
(the engine is all-or-nothing) and the error reaches the caller, whose
transaction then rolls back too — the case stays as it was and the step can be
retried.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from dikom.cases.bpmn.engine import EngineError, ProcessDefinition, ProcessInstance, ServiceCall

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_PROCESS", "SERVICE_TASKS", "EngineError", "ReadyTask", "StepResult", "complete",
           "deliver_message", "fire_timers", "position", "start"]  # fmt: skip

#: topic → handler(call, context) returning data to merge into the process data; ``"dmn:"`` handles every
#: business rule task (topics ``dmn:<decision>``).
SERVICE_TASKS: dict[str, Callable[[ServiceCall, Mapping[str, Any]], Mapping[str, Any] | None]] = {}

#: The process of services that bring none: one task for the responsible unit.
DEFAULT_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="dikom-default" targetNamespace="https://dikom.example/bpmn">
  <bpmn:process id="antrag_bearbeiten" name="Antrag bearbeiten" isExecutable="true">
    <bpmn:startEvent id="eingang" name="Antrag eingegangen"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="pruefen" name="Antrag prüfen und entscheiden">
      <bpmn:documentation>Angaben und Nachweise prüfen, bei Bedarf nachfordern, dann entscheiden.</bpmn:documentation>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="erledigt" name="Bearbeitet"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="eingang" targetRef="pruefen"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pruefen" targetRef="erledigt"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d1"><bpmndi:BPMNPlane id="p1" bpmnElement="antrag_bearbeiten">
    <bpmndi:BPMNShape id="s1" bpmnElement="eingang"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s2" bpmnElement="pruefen"><dc:Bounds x="190" y="78" width="140" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s3" bpmnElement="erledigt"><dc:Bounds x="390" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e1" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="190" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e2" bpmnElement="f2"><di:waypoint x="330" y="118"/><di:waypoint x="390" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@dataclass(frozen=True)
class ReadyTask:
    engine_id: str
    bpmn_id: str
    name: str
    lane: str
    documentation: str
    due_at: dt.datetime | None
    #: a caseworker's choice at a gateway: the case data name and the (value, label) pairs of the paths
    choice_variable: str = ""
    choices: tuple[tuple[str, str], ...] = ()


@dataclass
class StepResult:
    state: dict[str, Any]
    ready: list[ReadyTask] = field(default_factory=list)
    fired_timers: list[str] = field(default_factory=list)
    completed: bool = False
    next_timer_due: dt.datetime | None = None
    service_calls: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=64)
def _definition(digest: str, xml: str) -> ProcessDefinition:
    return ProcessDefinition.from_xml(xml)


def definition_for(xml: str) -> ProcessDefinition:
    if "callActivity" in xml:
        # It may call released processes of the library, which a later release changes: no cache.
        return ProcessDefinition.from_xml(xml, resolve_process=_released_process)
    return _definition(hashlib.sha256(xml.encode()).hexdigest(), xml)


def _released_process(process_id: str) -> str | None:
    """A call activity calls a released process of the library (``eservices.service.released_process``)."""
    from dikom.eservices.service import released_process

    return released_process(process_id)


class _Dispatcher:
    """Hands service tasks to the registered handlers and remembers what ran."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context
        self.calls: list[str] = []

    def __call__(self, call: ServiceCall) -> Mapping[str, Any] | None:
        handler = SERVICE_TASKS.get(call.topic)
        if handler is None and call.topic.startswith("dmn:"):
            handler = SERVICE_TASKS.get("dmn:")  # business rule tasks: one handler for every decision
        if handler is None and call.topic.startswith("message:dikom:"):
            handler = SERVICE_TASKS.get("message:dikom:")  # messages to platform events (platform_messages)
        self.calls.append(call.topic or call.bpmn_id)
        if handler is None:
            logger.info("cases: service task %s has no handler for topic %r; passed through", call.bpmn_id, call.topic)
            return None
        return handler(call, self.context)


def _result(instance: ProcessInstance, dispatcher: _Dispatcher, fired: list[str] | None = None) -> StepResult:
    ready = [
        ReadyTask(
            engine_id=info.id,
            bpmn_id=info.bpmn_id,
            name=info.name,
            lane=info.lane_name or "",
            documentation=info.documentation,
            due_at=info.due_at,
            choice_variable=info.choice_variable,
            choices=info.choices,
        )
        for info in instance.ready_user_tasks()
    ]
    return StepResult(
        state=instance.dump(),
        ready=ready,
        fired_timers=fired or [],
        completed=instance.is_completed,
        next_timer_due=instance.next_timer_due(),
        service_calls=dispatcher.calls,
    )


def start(xml: str, data: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> StepResult:
    dispatcher = _Dispatcher(context or {})
    instance = definition_for(xml).start(dict(data), now=timezone.now(), service_handler=dispatcher)
    return _result(instance, dispatcher)


def complete(
    xml: str,
    state: Mapping[str, Any],
    engine_task_id: str,
    data: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
) -> StepResult:
    dispatcher = _Dispatcher(context or {})
    instance = ProcessInstance.load(state, service_handler=dispatcher)
    instance.complete_user_task(engine_task_id, dict(data), now=timezone.now())
    return _result(instance, dispatcher)


def deliver_message(
    xml: str,
    state: Mapping[str, Any],
    message: str,
    data: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
) -> StepResult | None:
    """A platform event (a citizen's reply, a payment, a webhook) as the BPMN message ``message``: completes the
    case's step waiting for it (message boundary event, event subprocess); None when the case waits for none."""
    dispatcher = _Dispatcher(context or {})
    instance = ProcessInstance.load(state, service_handler=dispatcher)
    if not instance.receive_message(message, dict(data), now=timezone.now()):
        return None
    return _result(instance, dispatcher)


def set_data(
    xml: str, state: Mapping[str, Any], data: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> StepResult:
    """Case data set by the platform outside a step (an automation rule): the waiting steps carry it on and a
    conditional event whose condition now holds occurs (``ProcessInstance.set_data``)."""
    dispatcher = _Dispatcher(context or {})
    instance = ProcessInstance.load(state, service_handler=dispatcher)
    instance.set_data(dict(data), now=timezone.now())
    return _result(instance, dispatcher)


def fire_timers(
    xml: str, state: Mapping[str, Any], now: dt.datetime, context: Mapping[str, Any] | None = None
) -> StepResult:
    dispatcher = _Dispatcher(context or {})
    instance = ProcessInstance.load(state, service_handler=dispatcher)
    fired = instance.fire_due_timers(now=now)
    return _result(instance, dispatcher, fired)


def position(state: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(active, completed) BPMN element ids, for the diagram."""
    if not state:
        return [], []
    instance = ProcessInstance.load(state)
    return instance.active_element_ids(), instance.completed_element_ids()
