"""BPMN: event-based and inclusive gateways, link events, event subprocesses started by an error, timers without
a value — checked at import, run by the engine, and run along every path by the coverage runner."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dikom.cases import workflow
from dikom.cases.bpmn.checks import ERROR, inspect
from dikom.cases.bpmn.coverage import IMPORTED_AND_RUNS, assess
from dikom.cases.bpmn.engine import EngineError, ProcessDefinition, ProcessInstance
from dikom.cases.tests.bpmn_inline import T0, _complete, _definitions, _flow, _ready, english_messages  # noqa: F401 - autouse fixture

# -- event-based gateways -------------------------------------------------------------------------------------

EVENT_GATEWAY = _definitions(
    '<bpmn:message id="M1" name="Antwort" /><bpmn:message id="M2" name="Unterlagen" />',
    '<bpmn:process id="P" isExecutable="true">',
    '<bpmn:startEvent id="S" /><bpmn:userTask id="U" name="Nachfrage senden" />',
    '<bpmn:eventBasedGateway id="G" name="Was kommt zuerst?" />',
    '<bpmn:intermediateCatchEvent id="CA" name="Antwort da"><bpmn:messageEventDefinition messageRef="M1" />'
    "</bpmn:intermediateCatchEvent>",
    '<bpmn:receiveTask id="CB" name="Unterlagen da" messageRef="M2" />',
    '<bpmn:intermediateCatchEvent id="CT" name="Drei Tage"><bpmn:timerEventDefinition>'
    "<bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
    '<bpmn:userTask id="RA" name="Antwort prüfen" /><bpmn:userTask id="RB" name="Unterlagen prüfen" />',
    '<bpmn:userTask id="RT" name="Erinnern" />',
    '<bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" /><bpmn:endEvent id="E3" />',
    _flow("F0", "S", "U"),
    _flow("F1", "U", "G"),
    _flow("FA", "G", "CA"),
    _flow("FB", "G", "CB"),
    _flow("FT", "G", "CT"),
    _flow("FA2", "CA", "RA"),
    _flow("FB2", "CB", "RB"),
    _flow("FT2", "CT", "RT"),
    _flow("FA3", "RA", "E1"),
    _flow("FB3", "RB", "E2"),
    _flow("FT3", "RT", "E3"),
    "</bpmn:process>",
)


def _at_the_gateway() -> ProcessInstance:
    instance = ProcessDefinition.from_xml(EVENT_GATEWAY).start({}, now=T0)
    _complete(instance, "U")
    return instance


def test_an_event_based_gateway_is_accepted_and_says_what_it_waits_for():
    report = inspect(EVENT_GATEWAY)

    assert report.ok, [str(f) for f in report.errors]
    note = next(f for f in report.notes if f.code == "event-gateway")
    assert note.element_id == "G" and "Antwort da" in str(note.message) and "Drei Tage" in str(note.message)


def test_at_an_event_based_gateway_the_case_offers_each_message_and_runs_the_timer():
    instance = _at_the_gateway()

    steps = {t.bpmn_id: (t.name, t.message) for t in instance.ready_user_tasks()}
    assert steps == {
        "CA": ("Message received: Antwort", "Antwort"),
        "CB": ("Message received: Unterlagen", "Unterlagen"),
    }  # the gateway itself is no step a person completes
    (timer,) = instance.waiting_timers()
    assert (timer.bpmn_id, timer.attached_to, timer.due_at) == ("CT", "G", T0 + timedelta(days=3))
    assert {"G", "CA", "CB", "CT"} <= set(instance.active_element_ids())


def test_the_first_message_wins_and_the_other_events_end():
    instance = ProcessInstance.load(_at_the_gateway().dump())

    assert instance.receive_message("Unterlagen", {"anzahl": 2}, now=T0 + timedelta(hours=1))

    assert _ready(instance) == ["RB"]
    assert instance.waiting_timers() == []
    assert instance.data["anzahl"] == 2
    assert not instance.receive_message("Antwort", {})  # no longer awaited
    _complete(instance, "RB")
    assert instance.is_completed and "CB" in instance.completed_element_ids()


def test_when_the_timer_fires_first_no_message_is_awaited_any_more():
    instance = _at_the_gateway()

    assert instance.fire_due_timers(now=T0 + timedelta(days=2)) == []
    assert instance.fire_due_timers(now=T0 + timedelta(days=3, seconds=1)) == ["CT"]

    assert _ready(instance) == ["RT"]
    assert not instance.receive_message("Antwort", {})


def test_the_wait_of_an_event_based_gateway_cannot_be_completed_by_hand():
    instance = _at_the_gateway()
    waits = [t for t in instance._workflow.get_tasks() if t.task_spec.bpmn_id == "G" and t.task_spec.manual]

    with pytest.raises(EngineError, match="Unknown task"):
        instance.complete_user_task(waits[0].id, {})


def test_every_event_after_the_gateway_is_taken_by_the_every_path_runner():
    result = assess("event-gateway", EVENT_GATEWAY)

    assert result.outcome == IMPORTED_AND_RUNS, result.detail
    assert {"RA", "RB", "RT"} <= result.visited


def test_a_case_moves_through_an_event_based_gateway_by_the_platform_delivering_the_message():
    # what the case actions use: the wait shows the message steps as tasks, the platform delivers the message
    xml = EVENT_GATEWAY.decode()
    step = workflow.start(xml, {})
    step = workflow.complete(xml, step.state, step.ready[0].engine_id, {})
    assert sorted(t.name for t in step.ready) == ["Message received: Antwort", "Message received: Unterlagen"]
    assert step.next_timer_due is not None

    delivered = workflow.deliver_message(xml, step.state, "Antwort", {"text": "Hier"})

    assert delivered is not None and [t.bpmn_id for t in delivered.ready] == ["RA"]
    assert delivered.next_timer_due is None
    assert workflow.deliver_message(xml, delivered.state, "Unterlagen", {}) is None


def test_a_signal_after_an_event_based_gateway_is_caught_when_a_parallel_path_throws_it():
    xml = _definitions(
        '<bpmn:signal id="Sig" name="Gebühr bezahlt" /><bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S" /><bpmn:parallelGateway id="Split" />',
        '<bpmn:userTask id="Pay" name="Zahlung buchen" />',
        '<bpmn:intermediateThrowEvent id="Throw"><bpmn:signalEventDefinition signalRef="Sig" />'
        "</bpmn:intermediateThrowEvent>",
        '<bpmn:eventBasedGateway id="G" />',
        '<bpmn:intermediateCatchEvent id="Paid"><bpmn:signalEventDefinition signalRef="Sig" />'
        "</bpmn:intermediateCatchEvent>",
        '<bpmn:intermediateCatchEvent id="Late"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>P14D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        '<bpmn:userTask id="Issue" name="Bescheid erstellen" /><bpmn:userTask id="Remind" name="Mahnen" />',
        '<bpmn:endEvent id="E0" /><bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />',
        _flow("F0", "S", "Split"),
        _flow("F1", "Split", "Pay"),
        _flow("F2", "Pay", "Throw"),
        _flow("F3", "Throw", "E0"),
        _flow("F4", "Split", "G"),
        _flow("F5", "G", "Paid"),
        _flow("F6", "G", "Late"),
        _flow("F7", "Paid", "Issue"),
        _flow("F8", "Late", "Remind"),
        _flow("F9", "Issue", "E1"),
        _flow("F10", "Remind", "E2"),
        "</bpmn:process>",
    )
    instance = ProcessDefinition.from_xml(xml).start({}, now=T0)
    assert _ready(instance) == ["Pay"]

    _complete(instance, "Pay")

    assert _ready(instance) == ["Issue"]
    assert instance.waiting_timers() == []


@pytest.mark.parametrize(
    ("after", "words", "line"),
    [
        # located at the flow to the wrong element
        ('<bpmn:userTask id="X" name="Prüfen" />', "only intermediate message, timer, signal or conditional events", 9),
        (
            '<bpmn:intermediateCatchEvent id="X"><bpmn:signalEventDefinition signalRef="Sig" />'
            "</bpmn:intermediateCatchEvent>",
            "None of the events",
            5,
        ),
    ],
)
def test_an_event_based_gateway_followed_by_something_else_is_refused_with_its_line(after, words, line):
    xml = _definitions(
        '<bpmn:signal id="Sig" name="Nie" /><bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S" />',
        '<bpmn:eventBasedGateway id="G" />',
        after,
        '<bpmn:endEvent id="E" />',
        _flow("F0", "S", "G"),
        _flow("F1", "G", "X"),
        _flow("F2", "X", "E"),
        "</bpmn:process>",
    )
    report = inspect(xml)

    found = next(f for f in report.errors if f.code == "event-gateway-target")
    assert words in str(found.message) and found.element_id == "G"
    assert found.line == line
    assert report.engine_xml is None


# -- inclusive gateways -------------------------------------------------------------------------------------------

INCLUSIVE = _definitions(
    '<bpmn:process id="P" isExecutable="true">',
    '<bpmn:startEvent id="S" />',
    '<bpmn:inclusiveGateway id="Split" name="Welche Prüfungen?" default="FC" />',
    '<bpmn:userTask id="A" name="Statik prüfen" /><bpmn:userTask id="B" name="Brandschutz prüfen" />',
    '<bpmn:userTask id="C" name="Vereinfacht prüfen" />',
    '<bpmn:inclusiveGateway id="Join" /><bpmn:userTask id="After" name="Bescheid" /><bpmn:endEvent id="E" />',
    _flow("F0", "S", "Split"),
    _flow("FA", "Split", "A", "flaeche &gt; 100"),
    _flow("FB", "Split", "B", "sonderbau == True"),
    _flow("FC", "Split", "C"),
    _flow("FA2", "A", "Join"),
    _flow("FB2", "B", "Join"),
    _flow("FC2", "C", "Join"),
    _flow("F9", "Join", "After"),
    _flow("F10", "After", "E"),
    "</bpmn:process>",
)


def test_an_inclusive_gateway_takes_every_path_whose_condition_holds_and_the_join_waits_for_them():
    instance = ProcessDefinition.from_xml(INCLUSIVE).start({"flaeche": 500, "sonderbau": True}, now=T0)
    assert _ready(instance) == ["A", "B"]

    _complete(instance, "A")
    assert _ready(instance) == ["B"]  # the join waits for the other active path
    instance = ProcessInstance.load(instance.dump())
    _complete(instance, "B")
    assert _ready(instance) == ["After"]


@pytest.mark.parametrize(
    ("data", "paths"), [({"flaeche": 50, "sonderbau": False}, ["C"]), ({"flaeche": 50, "sonderbau": True}, ["B"])]
)
def test_an_inclusive_gateway_takes_the_default_flow_only_when_no_condition_holds(data, paths):
    instance = ProcessDefinition.from_xml(INCLUSIVE).start(data, now=T0)
    assert _ready(instance) == paths
    _complete(instance, paths[0])
    assert _ready(instance) == ["After"]


def test_an_inclusive_gateway_runs_along_every_path():
    assert inspect(INCLUSIVE).ok
    result = assess("inclusive", INCLUSIVE)
    assert result.outcome == IMPORTED_AND_RUNS, result.detail
    assert {"A", "B", "C", "After"} <= result.visited


def test_flows_without_a_condition_after_an_inclusive_gateway_are_always_taken():
    xml = INCLUSIVE.replace(b' default="FC"', b"")
    report = inspect(xml)
    note = next(f for f in report.notes if f.code == "inclusive-unconditional")
    assert "Vereinfacht" in str(note.message)

    instance = ProcessDefinition.from_xml(xml).start({"flaeche": 500, "sonderbau": False}, now=T0)
    assert _ready(instance) == ["A", "C"]


def test_the_default_flow_of_an_inclusive_gateway_must_leave_it():
    report = inspect(INCLUSIVE.replace(b'default="FC"', b'default="F9"'))
    assert any(f.code == "bad-default" and f.element_id == "Split" for f in report.errors)


def test_a_complex_gateway_is_still_refused_with_the_reason():
    report = inspect(INCLUSIVE.replace(b'bpmn:inclusiveGateway id="Join"', b'bpmn:complexGateway id="Join"'))
    found = next(f for f in report.errors if f.element_id == "Join")
    assert "complex gateway" in str(found.message)


# -- link events ----------------------------------------------------------------------------------------------------


def _link_model(catch_name: str = "Weiter") -> bytes:
    return _definitions(
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S" /><bpmn:userTask id="U" name="Antrag prüfen" />',
        '<bpmn:intermediateThrowEvent id="LT" name="nach Seite 2"><bpmn:linkEventDefinition name="Weiter" />'
        "</bpmn:intermediateThrowEvent>",
        f'<bpmn:intermediateCatchEvent id="LC" name="von Seite 1"><bpmn:linkEventDefinition name="{catch_name}" />'
        "</bpmn:intermediateCatchEvent>",
        '<bpmn:userTask id="V" name="Bescheid" /><bpmn:endEvent id="E" />',
        _flow("F0", "S", "U"),
        _flow("F1", "U", "LT"),
        _flow("F2", "LC", "V"),
        _flow("F3", "V", "E"),
        "</bpmn:process>",
    )


def test_a_link_event_continues_at_the_catching_link_of_the_same_name():
    instance = ProcessDefinition.from_xml(_link_model()).start({}, now=T0)
    _complete(instance, "U")

    assert _ready(instance) == ["V"]
    assert {"LT", "LC"} <= set(instance.completed_element_ids())
    _complete(instance, "V")
    assert instance.is_completed
    assert assess("link", _link_model()).outcome == IMPORTED_AND_RUNS


def test_a_link_without_its_catching_event_is_refused_with_its_line():
    report = inspect(_link_model("Anderswo"))

    found = next(f for f in report.errors if f.code == "link-unmatched")
    assert (found.level, found.element_id, found.line) == (ERROR, "LT", 5)
    assert "Weiter" in str(found.message)
    assert any(f.code == "link-never-thrown" and f.element_id == "LC" for f in report.notes)


# -- event subprocesses started by an error ------------------------------------------------------------------------


def _error_model(boundary: bool = False) -> bytes:
    catch = (
        '<bpmn:boundaryEvent id="BE" attachedToRef="Sub"><bpmn:errorEventDefinition errorRef="Err" />'
        '</bpmn:boundaryEvent><bpmn:userTask id="BH" name="Am Rand behandeln" /><bpmn:endEvent id="BEE" />'
        + _flow("BF1", "BE", "BH")
        + _flow("BF2", "BH", "BEE")
        if boundary
        else ""
    )
    return _definitions(
        '<bpmn:error id="Err" name="Unterlagen fehlen" errorCode="fehlt" />',
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S" /><bpmn:userTask id="U" name="Unterlagen sichten" />',
        '<bpmn:subProcess id="Sub" name="Vollständigkeit"><bpmn:startEvent id="SS" />'
        '<bpmn:exclusiveGateway id="X" default="SF3" />'
        '<bpmn:endEvent id="SE"><bpmn:errorEventDefinition errorRef="Err" /></bpmn:endEvent>'
        '<bpmn:endEvent id="SOK" />'
        + _flow("SF1", "SS", "X")
        + _flow("SF2", "X", "SE", "fehlt == True")
        + _flow("SF3", "X", "SOK")
        + "</bpmn:subProcess>",
        '<bpmn:userTask id="After" name="Bescheid" /><bpmn:endEvent id="E" />',
        _flow("F0", "S", "U"),
        _flow("F1", "U", "Sub"),
        _flow("F2", "Sub", "After"),
        _flow("F3", "After", "E"),
        catch,
        '<bpmn:subProcess id="ES" triggeredByEvent="true">',
        '<bpmn:startEvent id="ESS"><bpmn:errorEventDefinition errorRef="Err" /></bpmn:startEvent>',
        '<bpmn:userTask id="H" name="Nachforderung" /><bpmn:endEvent id="EE" />',
        _flow("EF0", "ESS", "H"),
        _flow("EF1", "H", "EE"),
        "</bpmn:subProcess>",
        "</bpmn:process>",
    )


def test_an_event_subprocess_started_by_an_error_waits_for_the_error():
    report = inspect(_error_model())
    assert report.ok, [str(f) for f in report.errors]

    instance = ProcessDefinition.from_xml(_error_model()).start({"fehlt": False}, now=T0)
    assert _ready(instance) == ["U"]  # not started at once
    _complete(instance, "U")
    assert _ready(instance) == ["After"]  # no error: the process goes on


def test_an_error_starts_the_event_subprocess_which_ends_the_rest():
    instance = ProcessDefinition.from_xml(_error_model()).start({"fehlt": True}, now=T0)
    instance = ProcessInstance.load(instance.dump())
    _complete(instance, "U")

    assert _ready(instance) == ["H"]  # "After" never becomes ready: the error interrupts the process
    _complete(instance, "H")
    assert instance.is_completed
    assert "After" not in instance.completed_element_ids()


def test_a_boundary_event_that_catches_the_error_comes_first():
    instance = ProcessDefinition.from_xml(_error_model(boundary=True)).start({"fehlt": True}, now=T0)
    _complete(instance, "U")

    assert _ready(instance) == ["BH"]


def test_an_event_subprocess_of_a_subprocess_handles_its_error_and_the_process_goes_on():
    xml = _definitions(
        '<bpmn:error id="Err" name="Prüfung gescheitert" errorCode="x" />',
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S" /><bpmn:userTask id="After" name="Bescheid" /><bpmn:endEvent id="E" />',
        '<bpmn:subProcess id="Sub"><bpmn:startEvent id="SS" /><bpmn:userTask id="W" name="Prüfen" />'
        '<bpmn:endEvent id="SE"><bpmn:errorEventDefinition errorRef="Err" /></bpmn:endEvent>'
        + _flow("SF1", "SS", "W")
        + _flow("SF2", "W", "SE")
        + '<bpmn:subProcess id="ES" triggeredByEvent="true">'
        '<bpmn:startEvent id="ESS"><bpmn:errorEventDefinition /></bpmn:startEvent>'
        '<bpmn:userTask id="H" name="Nacharbeiten" /><bpmn:endEvent id="EE" />'
        + _flow("EF0", "ESS", "H")
        + _flow("EF1", "H", "EE")
        + "</bpmn:subProcess></bpmn:subProcess>",
        _flow("F0", "S", "Sub"),
        _flow("F1", "Sub", "After"),
        _flow("F2", "After", "E"),
        "</bpmn:process>",
    )
    instance = ProcessDefinition.from_xml(xml).start({}, now=T0)
    _complete(instance, "W")

    assert _ready(instance) == ["H"]  # the innermost event subprocess, without an error code, catches it
    _complete(instance, "H")
    assert _ready(instance) == ["After"]  # handled within the subprocess: the process goes on


def test_an_error_event_subprocess_runs_along_every_path():
    result = assess("error-subprocess", _error_model())
    assert result.outcome == IMPORTED_AND_RUNS, result.detail
    assert {"H", "After"} <= result.visited


# -- timers without a value ------------------------------------------------------------------------------------------


def test_a_timer_without_a_value_is_refused_with_the_reason_and_line():
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S" />',
        '<bpmn:intermediateCatchEvent id="T" name="24 Stunden"><bpmn:timerEventDefinition />'
        "</bpmn:intermediateCatchEvent>",
        '<bpmn:endEvent id="E" />',
        _flow("F0", "S", "T"),
        _flow("F1", "T", "E"),
        "</bpmn:process>",
    )
    report = inspect(xml)

    (found,) = report.errors
    assert (found.code, found.element_id, found.line) == ("bad-timer", "T", 5)
    assert "has no value" in str(found.message)
