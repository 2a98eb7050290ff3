"""Import checks of BPMN files: supported elements, findings with lines, hostile XML, safe expressions."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from dikom.cases.bpmn.checks import ERROR, NOTE, inspect
from dikom.cases.bpmn.expressions import ExpressionError, evaluate, execute, validate_expression, validate_script


@pytest.fixture(autouse=True)
def english_messages():
    """The messages checked here are the English msgids (the installation default is German)."""
    with translation.override("en"):
        yield


FIXTURES = Path(__file__).parent / "bpmn"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def finding(report, code: str, element_id: str):
    matches = [f for f in report.findings if f.code == code and f.element_id == element_id]
    assert matches, f"no {code} for {element_id}: {[str(f) for f in report.findings]}"
    return matches[0]


@pytest.mark.parametrize(
    ("name", "process_id"),
    [
        ("dog_tax.bpmn", "Process_DogTax"),
        ("parking_permit.bpmn", "Process_Parking"),
        ("subsidy.bpmn", "Process_Subsidy"),
        ("camunda7_special_use.bpmn", "Process_Sondernutzung"),
        ("zeebe_no_diagram.bpmn", "Process_Fee"),
    ],
)
def test_demo_and_exported_processes_are_accepted(name, process_id):
    report = inspect(load(name))
    assert report.errors == []
    assert report.ok
    assert report.process_id == process_id
    assert report.engine_xml is not None
    assert all(element.supported for element in report.elements)


def test_elements_and_lanes_are_listed():
    report = inspect(load("subsidy.bpmn"))
    ids = {e.id for e in report.elements}
    assert {"Task_PreCheck", "Task_TechReview", "Task_FinReview", "Gateway_Split", "Boundary_TechDeadline"} <= ids
    assert [(lane.id, lane.name) for lane in report.lanes] == [
        ("Lane_Funding", "Funding office"),
        ("Lane_Building", "Building department"),
        ("Lane_Treasury", "Treasury"),
    ]
    fin = report.element("Task_FinReview")
    assert fin is not None
    assert (fin.lane_id, fin.tag, fin.line) == ("Lane_Treasury", "bpmn:userTask", 82)
    assert report.has_diagram


def test_subprocess_elements_inherit_the_lane_of_the_subprocess():
    report = inspect(load("parking_permit.bpmn"))
    sign = report.element("Task_Sign")
    assert sign is not None
    assert sign.parent_id == "Sub_Issue"
    assert sign.lane_id == "Lane_Traffic"


def test_camunda_export_notes_what_is_dropped_and_converted():
    report = inspect(load("camunda7_special_use.bpmn"))
    assert report.exporter == "Camunda Modeler 5.17.0"
    dropped = str(finding(report, "vendor-ignored", "Activity_0s1kq4e").message)
    for setting in ("camunda:assignee", "camunda:candidateGroups", "camunda:formKey", "camunda:dueDate"):
        assert setting in dropped
    assert finding(report, "vendor-ignored", "Activity_0s1kq4e").line == 52
    assert "sondernutzung-pruefen" in str(finding(report, "topic-from-vendor", "Activity_1pq0n7d").message)
    converted = str(finding(report, "converted-condition", "Flow_1q6ut3b").message)
    assert "genehmigt == True and gebuehr >= 0" in converted
    assert finding(report, "participant-without-process", "Participant_1h3j9ak").level == NOTE
    assert finding(report, "message-flow-ignored", "Flow_0m4ylqs").level == NOTE
    # Colour attributes of bpmn-js are cosmetic and not worth a note.
    assert not any("bioc" in str(f.message) or "color:" in str(f.message) for f in report.findings)
    assert [lane.name for lane in report.lanes] == ["Bürgerbüro", "Straßenverkehrsbehörde"]


def test_zeebe_feel_conditions_and_task_types_are_converted():
    report = inspect(load("zeebe_no_diagram.bpmn"))
    assert 'fee > 1000 and status == "open"' in str(finding(report, "converted-condition", "Flow_Large").message)
    assert "fee-calc" in str(finding(report, "topic-from-vendor", "Activity_Fee").message)
    assert not report.has_diagram
    assert b'fee &gt; 1000 and status == "open"' in (report.engine_xml or b"")


@pytest.mark.parametrize(
    ("element_id", "tag", "line"),
    [
        ("Gateway_Complex", "bpmn:complexGateway", 33),
        ("Call_Missing", "bpmn:callActivity", 42),
        ("Boundary_Compensate", "bpmn:boundaryEvent", 53),
    ],
)
def test_unsupported_elements_are_named_with_tag_and_line(element_id, tag, line):
    report = inspect(load("unsupported_elements.bpmn"))
    found = finding(report, "unsupported-element", element_id)
    assert (found.level, found.tag, found.line) == (ERROR, tag, line)
    assert element_id in str(found.message)
    assert not report.ok
    assert report.engine_xml is None


def test_unsupported_messages_say_why():
    report = inspect(load("unsupported_elements.bpmn"))
    # a message start event is the application that opens the case: a note, not an error
    assert finding(report, "message-start", "Start_Message").level == NOTE
    # a business rule task calls a decision of the service's DMN tables (checked with the service)
    assert "fee-table" in str(finding(report, "business-rule-task", "Task_Rules").message)
    assert ("Task_Rules", "fee-table") in report.decision_refs
    assert "Process_Payment" in str(finding(report, "unsupported-element", "Call_Missing").message)
    assert not [f for f in report.errors if f.element_id in {"End_Escalate", "Throw_Signal"}]  # run by the engine
    assert "Compensation" in str(finding(report, "unsupported-element", "Boundary_Compensate").message)


def test_data_objects_are_ignored_with_a_note():
    report = inspect(load("unsupported_elements.bpmn"))
    assert finding(report, "data-ignored", "DataObject_Notice").level == NOTE
    assert finding(report, "data-ignored", "DataRef_Notice").line == 61


def test_disallowed_expressions_are_refused_at_import():
    report = inspect(load("unsafe_expressions.bpmn"))
    assert not report.ok
    imported = finding(report, "unsafe-script", "Script_Import")
    assert imported.line == 14  # the line with "import os", not the script element
    assert "Imports are not allowed" in str(imported.message)
    assert "__class__" in str(finding(report, "unsafe-script", "Script_Dunder").message)
    assert "While" in str(finding(report, "unsafe-script", "Script_Loop").message)
    assert "groovy" in str(finding(report, "unsupported-element", "Script_Groovy").message)
    assert finding(report, "unsafe-expression", "Flow_Eval").line == 52
    assert "open" in str(finding(report, "unsafe-expression", "Flow_Open").message)
    assert finding(report, "unsafe-expression", "Flow_Lambda").level == ERROR


def test_structural_mistakes_are_reported():
    report = inspect(load("broken_structure.bpmn"))
    assert finding(report, "no-start-event", "Process_Broken").level == ERROR
    # a gateway whose flows carry no conditions is a caseworker's choice, not an error
    assert finding(report, "caseworker-choice", "Gateway_NoDefault").level == NOTE
    bad_timer = finding(report, "bad-timer", "Timer_Bad")
    assert bad_timer.line == 21
    assert "in two weeks" in str(bad_timer.message)
    assert "Task_Nowhere" in str(finding(report, "missing-target", "Flow_Lost").message)


def _process(body: str, executable: str = "true", process_id: str = "P1") -> str:
    return (
        f'<bpmn:process id="{process_id}" isExecutable="{executable}">'
        '<bpmn:startEvent id="S_'
        + process_id
        + '"><bpmn:outgoing>F_'
        + process_id
        + "</bpmn:outgoing></bpmn:startEvent>"
        '<bpmn:endEvent id="E_' + process_id + '"><bpmn:incoming>F_' + process_id + "</bpmn:incoming></bpmn:endEvent>"
        f'<bpmn:sequenceFlow id="F_{process_id}" sourceRef="S_{process_id}" targetRef="E_{process_id}" />'
        f"{body}</bpmn:process>"
    )


def _definitions(*parts: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">'
        + "".join(parts)
        + "</bpmn:definitions>"
    ).encode()


def test_of_several_pools_the_one_with_the_most_steps_is_run():
    bigger = '<bpmn:task id="T_P2" />'
    report = inspect(_definitions(_process("", process_id="P1"), _process(bigger, process_id="P2")))

    assert report.ok
    assert report.process_id == "P2"
    assert any(f.code == "pool-chosen" and f.element_id == "P2" for f in report.notes)
    assert any(f.code == "process-ignored" and f.element_id == "P1" for f in report.notes)


def test_an_implicit_split_becomes_a_parallel_gateway_for_the_engine():
    from dikom.cases.bpmn.engine import ProcessDefinition

    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" />'
        '<bpmn:task id="T" /><bpmn:userTask id="U1" /><bpmn:userTask id="U2" />'
        '<bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />'
        '<bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="T" />'
        '<bpmn:sequenceFlow id="F1" sourceRef="T" targetRef="U1" />'
        '<bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="U2" />'
        '<bpmn:sequenceFlow id="F3" sourceRef="U1" targetRef="E1" />'
        '<bpmn:sequenceFlow id="F4" sourceRef="U2" targetRef="E2" /></bpmn:process>'
    )
    report = inspect(xml)
    assert report.ok and any(f.code == "implicit-split" for f in report.notes)

    instance = ProcessDefinition.from_xml(xml).start()
    assert sorted(t.bpmn_id for t in instance.ready_user_tasks()) == ["U1", "U2"]  # both branches run
    for task in instance.ready_user_tasks():
        instance.complete_user_task(task.id)
    assert instance.is_completed


def test_a_non_executable_export_is_accepted_with_a_note():
    # Signavio and ADONIS exports usually mark the process as not executable.
    report = inspect(_definitions(_process("", executable="false")))
    assert report.ok
    assert any(f.code == "not-executable" for f in report.notes)
    assert b'isExecutable="true"' in (report.engine_xml or b"")


def test_timer_expressions():
    def timer_process(value: str) -> bytes:
        return _definitions(
            '<bpmn:process id="P" isExecutable="true">'
            '<bpmn:startEvent id="S"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:intermediateCatchEvent id="Wait"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>'
            f"<bpmn:timerEventDefinition>{value}</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
            '<bpmn:endEvent id="E"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="Wait" />'
            '<bpmn:sequenceFlow id="F2" sourceRef="Wait" targetRef="E" />'
            "</bpmn:process>"
        )

    for good in (
        "<bpmn:timeDuration>P1Y2M3DT4H</bpmn:timeDuration>",
        "<bpmn:timeDuration>'P14D'</bpmn:timeDuration>",
        "<bpmn:timeDate>2025-03-01T09:00:00+01:00</bpmn:timeDate>",
        "<bpmn:timeDate>2025-03-01</bpmn:timeDate>",
        "<bpmn:timeCycle>R3/PT10M</bpmn:timeCycle>",
        "<bpmn:timeCycle>R/2025-01-01T00:00:00Z/P1D</bpmn:timeCycle>",
    ):
        assert inspect(timer_process(good)).ok, good
    computed = inspect(timer_process("<bpmn:timeDate>deadline</bpmn:timeDate>"))
    assert computed.ok
    assert any(f.code == "timer-expression" for f in computed.notes)
    for bad in (
        "<bpmn:timeDuration>14 days</bpmn:timeDuration>",
        "<bpmn:timeDate>next monday</bpmn:timeDate>",
        "<bpmn:timeDuration>__import__('os')</bpmn:timeDuration>",
        "",
    ):
        report = inspect(timer_process(bad))
        assert any(f.code == "bad-timer" and f.element_id == "Wait" for f in report.errors), bad


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">
  <bpmn:process id="P" name="&lol9;" />
</bpmn:definitions>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D">
  <bpmn:process id="P" name="&secret;" />
</bpmn:definitions>"""


@pytest.mark.parametrize(
    "payload",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        # The same attack in UTF-16.
        BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>')
        .decode()
        .encode("utf-16"),
        b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd"><bpmn:definitions '
        b'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>',
    ],
)
def test_hostile_xml_is_refused(payload):
    report = inspect(payload)
    assert not report.ok
    assert [f.code for f in report.errors] == ["doctype"]
    assert report.elements == []


def test_huge_files_are_refused():
    huge = _definitions(_process("<bpmn:documentation>" + "x" * (6 * 1024 * 1024) + "</bpmn:documentation>"))
    assert [f.code for f in inspect(huge).errors] == ["too-large"]
    many = _definitions(_process("".join(f'<bpmn:textAnnotation id="T{i}" />' for i in range(60_000))))
    assert [f.code for f in inspect(many).errors] == ["too-many-elements"]


def test_not_xml_and_not_bpmn():
    broken = inspect(b"<definitions>\n<oops></definitions>")
    assert [f.code for f in broken.errors] == ["not-xml"]
    assert broken.errors[0].line == 2
    other = inspect(b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    assert [f.code for f in other.errors] == ["not-bpmn"]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_inspect_never_raises_on_arbitrary_input(data):
    report = inspect(data)
    assert report.ok or report.errors


def test_messages_are_translatable_lazily():
    report = inspect(load("unsupported_elements.bpmn"))
    with translation.override("de"):
        rendered = [str(f.message) for f in report.findings]
    assert all(rendered)


# -- the safe expression language ---------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os')",
        "x.__class__",
        "().__class__.__bases__",
        "open('/etc/passwd')",
        "eval('1')",
        "getattr(x, 'y')",
        "[c for c in 'abc']",
        "lambda: 1",
        "2 ** 1000",
        "x[1:2]",
        "f(*args)",
        "len(x=1)",
        "_secret",
        "'a' if True else b.c",
    ],
)
def test_expressions_outside_the_allow_list_are_refused(source):
    with pytest.raises(ExpressionError):
        validate_expression(source)


@pytest.mark.parametrize(
    "script",
    [
        "import os",
        "from os import path",
        "while True:\n    pass",
        "for x in y:\n    pass",
        "def f():\n    pass",
        "x.y = 1",
        "len = 1",
        "del x",
        "with x:\n    pass",
    ],
)
def test_scripts_outside_the_allow_list_are_refused(script):
    with pytest.raises(ExpressionError):
        validate_script(script)


def test_allowed_expressions_evaluate():
    data = {"amount": 1200, "status": "open", "items": [1, 2, 3], "applicant": {"age": 17}}
    assert evaluate("amount > 1000 and status == 'open'", data) is True
    assert evaluate("applicant['age'] < 18 or len(items) > 5", data) is True
    assert evaluate("get(applicant, 'city', 'none')", data) == "none"
    assert evaluate("'x' if lower('OPEN') == status else 'y'", data) == "x"
    assert evaluate("days_between('2025-01-01', '2025-03-01')", {}) == 59


def test_scripts_assign_only_when_they_succeed():
    data = {"dogs": 2}
    execute("base = 180 * dogs\nif base > 300:\n    big = True\nelse:\n    big = False", data)
    assert data == {"dogs": 2, "base": 360, "big": True}
    untouched = {"dogs": 2}
    with pytest.raises(ExpressionError):
        execute("base = 1\nbroken = 1 / 0", untouched)
    assert untouched == {"dogs": 2}


def test_results_that_would_exhaust_memory_are_refused():
    with pytest.raises(ExpressionError):
        evaluate("'x' * n", {"n": 10**9})
    with pytest.raises(ExpressionError):
        evaluate("'%0999999999d' % 1", {})
    with pytest.raises(ExpressionError):
        execute("n = n * n\nn = n * n\nn = n * n\nn = n * n", {"n": 10**20})


def test_a_plain_task_passes_through_also_after_the_state_is_stored():
    from dikom.cases.bpmn.engine import ProcessDefinition, ProcessInstance

    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" /><bpmn:userTask id="U" />'
        '<bpmn:task id="T" /><bpmn:endEvent id="E" />'
        '<bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="U" />'
        '<bpmn:sequenceFlow id="F1" sourceRef="U" targetRef="T" />'
        '<bpmn:sequenceFlow id="F2" sourceRef="T" targetRef="E" /></bpmn:process>'
    )
    instance = ProcessInstance.load(ProcessDefinition.from_xml(xml).start().dump())
    (task,) = instance.ready_user_tasks()
    instance.complete_user_task(task.id)

    assert instance.is_completed
    assert "T" in instance.completed_element_ids()


def _gateway_model(condition_yes: str, condition_no: str, language: str = "", start: str = "") -> bytes:
    lang = f' language="{language}"' if language else ""
    return _definitions(
        f'<bpmn:message id="M" name="Antrag" /><bpmn:process id="P" isExecutable="true">'
        f'<bpmn:startEvent id="S">{start}</bpmn:startEvent><bpmn:exclusiveGateway id="G" />'
        '<bpmn:endEvent id="E1" /><bpmn:endEvent id="E2" />'
        '<bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="G" />'
        f'<bpmn:sequenceFlow id="F1" sourceRef="G" targetRef="E1"><bpmn:conditionExpression{lang}>'
        f"{condition_yes}</bpmn:conditionExpression></bpmn:sequenceFlow>"
        f'<bpmn:sequenceFlow id="F2" sourceRef="G" targetRef="E2"><bpmn:conditionExpression{lang}>'
        f"{condition_no}</bpmn:conditionExpression></bpmn:sequenceFlow></bpmn:process>"
    )


@pytest.mark.parametrize(
    ("yes", "no", "language", "data"),
    [
        # FEEL with a name containing a space (Trisotech), with and without the language given
        ('Vacation Approval = "Approved"', 'Vacation Approval != "Approved"', "", {"Vacation_Approval": "Approved"}),
        (
            'Vacation Approval = "Approved"',
            'not(Vacation Approval = "Approved")',
            "https://www.omg.org/spec/DMN/20191111/FEEL/",
            {"Vacation_Approval": "Approved"},
        ),
        # BPMN's XPath functions
        ("bpmn:getDataObject('approved')", "not(bpmn:getDataObject('approved'))", "", {"approved": True}),
        ("bpmn:getDataObject('clarified') = 'yes'", "bpmn:getDataObject('clarified') = 'no'", "", {"clarified": "yes"}),
        # JUEL of Camunda 7
        ("${approved}", "${!approved}", "", {"approved": True}),
    ],
)
def test_foreign_conditions_are_translated_and_run(yes, no, language, data):
    from dikom.cases.bpmn.engine import ProcessDefinition

    xml = _gateway_model(yes, no, language)
    report = inspect(xml)
    assert report.ok, [str(f) for f in report.errors]
    assert any(f.code == "converted-condition" for f in report.notes)

    instance = ProcessDefinition.from_xml(xml).start(data)
    assert instance.is_completed
    assert "E1" in instance.completed_element_ids() and "E2" not in instance.completed_element_ids()


def test_an_untranslatable_xpath_condition_is_refused_with_expression_and_line():
    xml = _gateway_model("count(//item) &gt; 2", "true()", "http://www.w3.org/1999/XPath")
    report = inspect(xml)

    (error,) = report.errors
    assert error.code == "unsupported-language" and error.line == 1


def test_a_message_start_event_starts_the_case():
    from dikom.cases.bpmn.engine import ProcessDefinition

    xml = _gateway_model("True", "False", start='<bpmn:messageEventDefinition messageRef="M" />')
    report = inspect(xml)
    assert report.ok and any(f.code == "message-start" for f in report.notes)
    assert ProcessDefinition.from_xml(xml).start().is_completed


def _multi_instance(task: str) -> bytes:
    return _definitions(
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S" />'
        f'<bpmn:{task} id="M"><bpmn:multiInstanceLoopCharacteristics isSequential="false">'
        "<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>"
        '<bpmn:inputDataItem id="item" /><bpmn:outputDataItem id="result" />'
        f'</bpmn:multiInstanceLoopCharacteristics></bpmn:{task}><bpmn:endEvent id="E" />'
        '<bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="M" />'
        '<bpmn:sequenceFlow id="F1" sourceRef="M" targetRef="E" /></bpmn:process>'
    )


def test_a_multi_instance_user_task_with_an_output_collection_completes():
    from dikom.cases.bpmn.engine import ProcessDefinition, ProcessInstance

    instance = ProcessDefinition.from_xml(_multi_instance("userTask")).start({"items": ["Hund", "Katze"]})
    for answer in ("geprüft", "abgelehnt"):
        instance = ProcessInstance.load(instance.dump())
        task = instance.ready_user_tasks()[0]
        instance.complete_user_task(task.id, {"result_text": answer})

    assert instance.is_completed
    assert sorted(r["result_text"] for r in instance.data["results"]) == ["abgelehnt", "geprüft"]


def test_an_automatic_multi_instance_task_with_an_output_collection_completes():
    from dikom.cases.bpmn.engine import ProcessDefinition

    instance = ProcessDefinition.from_xml(_multi_instance("task")).start({"items": [1, 2, 3]})

    assert instance.is_completed
    assert sorted(instance.data["results"]) == [1, 2, 3]  # each instance's input item


def test_send_and_receive_tasks_map_onto_automation_and_a_person():
    from dikom.cases.bpmn.engine import ProcessDefinition

    xml = _definitions(
        '<bpmn:message id="M1" name="Eingangsbestätigung" /><bpmn:process id="P" isExecutable="true">'
        '<bpmn:startEvent id="S" /><bpmn:sendTask id="Send" messageRef="M1" />'
        '<bpmn:receiveTask id="Receive" name="Unterlagen abwarten" /><bpmn:endEvent id="E" />'
        '<bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="Send" />'
        '<bpmn:sequenceFlow id="F1" sourceRef="Send" targetRef="Receive" />'
        '<bpmn:sequenceFlow id="F2" sourceRef="Receive" targetRef="E" /></bpmn:process>'
    )
    report = inspect(xml)
    assert report.ok
    assert {"send-task", "receive-task"} <= {f.code for f in report.notes}
    calls = []

    instance = ProcessDefinition.from_xml(xml).start(service_handler=lambda call: calls.append(call.topic))
    assert calls == ["message:Eingangsbestätigung"]  # the message goes to the automation
    (waiting,) = instance.ready_user_tasks()  # the reply is recorded by a person
    assert waiting.bpmn_id == "Receive"
    instance.complete_user_task(waiting.id, {"unterlagen": "eingegangen"})
    assert instance.is_completed


def _run_to_end(xml: bytes, data: dict | None = None) -> tuple[object, list[str]]:
    """Import and run ``xml``, completing user tasks empty; return the instance and the automation's topics."""
    from dikom.cases.bpmn.engine import ProcessDefinition

    report = inspect(xml)
    assert report.ok, [str(f) for f in report.errors]
    topics: list[str] = []
    instance = ProcessDefinition.from_xml(xml).start(data or {}, service_handler=lambda c: topics.append(c.topic))
    for _round in range(10):
        tasks = instance.ready_user_tasks()
        if not tasks:
            break
        instance.complete_user_task(tasks[0].id)
    return instance, topics


def _one_process(body: str) -> bytes:
    return _definitions(f'<bpmn:process id="P" isExecutable="true">{body}</bpmn:process>')


def _flow(ident: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{ident}" sourceRef="{source}" targetRef="{target}" />'


def test_an_error_end_event_in_a_subprocess_is_caught_by_its_boundary_event():
    instance, _topics = _run_to_end(
        _definitions(
            '<bpmn:error id="Err" errorCode="ABGELEHNT" /><bpmn:process id="P" isExecutable="true">'
            '<bpmn:startEvent id="S" /><bpmn:subProcess id="Sub"><bpmn:startEvent id="SS" />'
            '<bpmn:endEvent id="SE"><bpmn:errorEventDefinition errorRef="Err" /></bpmn:endEvent>'
            + _flow("SF", "SS", "SE")
            + '</bpmn:subProcess><bpmn:boundaryEvent id="B" attachedToRef="Sub">'
            '<bpmn:errorEventDefinition errorRef="Err" /></bpmn:boundaryEvent>'
            '<bpmn:endEvent id="Normal" /><bpmn:endEvent id="Caught" />'
            + _flow("F0", "S", "Sub")
            + _flow("F1", "Sub", "Normal")
            + _flow("F2", "B", "Caught")
            + "</bpmn:process>"
        )
    )
    assert instance.is_completed
    assert "Caught" in instance.completed_element_ids() and "Normal" not in instance.completed_element_ids()


def test_link_events_are_joined_into_one_path():
    report = inspect(
        _one_process(
            '<bpmn:startEvent id="S" /><bpmn:intermediateThrowEvent id="LT">'
            '<bpmn:linkEventDefinition name="weiter" /></bpmn:intermediateThrowEvent>'
            '<bpmn:intermediateCatchEvent id="LC"><bpmn:linkEventDefinition name="weiter" />'
            '</bpmn:intermediateCatchEvent><bpmn:endEvent id="E" />' + _flow("F0", "S", "LT") + _flow("F1", "LC", "E")
        )
    )
    assert report.ok, [str(f) for f in report.errors]
    assert b'sourceRef="LT" targetRef="LC"' in (report.engine_xml or b"")


def test_message_events_become_automation_and_a_person():
    instance, topics = _run_to_end(
        _definitions(
            '<bpmn:message id="M1" name="Nachforderung" /><bpmn:message id="M2" name="Antwort" />'
            '<bpmn:message id="M3" name="Bescheid" /><bpmn:process id="P" isExecutable="true">'
            '<bpmn:startEvent id="S" /><bpmn:intermediateThrowEvent id="T">'
            '<bpmn:messageEventDefinition messageRef="M1" /></bpmn:intermediateThrowEvent>'
            '<bpmn:intermediateCatchEvent id="C"><bpmn:messageEventDefinition messageRef="M2" />'
            '</bpmn:intermediateCatchEvent><bpmn:endEvent id="E">'
            '<bpmn:messageEventDefinition messageRef="M3" /></bpmn:endEvent>'
            + _flow("F0", "S", "T")
            + _flow("F1", "T", "C")
            + _flow("F2", "C", "E")
            + "</bpmn:process>"
        )
    )
    assert instance.is_completed
    assert topics == ["message:Nachforderung", "message:Bescheid"]
    assert "C" in instance.completed_element_ids()  # recorded by a person


def test_a_signal_thrown_in_one_branch_releases_the_other():
    instance, _topics = _run_to_end(
        _definitions(
            '<bpmn:signal id="Sig" name="bezahlt" /><bpmn:process id="P" isExecutable="true">'
            '<bpmn:startEvent id="S" /><bpmn:parallelGateway id="Split" /><bpmn:parallelGateway id="Join" />'
            '<bpmn:intermediateCatchEvent id="Wait"><bpmn:signalEventDefinition signalRef="Sig" />'
            '</bpmn:intermediateCatchEvent><bpmn:userTask id="Pay" />'
            '<bpmn:intermediateThrowEvent id="Throw"><bpmn:signalEventDefinition signalRef="Sig" />'
            '</bpmn:intermediateThrowEvent><bpmn:endEvent id="E" />'
            + _flow("F0", "S", "Split")
            + _flow("F1", "Split", "Wait")
            + _flow("F2", "Split", "Pay")
            + _flow("F3", "Pay", "Throw")
            + _flow("F4", "Wait", "Join")
            + _flow("F5", "Throw", "Join")
            + _flow("F6", "Join", "E")
            + "</bpmn:process>"
        )
    )
    assert instance.is_completed


def test_an_escalation_in_a_subprocess_is_caught_by_its_boundary_event():
    instance, _topics = _run_to_end(
        _definitions(
            '<bpmn:escalation id="Esc" escalationCode="FRIST" /><bpmn:process id="P" isExecutable="true">'
            '<bpmn:startEvent id="S" /><bpmn:subProcess id="Sub"><bpmn:startEvent id="SS" />'
            '<bpmn:endEvent id="SE"><bpmn:escalationEventDefinition escalationRef="Esc" /></bpmn:endEvent>'
            + _flow("SF", "SS", "SE")
            + '</bpmn:subProcess><bpmn:boundaryEvent id="B" attachedToRef="Sub">'
            '<bpmn:escalationEventDefinition escalationRef="Esc" /></bpmn:boundaryEvent>'
            '<bpmn:endEvent id="Normal" /><bpmn:endEvent id="Caught" />'
            + _flow("F0", "S", "Sub")
            + _flow("F1", "Sub", "Normal")
            + _flow("F2", "B", "Caught")
            + "</bpmn:process>"
        )
    )
    assert instance.is_completed
    assert "Caught" in instance.completed_element_ids()


def test_a_wait_for_a_signal_nobody_throws_is_refused():
    report = inspect(
        _definitions(
            '<bpmn:signal id="Sig" name="bezahlt" /><bpmn:process id="P" isExecutable="true">'
            '<bpmn:startEvent id="S" /><bpmn:intermediateCatchEvent id="Wait">'
            '<bpmn:signalEventDefinition signalRef="Sig" /></bpmn:intermediateCatchEvent><bpmn:endEvent id="E" />'
            + _flow("F0", "S", "Wait")
            + _flow("F1", "Wait", "E")
            + "</bpmn:process>"
        )
    )
    (error,) = report.errors
    assert error.element_id == "Wait" and "forever" in str(error.message)


def test_a_collapsed_subprocess_without_content_passes_through():
    instance, _topics = _run_to_end(
        _one_process(
            '<bpmn:startEvent id="S" /><bpmn:subProcess id="Sub" name="Prüfung (eingeklappt)" />'
            '<bpmn:endEvent id="E" />' + _flow("F0", "S", "Sub") + _flow("F1", "Sub", "E")
        )
    )
    assert instance.is_completed and "Sub" in instance.completed_element_ids()


def test_a_repeated_task_without_count_or_items_runs_once_with_a_note():
    from dikom.cases.bpmn.engine import ProcessDefinition

    xml = """<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
      <bpmn:process id="p" isExecutable="true">
        <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
        <bpmn:serviceTask id="publish" name="Auf allen Kanälen veröffentlichen"><bpmn:incoming>f1</bpmn:incoming>
          <bpmn:outgoing>f2</bpmn:outgoing><bpmn:multiInstanceLoopCharacteristics/></bpmn:serviceTask>
        <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="publish"/>
        <bpmn:sequenceFlow id="f2" sourceRef="publish" targetRef="e"/>
      </bpmn:process></bpmn:definitions>""".encode()
    report = inspect(xml)
    assert report.ok
    assert finding(report, "multi-instance-once", "publish").level == NOTE
    calls = []
    instance = ProcessDefinition.from_xml(xml).start({}, service_handler=lambda call: calls.append(call.bpmn_id))
    assert instance.is_completed and calls == ["publish"]
