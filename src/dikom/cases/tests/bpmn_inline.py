"""Small inline BPMN models for the engine tests (gateways, conditional events): the document around the
elements, sequence flows, and stepping through a process instance's user tasks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import translation

from dikom.cases.bpmn.engine import ProcessInstance

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def english_messages():
    with translation.override("en"):
        yield


def _definitions(*parts: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">\n'
        + "\n".join(parts)
        + "\n</bpmn:definitions>"
    ).encode()


def _flow(ident: str, source: str, target: str, condition: str = "") -> str:
    if not condition:
        return f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}" />'
    return (
        f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def _ready(instance: ProcessInstance) -> list[str]:
    return sorted(t.bpmn_id for t in instance.ready_user_tasks())


def _complete(instance: ProcessInstance, bpmn_id: str, data: dict | None = None, now: datetime = T0) -> None:
    task = next(t for t in instance.ready_user_tasks() if t.bpmn_id == bpmn_id)
    instance.complete_user_task(task.id, data or {}, now=now)
