"""BPMN: conditional events — intermediate catch events and boundary events whose condition is checked when they
are reached and again whenever the case's data changes; refused forms at import; the every-path runner."""

from __future__ import annotations

import pytest

from dikom.cases import workflow
from dikom.cases.bpmn.checks import inspect
from dikom.cases.bpmn.coverage import IMPORTED_AND_RUNS, assess
from dikom.cases.bpmn.engine import ProcessDefinition, ProcessInstance
from dikom.cases.tests.bpmn_inline import T0, _complete, _definitions, _flow, _ready, english_messages  # noqa: F401 - autouse fixture


def _condition(text: str, language: str = "") -> str:
    lang = f' language="{language}"' if language else ""
    return f"<bpmn:conditionalEventDefinition><bpmn:condition{lang}>{text}</bpmn:condition></bpmn:conditionalEventDefinition>"


def _reload(instance: ProcessInstance) -> ProcessInstance:
    return ProcessInstance.load(instance.dump())


# -- intermediate conditional catch event -----------------------------------------------------------------------


def _catch_model(condition: str, language: str = "") -> bytes:
    # S → (split) → A: user task "Unterlagen prüfen" → C: wait until complete → W: user task "Bescheid" → E
    #             → B: user task "Unterlagen nachreichen" → E2
    return _definitions(
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S" />',
        '<bpmn:parallelGateway id="Split" />',
        '<bpmn:userTask id="A" name="Vorprüfung" />',
        f'<bpmn:intermediateCatchEvent id="C" name="Unterlagen vollständig">{_condition(condition, language)}'
        "</bpmn:intermediateCatchEvent>",
        '<bpmn:userTask id="W" name="Bescheid" />',
        '<bpmn:endEvent id="E" />',
        '<bpmn:userTask id="B" name="Unterlagen nachreichen" />',
        '<bpmn:endEvent id="E2" />',
        _flow("f1", "S", "Split"),
        _flow("f2", "Split", "A"),
        _flow("f3", "A", "C"),
        _flow("f4", "C", "W"),
        _flow("f5", "W", "E"),
        _flow("f6", "Split", "B"),
        _flow("f7", "B", "E2"),
        "</bpmn:process>",
    )


def test_a_conditional_event_is_accepted_with_a_note():
    report = inspect(_catch_model("complete == True"))
    assert report.ok, [f.message for f in report.errors]
    assert any(f.code == "conditional-event" and f.element_id == "C" for f in report.notes)


def test_a_condition_that_holds_when_the_event_is_reached_passes_through():
    instance = ProcessDefinition.from_xml(_catch_model("complete == True")).start({"complete": True}, now=T0)
    _complete(instance, "A")
    assert _ready(instance) == ["B", "W"]
    assert instance.waiting_conditions() == []


def test_a_condition_that_holds_after_a_later_step_lets_the_case_go_on():
    instance = ProcessDefinition.from_xml(_catch_model("complete == True")).start({"complete": False}, now=T0)
    _complete(instance, "A")
    assert _ready(instance) == ["B"]
    assert instance.waiting_conditions() == ["C"]
    instance = _reload(instance)  # the wait survives storing the case
    _complete(instance, "B", {"complete": True})  # the other branch's step changes the data
    assert _ready(instance) == ["W"]
    assert instance.waiting_conditions() == []
    _complete(instance, "W")
    assert instance.is_completed


def test_a_condition_reading_data_not_yet_set_waits_until_it_is_set_from_outside():
    instance = ProcessDefinition.from_xml(_catch_model("amount &gt; 100", "feel")).start({}, now=T0)
    _complete(instance, "A")
    assert instance.waiting_conditions() == ["C"]
    instance.set_data({"amount": 50}, now=T0)
    assert instance.waiting_conditions() == ["C"]
    instance.set_data({"amount": 150}, now=T0)  # an automation rule sets data
    assert instance.waiting_conditions() == []
    assert _ready(instance) == ["B", "W"]


# -- conditional boundary events ------------------------------------------------------------------------------


def _boundary_model(interrupting: bool) -> bytes:
    cancel = "true" if interrupting else "false"
    return _definitions(
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S" />',
        '<bpmn:parallelGateway id="Split" />',
        '<bpmn:userTask id="U" name="Antrag bearbeiten" />',
        '<bpmn:endEvent id="E" />',
        f'<bpmn:boundaryEvent id="X" name="Antrag zurückgezogen" attachedToRef="U" cancelActivity="{cancel}">'
        f"{_condition('withdrawn')}</bpmn:boundaryEvent>",
        '<bpmn:userTask id="Z" name="Rückzug bestätigen" />',
        '<bpmn:endEvent id="EZ" />',
        '<bpmn:userTask id="R" name="Rückmeldung erfassen" />',
        '<bpmn:endEvent id="ER" />',
        _flow("f1", "S", "Split"),
        _flow("f2", "Split", "U"),
        _flow("f3", "U", "E"),
        _flow("f4", "X", "Z"),
        _flow("f5", "Z", "EZ"),
        _flow("f6", "Split", "R"),
        _flow("f7", "R", "ER"),
        "</bpmn:process>",
    )


def test_an_interrupting_conditional_boundary_event_ends_the_task_when_the_data_changes():
    instance = ProcessDefinition.from_xml(_boundary_model(True)).start({"withdrawn": False}, now=T0)
    assert _ready(instance) == ["R", "U"]
    assert instance.waiting_conditions() == ["X"]
    _complete(instance, "R", {"withdrawn": True})
    assert _ready(instance) == ["Z"]  # the task is interrupted, the boundary event's path runs
    _complete(instance, "Z")
    assert instance.is_completed
    assert "U" not in instance.completed_element_ids()


def test_a_non_interrupting_conditional_boundary_event_leaves_the_task_waiting():
    instance = ProcessDefinition.from_xml(_boundary_model(False)).start({"withdrawn": False}, now=T0)
    _complete(instance, "R", {"withdrawn": True})
    assert _ready(instance) == ["U", "Z"]


def test_a_conditional_boundary_event_stays_quiet_while_its_condition_is_false():
    instance = ProcessDefinition.from_xml(_boundary_model(True)).start({"withdrawn": False}, now=T0)
    _complete(instance, "R", {"withdrawn": False})
    _complete(instance, "U")
    assert instance.is_completed
    assert "Z" not in instance.completed_element_ids()


def test_the_every_path_runner_satisfies_conditional_waits():
    assert assess("catch", _catch_model("complete == True")).outcome == IMPORTED_AND_RUNS
    result = assess("boundary", _boundary_model(True))
    assert result.outcome == IMPORTED_AND_RUNS
    assert {"Z", "U"} <= result.visited


# -- refused at import --------------------------------------------------------------------------------------------


def test_an_untranslatable_condition_is_refused_with_its_expression_and_line():
    xml = _catch_model("count(/items/item) &gt; 2", "http://www.w3.org/1999/XPath")
    report = inspect(xml)
    assert not report.ok
    error = next(f for f in report.errors if f.element_id == "C")
    assert "count(/items/item) > 2" in error.message
    line = next(n for n, text in enumerate(xml.decode().splitlines(), start=1) if "count(/items" in text)
    assert error.line == line


def test_a_conditional_event_without_a_condition_is_refused():
    report = inspect(_catch_model(""))
    assert any(f.code == "bad-condition" and f.element_id == "C" for f in report.errors)


def test_the_platform_sets_case_data_and_a_waiting_conditional_event_occurs():
    xml = _catch_model("complete == True").decode()
    step = workflow.start(xml, {"complete": False})
    task = next(t for t in step.ready if t.bpmn_id == "A")
    step = workflow.complete(xml, step.state, task.engine_id, {})
    assert sorted(t.bpmn_id for t in step.ready) == ["B"]
    step = workflow.set_data(xml, step.state, {"complete": True})
    assert sorted(t.bpmn_id for t in step.ready) == ["B", "W"]


# -- after an event-based gateway -------------------------------------------------------------------------------

GATEWAY = _definitions(
    '<bpmn:message id="M1" name="Antwort" />',
    '<bpmn:process id="P" isExecutable="true">',
    '<bpmn:startEvent id="S" /><bpmn:parallelGateway id="Split" />',
    '<bpmn:eventBasedGateway id="G" />',
    '<bpmn:intermediateCatchEvent id="CM" name="Antwort da"><bpmn:messageEventDefinition messageRef="M1" />'
    "</bpmn:intermediateCatchEvent>",
    f'<bpmn:intermediateCatchEvent id="CC" name="Frist verzichtet">{_condition("waived")}</bpmn:intermediateCatchEvent>',
    '<bpmn:userTask id="A" name="Antwort prüfen" /><bpmn:userTask id="V" name="Ohne Antwort entscheiden" />',
    '<bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />',
    '<bpmn:userTask id="R" name="Verzicht erfassen" /><bpmn:endEvent id="E3" />',
    _flow("f1", "S", "Split"),
    _flow("f2", "Split", "G"),
    _flow("f3", "G", "CM"),
    _flow("f4", "G", "CC"),
    _flow("f5", "CM", "A"),
    _flow("f6", "CC", "V"),
    _flow("f7", "A", "E1"),
    _flow("f8", "V", "E2"),
    _flow("f9", "Split", "R"),
    _flow("f10", "R", "E3"),
    "</bpmn:process>",
)


def test_after_an_event_based_gateway_a_condition_that_comes_to_hold_decides_the_path():
    report = inspect(GATEWAY)
    assert report.ok, [f.message for f in report.errors]
    instance = ProcessDefinition.from_xml(GATEWAY).start({"waived": False}, now=T0)
    assert _ready(instance) == ["CM", "R"]  # the message is offered, the condition waits
    _complete(instance, "R", {"waived": True})
    assert _ready(instance) == ["V"]  # the condition held first: the message is no longer awaited
    assert assess("gateway", GATEWAY).outcome == IMPORTED_AND_RUNS


@pytest.mark.parametrize(("interrupting", "ready"), [(True, ["R", "Z"]), (False, ["R", "U", "Z"])])
def test_a_conditional_boundary_event_whose_condition_holds_when_the_task_starts_occurs_at_once(interrupting, ready):
    instance = ProcessDefinition.from_xml(_boundary_model(interrupting)).start({"withdrawn": True}, now=T0)
    assert _ready(instance) == ready
    assert instance.waiting_conditions() == []
