"""BPMN: messages from outside (boundary events, event subprocesses), conditional flows leaving activities,
XPath conditions of older tools, and call activities resolved against the released processes of the library."""

from __future__ import annotations

import pytest
from django.utils import translation
from lxml import etree

from dikom.cases.bpmn.checks import inspect
from dikom.cases.bpmn.engine import ProcessDefinition, ProcessInstance
from dikom.cases.bpmn.xmlsafe import BPMN_NS
from dikom.cases.bpmn.xpath import XPathNotTranslatable, translate


@pytest.fixture(autouse=True)
def english_messages():
    with translation.override("en"):
        yield


def _definitions(*parts: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">'
        + "".join(parts)
        + "</bpmn:definitions>"
    ).encode()


def _flow(ident: str, source: str, target: str, condition: str = "", language: str = "") -> str:
    if not condition:
        return f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}" />'
    lang = f' language="{language}"' if language else ""
    return (
        f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression{lang}>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def _boundary_model(interrupting: bool) -> bytes:
    return _definitions(
        '<bpmn:message id="M" name="Antwort des Bürgers" /><bpmn:process id="P" isExecutable="true">'
        '<bpmn:startEvent id="S" /><bpmn:userTask id="U" name="Prüfen" />'
        f'<bpmn:boundaryEvent id="B" attachedToRef="U" cancelActivity="{str(interrupting).lower()}">'
        '<bpmn:messageEventDefinition messageRef="M" /></bpmn:boundaryEvent>'
        '<bpmn:userTask id="R" name="Antwort lesen" /><bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />'
        + _flow("F0", "S", "U")
        + _flow("F1", "U", "E1")
        + _flow("F2", "B", "R")
        + _flow("F3", "R", "E2")
        + "</bpmn:process>"
    )


def test_an_interrupting_message_boundary_event_is_a_step_that_ends_the_task():
    report = inspect(_boundary_model(interrupting=True))
    assert report.ok, [str(f) for f in report.errors]
    assert any(f.code == "message-wait" and f.element_id == "B" for f in report.notes)

    instance = ProcessDefinition.from_xml(_boundary_model(True)).start({})
    steps = {t.bpmn_id: t for t in instance.ready_user_tasks()}
    assert set(steps) == {"U", "B"}
    assert steps["B"].message == "Antwort des Bürgers"
    assert steps["B"].name == "Message received: Antwort des Bürgers"

    # stored and loaded in between, as a case does
    instance = ProcessInstance.load(instance.dump())
    instance.complete_user_task(steps["B"].id, {"answer": "Unterlagen anbei"})

    assert [t.bpmn_id for t in instance.ready_user_tasks()] == ["R"]  # the task "Prüfen" was interrupted
    assert instance.data["answer"] == "Unterlagen anbei"
    instance.complete_user_task(instance.ready_user_tasks()[0].id)
    assert instance.is_completed and "E2" in instance.completed_element_ids()
    assert "E1" not in instance.completed_element_ids()


def test_when_the_task_is_done_first_the_message_is_no_longer_awaited():
    instance = ProcessDefinition.from_xml(_boundary_model(False)).start({})
    task = next(t for t in instance.ready_user_tasks() if t.bpmn_id == "U")
    instance.complete_user_task(task.id)

    assert instance.is_completed and "R" not in instance.completed_element_ids()


def test_a_non_interrupting_message_boundary_event_keeps_the_task():
    instance = ProcessDefinition.from_xml(_boundary_model(False)).start({})
    message = next(t for t in instance.ready_user_tasks() if t.message)
    instance.complete_user_task(message.id, {})

    assert {t.bpmn_id for t in instance.ready_user_tasks()} == {"U", "R"}


def test_a_platform_event_delivers_the_message_by_its_name():
    instance = ProcessDefinition.from_xml(_boundary_model(True)).start({})

    assert not instance.receive_message("Zahlung", {})  # nothing waits for it: nothing changes
    assert instance.receive_message("Antwort des Bürgers", {"answer": "ja"})
    assert [t.bpmn_id for t in instance.ready_user_tasks()] == ["R"]


def _event_subprocess_model(interrupting: bool) -> bytes:
    return _definitions(
        '<bpmn:message id="M" name="Rücknahme" /><bpmn:process id="P" isExecutable="true">'
        '<bpmn:startEvent id="S" /><bpmn:userTask id="U" name="Bearbeiten" /><bpmn:endEvent id="E" />'
        + _flow("F0", "S", "U")
        + _flow("F1", "U", "E")
        + '<bpmn:subProcess id="ES" triggeredByEvent="true">'
        f'<bpmn:startEvent id="ESS" isInterrupting="{str(interrupting).lower()}">'
        '<bpmn:messageEventDefinition messageRef="M" /></bpmn:startEvent>'
        '<bpmn:userTask id="EU" name="Rücknahme bestätigen" /><bpmn:endEvent id="EE" />'
        + _flow("EF0", "ESS", "EU")
        + _flow("EF1", "EU", "EE")
        + "</bpmn:subProcess></bpmn:process>"
    )


def test_a_message_starts_an_interrupting_event_subprocess_which_ends_the_rest():
    report = inspect(_event_subprocess_model(True))
    assert report.ok, [str(f) for f in report.errors]
    instance = ProcessDefinition.from_xml(_event_subprocess_model(True)).start({})
    message = next(t for t in instance.ready_user_tasks() if t.message == "Rücknahme")

    instance = ProcessInstance.load(instance.dump())
    instance.complete_user_task(message.id, {"reason": "erledigt"})

    assert [t.bpmn_id for t in instance.ready_user_tasks()] == ["EU"]
    instance.complete_user_task(instance.ready_user_tasks()[0].id)
    assert instance.is_completed and "U" not in instance.completed_element_ids()


def test_a_non_interrupting_event_subprocess_runs_beside_the_process():
    instance = ProcessDefinition.from_xml(_event_subprocess_model(False)).start({})
    message = next(t for t in instance.ready_user_tasks() if t.message)
    instance.complete_user_task(message.id, {})

    assert {"U", "EU"} <= {t.bpmn_id for t in instance.ready_user_tasks()}


@pytest.mark.parametrize(
    ("amount", "ends"),
    [(50, {"Small"}), (5000, {"Small", "Large"})],
)
def test_conditional_flows_leaving_a_task_take_every_flow_whose_condition_holds(amount, ends):
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:task id="T" default="FD" />'
        '<bpmn:endEvent id="Small" /><bpmn:endEvent id="Large" /><bpmn:endEvent id="Other" />'
        + _flow("F0", "S", "T")
        + _flow("F1", "T", "Small", "amount &gt; 10")
        + _flow("F2", "T", "Large", "${amount &gt; 1000}")
        + _flow("FD", "T", "Other")
        + "</bpmn:process>"
    )
    report = inspect(xml)
    assert report.ok, [str(f) for f in report.errors]
    assert any(f.code == "conditional-flows" and f.element_id == "T" for f in report.notes)

    instance = ProcessDefinition.from_xml(xml).start({"amount": amount})

    assert instance.is_completed
    assert {e for e in ("Small", "Large", "Other") if e in instance.completed_element_ids()} == ends


def test_the_default_flow_of_a_task_is_taken_when_no_condition_holds():
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:task id="T" default="FD" />'
        '<bpmn:endEvent id="Yes" /><bpmn:endEvent id="Other" />'
        + _flow("F0", "S", "T")
        + _flow("F1", "T", "Yes", "approved")
        + _flow("FD", "T", "Other")
        + "</bpmn:process>"
    )
    instance = ProcessDefinition.from_xml(xml).start({"approved": False})

    assert instance.is_completed and "Other" in instance.completed_element_ids()
    assert "Yes" not in instance.completed_element_ids()


XPATH = "http://www.w3.org/1999/XPath"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bpmn:getDataObject('order')/amount &gt; 100", "order['amount']>100"),
        ("$approved = true() and $fee != 0", "approved==True and fee!=0"),
        ("not($status = 'open') or $priority &lt;= 2.5", "not (status=='open') or priority<=2.5"),
        ("true", "True"),
    ],
)
def test_simple_xpath_conditions_are_translated(text, expected):
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:exclusiveGateway id="G" '
        'default="FD" /><bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />'
        + _flow("F0", "S", "G")
        + _flow("F1", "G", "E1", text, XPATH)
        + _flow("FD", "G", "E2")
        + "</bpmn:process>"
    )
    report = inspect(xml)

    assert report.ok, [str(f) for f in report.errors]
    root = etree.fromstring(report.engine_xml or b"")
    (condition,) = root.iter(f"{{{BPMN_NS}}}conditionExpression")
    assert condition.text == expected and condition.get("language") is None


def test_a_translated_xpath_condition_decides_the_path():
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:exclusiveGateway id="G" '
        'default="FD" /><bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />'
        + _flow("F0", "S", "G")
        + _flow("F1", "G", "E1", "bpmn:getDataObject('order')/amount &gt; 100 and $approved", XPATH)
        + _flow("FD", "G", "E2")
        + "</bpmn:process>"
    )
    definition = ProcessDefinition.from_xml(xml)

    assert "E1" in definition.start({"order": {"amount": 150}, "approved": True}).completed_element_ids()
    assert "E2" in definition.start({"order": {"amount": 50}, "approved": True}).completed_element_ids()


@pytest.mark.parametrize("text", ["count(//item) &gt; 2", "$a + 1 &gt; 2", "@kind = 'x'", "$a div 2 = 1"])
def test_other_xpath_is_refused_with_the_exact_expression_and_line(text):
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:exclusiveGateway id="G" '
        'default="FD" /><bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />\n'
        + _flow("F0", "S", "G")
        + "\n"
        + _flow("F1", "G", "E1", text, XPATH)
        + _flow("FD", "G", "E2")
        + "</bpmn:process>"
    )
    report = inspect(xml)

    (error,) = report.errors
    original = text.replace("&gt;", ">")
    assert error.code == "unsupported-language" and error.line == 3
    assert f"“{original}”" in str(error.message)


def test_xpath_translation_stops_at_the_first_unknown_part():
    with pytest.raises(XPathNotTranslatable) as caught:
        translate("$a = 1 and string-length($b) > 2")
    assert caught.value.part == "string-length"


def test_an_empty_condition_is_a_flow_without_condition():
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:task id="T" />'
        '<bpmn:endEvent id="E" />' + _flow("F0", "S", "T") + '<bpmn:sequenceFlow id="F1" sourceRef="T" targetRef="E">'
        f'<bpmn:conditionExpression language="{XPATH}" /></bpmn:sequenceFlow></bpmn:process>'
    )
    report = inspect(xml)

    assert report.ok and any(f.code == "empty-condition" for f in report.notes)
    assert ProcessDefinition.from_xml(xml).start({}).is_completed


def test_feel_quantifiers_are_translated_not_mangled():
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:exclusiveGateway id="G" '
        'default="FD" /><bpmn:endEvent id="Red" /><bpmn:endEvent id="Yellow" /><bpmn:endEvent id="Other" />'
        + _flow("F0", "S", "G")
        + _flow("F1", "G", "Red", '= some risk in risks satisfies risk = "red"')
        + _flow("F2", "G", "Yellow", '= every risk in risks satisfies risk = "yellow"')
        + _flow("FD", "G", "Other")
        + "</bpmn:process>"
    )
    definition = ProcessDefinition.from_xml(xml)

    assert "Red" in definition.start({"risks": ["yellow", "red"]}).completed_element_ids()
    assert "Yellow" in definition.start({"risks": ["yellow", "yellow"]}).completed_element_ids()
    assert "Other" in definition.start({"risks": ["green", "yellow"]}).completed_element_ids()


def test_other_feel_quantifiers_are_refused():
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:exclusiveGateway id="G" '
        'default="FD" /><bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />'
        + _flow("F0", "S", "G")
        + _flow("F1", "G", "E1", "= some item in items satisfies item.amount &gt; 5")
        + _flow("FD", "G", "E2")
        + "</bpmn:process>"
    )
    (error,) = inspect(xml).errors
    assert error.code == "unsafe-expression" and "some item in items" in str(error.message)


# -- call activities to the library -----------------------------------------------------------------------

CALLED = _definitions(
    '<bpmn:process id="Pruefung" isExecutable="true"><bpmn:startEvent id="CS" />'
    '<bpmn:userTask id="CU" name="Fachlich prüfen" /><bpmn:endEvent id="CE" />'
    + _flow("CF0", "CS", "CU")
    + _flow("CF1", "CU", "CE")
    + "</bpmn:process>"
)


def _caller(called: str = "Pruefung") -> bytes:
    return _definitions(
        '<bpmn:process id="Antrag" isExecutable="true"><bpmn:startEvent id="S" />'
        f'<bpmn:callActivity id="C" name="Prüfung" calledElement="{called}" /><bpmn:endEvent id="E" />'
        + _flow("F0", "S", "C")
        + _flow("F1", "C", "E")
        + "</bpmn:process>"
    )


def test_a_call_activity_runs_a_released_process_of_the_library():
    library = {"Pruefung": CALLED}.get
    report = inspect(_caller(), resolve_process=library)
    assert report.ok, [str(f) for f in report.errors]
    assert any(f.code == "library-process" for f in report.notes)
    assert report.element("CU") is not None and report.element("CU").parent_id == "C"

    instance = ProcessDefinition.from_xml(_caller(), resolve_process=library).start({})
    # the called process is part of the stored state: the case keeps the version it started with
    instance = ProcessInstance.load(instance.dump())
    (task,) = instance.ready_user_tasks()
    assert task.bpmn_id == "CU"
    instance.complete_user_task(task.id)
    assert instance.is_completed


def test_a_call_activity_to_a_missing_process_names_its_id():
    report = inspect(_caller("Gibt_es_nicht"), resolve_process={"Pruefung": CALLED}.get)

    (error,) = report.errors
    assert error.element_id == "C" and "“Gibt_es_nicht”" in str(error.message)
    assert "released process of the library" in str(error.message)


def test_a_library_process_that_cannot_run_is_refused_with_its_problem():
    broken = CALLED.replace(b'<bpmn:userTask id="CU"', b'<bpmn:complexGateway id="CX" /><bpmn:userTask id="CU"')
    report = inspect(_caller(), resolve_process={"Pruefung": broken}.get)

    (error,) = report.errors
    assert "“Pruefung” of the library cannot be run" in str(error.message)


def test_processes_calling_each_other_through_the_library_are_refused():
    ping = _caller("Pong").replace(b'id="Antrag"', b'id="Ping"')
    pong = _caller("Ping").replace(b'id="Antrag"', b'id="Pong"')
    report = inspect(ping, resolve_process={"Ping": ping, "Pong": pong}.get)

    assert not report.ok
    assert any("calls itself" in str(f.message) for f in report.errors)


def test_elements_named_like_the_engine_s_own_tasks_run():
    # "Start" and "End" are the names SpiffWorkflow gives its own tasks; a model using them as ids still runs
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="Start" /><bpmn:userTask id="Root" />'
        '<bpmn:endEvent id="End" />' + _flow("F0", "Start", "Root") + _flow("F1", "Root", "End") + "</bpmn:process>"
    )
    instance = ProcessDefinition.from_xml(xml).start({})
    (task,) = instance.ready_user_tasks()
    assert task.bpmn_id == "Root"
    assert "Start" in instance.completed_element_ids()

    instance.complete_user_task(task.id)
    assert instance.is_completed and "End" in instance.completed_element_ids()
