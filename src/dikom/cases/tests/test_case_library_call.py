"""A service's process calls a released process of the library; a message from outside is a step on the case
page that interrupts the task it is attached to."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.utils import translation

from dikom.cases.bpmn.checks import inspect
from dikom.cases.models import Task
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.tests.staff_pages import case_url, client_for, submit_case, task_prefix
from dikom.eservices.service import released_process
from dikom.portal.tests.conftest import FAMILY, release_and_adopt

pytestmark = pytest.mark.django_db

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">'
)
CALLED = (
    HEAD + '<bpmn:message id="M" name="Nachweis" /><bpmn:process id="Fachpruefung" isExecutable="true">'
    '<bpmn:startEvent id="CS" /><bpmn:userTask id="CU" name="Fachlich prüfen" />'
    '<bpmn:boundaryEvent id="CB" attachedToRef="CU"><bpmn:messageEventDefinition messageRef="M" />'
    '</bpmn:boundaryEvent><bpmn:userTask id="CR" name="Nachweis ansehen" /><bpmn:endEvent id="CE" />'
    '<bpmn:endEvent id="CE2" />'
    '<bpmn:sequenceFlow id="CF0" sourceRef="CS" targetRef="CU" /><bpmn:sequenceFlow id="CF1" sourceRef="CU" '
    'targetRef="CE" /><bpmn:sequenceFlow id="CF2" sourceRef="CB" targetRef="CR" />'
    '<bpmn:sequenceFlow id="CF3" sourceRef="CR" targetRef="CE2" /></bpmn:process></bpmn:definitions>'
)
CALLER = (
    HEAD + '<bpmn:process id="Antrag" isExecutable="true"><bpmn:startEvent id="S" />'
    '<bpmn:callActivity id="C" name="Fachprüfung" calledElement="Fachpruefung" /><bpmn:endEvent id="E" />'
    '<bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="C" /><bpmn:sequenceFlow id="F1" sourceRef="C" '
    'targetRef="E" /></bpmn:process></bpmn:definitions>'
)


def _service(process: str, city: Any, suffix: str) -> Any:
    content = copy.deepcopy(FAMILY)
    content["processing"] = {"bpmn": process}
    return release_and_adopt(content, city, suffix=suffix)


def test_a_released_process_of_the_library_is_found_by_its_id(city_a: Any, media: Any) -> None:
    assert released_process("Fachpruefung") is None
    _service(CALLED, city_a, " (Fachprüfung)")

    assert released_process("Fachpruefung") == CALLED
    assert released_process("Fachpruef") is None  # the id, not a part of it
    with translation.override("en"):
        assert inspect(CALLER, resolve_process=released_process).ok


def test_a_call_to_a_process_that_is_not_released_is_refused_at_release(city_a: Any, media: Any) -> None:
    with translation.override("en"):
        report = inspect(CALLER, resolve_process=released_process)
        (error,) = report.errors
        assert "“Fachpruefung”" in str(error.message) and error.element_id == "C"


def test_the_case_runs_the_called_process_and_the_message_arrives_on_the_case_page(
    city_a: Any, unit_a: Any, worker_a: Any, login: Any, media: Any
) -> None:
    _service(CALLED, city_a, " (Fachprüfung)")
    adopted = _service(CALLER, city_a, " (Antrag)")
    adopted.org_unit = unit_a
    adopted.save(update_fields=["org_unit"])

    case = submit_case(adopted)
    open_tasks = {t.bpmn_id: t for t in case.tasks.filter(status=Task.Status.OPEN)}
    assert set(open_tasks) == {"CU", "CB"}
    message = open_tasks["CB"]
    assert message.name.endswith("Nachweis")

    anna = client_for(login, worker_a)
    prefix = task_prefix(message, "complete")
    response = anna.post(
        case_url(case, f"aufgaben/{message.uuid}/erledigen/"), {f"{prefix}-lock_version": str(message.lock_version)}
    )
    assert response.status_code == 302

    # the message interrupted "Fachlich prüfen": that task is gone, the follow-up is open
    assert [t.bpmn_id for t in case.tasks.filter(status=Task.Status.OPEN)] == ["CR"]
    follow_up = case.tasks.get(status=Task.Status.OPEN)
    prefix = task_prefix(follow_up, "complete")
    response = anna.post(
        case_url(case, f"aufgaben/{follow_up.uuid}/erledigen/"), {f"{prefix}-lock_version": str(follow_up.lock_version)}
    )
    assert response.status_code == 302
    assert not case.tasks.filter(status=Task.Status.OPEN).exists()
