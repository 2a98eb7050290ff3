"""BPMN: event subprocesses started by a timer, a signal or a condition (interrupting and non-interrupting, of the
process and of a subprocess), the conditional start event of the process itself, the every-path runner, a case
whose timer starts an event subprocess (through the case actions), and the refusals that remain."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Any

import pytest

from dikom.cases import workflow
from dikom.cases.bpmn.checks import inspect
from dikom.cases.bpmn.coverage import IMPORTED_AND_RUNS, assess
from dikom.cases.bpmn.engine import ProcessDefinition, ProcessInstance
from dikom.cases.tests.bpmn_inline import T0, _complete, _definitions, _flow, _ready, english_messages  # noqa: F401 - autouse fixture

TIMER = "<bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition>"
SIGNAL = '<bpmn:signalEventDefinition signalRef="Sig" />'


def _condition(text: str, language: str = "") -> str:
    lang = f' language="{language}"' if language else ""
    return f"<bpmn:conditionalEventDefinition><bpmn:condition{lang}>{text}</bpmn:condition></bpmn:conditionalEventDefinition>"


def _event_subprocess(start: str, interrupting: bool, prefix: str = "") -> str:
    flag = "true" if interrupting else "false"
    return (
        f'<bpmn:subProcess id="{prefix}ESP" triggeredByEvent="true">'
        f'<bpmn:startEvent id="{prefix}ES" name="Ereignis" isInterrupting="{flag}">{start}</bpmn:startEvent>'
        f'<bpmn:userTask id="{prefix}H" name="Eilbearbeitung" /><bpmn:endEvent id="{prefix}EE" />'
        + _flow(f"{prefix}e1", f"{prefix}ES", f"{prefix}H")
        + _flow(f"{prefix}e2", f"{prefix}H", f"{prefix}EE")
        + "</bpmn:subProcess>"
    )


def _main_flow(prefix: str = "") -> str:
    # S → Split → U: "Antrag bearbeiten" → T: throws the signal → W: "Bescheid" → E1
    #           → R: "Rückfragen beantworten" → E2
    p = prefix
    return "".join(
        [
            f'<bpmn:startEvent id="{p}S" /><bpmn:parallelGateway id="{p}Split" />',
            f'<bpmn:userTask id="{p}U" name="Antrag bearbeiten" />',
            f'<bpmn:intermediateThrowEvent id="{p}T" name="Eilt">{SIGNAL}</bpmn:intermediateThrowEvent>',
            f'<bpmn:userTask id="{p}W" name="Bescheid" /><bpmn:endEvent id="{p}E1" />',
            f'<bpmn:userTask id="{p}R" name="Rückfragen beantworten" /><bpmn:endEvent id="{p}E2" />',
            _flow(f"{p}f1", f"{p}S", f"{p}Split"),
            _flow(f"{p}f2", f"{p}Split", f"{p}U"),
            _flow(f"{p}f3", f"{p}U", f"{p}T"),
            _flow(f"{p}f4", f"{p}T", f"{p}W"),
            _flow(f"{p}f5", f"{p}W", f"{p}E1"),
            _flow(f"{p}f6", f"{p}Split", f"{p}R"),
            _flow(f"{p}f7", f"{p}R", f"{p}E2"),
        ]
    )


def _model(start: str, interrupting: bool) -> bytes:
    return _definitions(
        '<bpmn:signal id="Sig" name="Eilt" />',
        '<bpmn:process id="P" isExecutable="true">',
        _main_flow(),
        _event_subprocess(start, interrupting),
        "</bpmn:process>",
    )


def _nested_model(start: str, interrupting: bool, throw_outside: bool = False) -> bytes:
    # S0 → Sub (the main flow and the event subprocess inside) → After: "Nacharbeiten" → End
    #    (throw_outside: the signal is thrown by the process around it, in parallel to the subprocess)
    outside = (
        '<bpmn:parallelGateway id="Split0" /><bpmn:userTask id="X" name="Eilbedürftigkeit prüfen" />'
        f'<bpmn:intermediateThrowEvent id="XT">{SIGNAL}</bpmn:intermediateThrowEvent><bpmn:endEvent id="XE" />'
        + _flow("g1", "S0", "Split0")
        + _flow("g2", "Split0", "Sub")
        + _flow("g3", "Split0", "X")
        + _flow("g4", "X", "XT")
        + _flow("g5", "XT", "XE")
        if throw_outside
        else _flow("g1", "S0", "Sub")
    )
    return _definitions(
        '<bpmn:signal id="Sig" name="Eilt" />',
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S0" />',
        '<bpmn:subProcess id="Sub" name="Prüfung">',
        _main_flow("s"),
        _event_subprocess(start, interrupting, "s"),
        "</bpmn:subProcess>",
        '<bpmn:userTask id="After" name="Nacharbeiten" /><bpmn:endEvent id="End" />',
        outside,
        _flow("g6", "Sub", "After"),
        _flow("g7", "After", "End"),
        "</bpmn:process>",
    )


def _reload(instance: ProcessInstance) -> ProcessInstance:
    return ProcessInstance.load(instance.dump())


def _start(xml: bytes, data: dict | None = None) -> ProcessInstance:
    return ProcessDefinition.from_xml(xml).start(data or {}, now=T0)


# -- import ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [TIMER, SIGNAL, _condition("urgent")], ids=["timer", "signal", "condition"])
@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_event_subprocesses_started_by_a_timer_a_signal_or_a_condition_are_accepted(start, interrupting):
    for xml in (_model(start, interrupting), _nested_model(start, interrupting)):
        report = inspect(xml)
        assert report.ok, [str(f.message) for f in report.errors]


# -- timer ----------------------------------------------------------------------------------------------------------


def test_an_interrupting_timer_start_is_due_from_the_process_start_and_ends_the_rest_when_it_fires():
    instance = _start(_model(TIMER, True))
    [timer] = instance.waiting_timers()
    assert (timer.bpmn_id, timer.due_at, timer.interrupting) == ("ES", T0 + timedelta(days=3), True)
    assert instance.next_timer_due() == T0 + timedelta(days=3)
    _complete(instance, "U", {"note": "geprüft"})

    instance = _reload(instance)
    assert instance.fire_due_timers(now=T0 + timedelta(days=2)) == []  # not due yet
    assert instance.fire_due_timers(now=T0 + timedelta(days=3, seconds=1)) == ["ES"]

    [task] = instance.ready_user_tasks()
    assert task.bpmn_id == "H"  # "Bescheid" and "Rückfragen" ended
    assert task.data["note"] == "geprüft"  # the event subprocess sees the data as its process has it now
    _complete(instance, "H")
    assert instance.is_completed
    assert not {"W", "R"} & set(instance.completed_element_ids())


def test_a_non_interrupting_timer_start_runs_beside_the_rest():
    instance = _start(_model(TIMER, False))
    assert instance.waiting_timers()[0].interrupting is False
    assert instance.fire_due_timers(now=T0 + timedelta(days=4)) == ["ES"]
    assert _ready(instance) == ["H", "R", "U"]
    for bpmn_id in ("H", "R", "U", "W"):
        _complete(instance, bpmn_id)
    assert instance.is_completed


@pytest.mark.parametrize("interrupting", [True, False])
def test_when_its_process_ends_first_an_event_subprocess_timer_no_longer_waits(interrupting):
    instance = _start(_model(TIMER, interrupting))
    for bpmn_id in ("U", "R", "W"):
        _complete(instance, bpmn_id)
    assert instance.is_completed
    assert instance.waiting_timers() == [] and instance.next_timer_due() is None
    assert "H" not in instance.completed_element_ids()


def test_an_interrupting_timer_of_a_subprocess_ends_only_the_subprocess():
    instance = _start(_nested_model(TIMER, True))
    [timer] = instance.waiting_timers()
    assert timer.bpmn_id == "sES" and timer.due_at == T0 + timedelta(days=3)
    instance = _reload(instance)
    assert instance.fire_due_timers(now=T0 + timedelta(days=3, hours=1)) == ["sES"]
    assert _ready(instance) == ["sH"]
    _complete(instance, "sH")
    assert _ready(instance) == ["After"]  # the subprocess ended, the process goes on
    _complete(instance, "After")
    assert instance.is_completed


def test_a_timer_of_a_subprocess_is_due_from_when_the_subprocess_starts():
    xml = _definitions(
        '<bpmn:signal id="Sig" name="Eilt" />',
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S0" /><bpmn:userTask id="Before" name="Vorprüfung" />',
        '<bpmn:subProcess id="Sub">',
        _main_flow("s"),
        _event_subprocess(TIMER, True, "s"),
        '</bpmn:subProcess><bpmn:endEvent id="End" />',
        _flow("g1", "S0", "Before"),
        _flow("g2", "Before", "Sub"),
        _flow("g3", "Sub", "End"),
        "</bpmn:process>",
    )
    instance = _start(xml)
    assert instance.waiting_timers() == []  # the subprocess has not started
    _complete(instance, "Before", now=T0 + timedelta(days=1))
    assert [t.due_at for t in instance.waiting_timers()] == [T0 + timedelta(days=4)]


# -- signal ---------------------------------------------------------------------------------------------------------


def test_an_interrupting_signal_start_ends_the_rest_when_the_process_throws_the_signal():
    instance = _start(_model(SIGNAL, True))
    assert _ready(instance) == ["R", "U"]
    _complete(instance, "U", {"grund": "Frist"})
    [task] = instance.ready_user_tasks()
    assert task.bpmn_id == "H" and task.data["grund"] == "Frist"
    instance = _reload(instance)
    _complete(instance, "H")
    assert instance.is_completed
    assert not {"W", "R"} & set(instance.completed_element_ids())


def test_a_non_interrupting_signal_start_runs_beside_the_rest():
    instance = _start(_model(SIGNAL, False))
    _complete(instance, "U")
    assert _ready(instance) == ["H", "R", "W"]


@pytest.mark.parametrize(("interrupting", "ready"), [(True, ["sH"]), (False, ["sH", "sR", "sU"])])
def test_a_signal_thrown_by_the_process_starts_the_event_subprocess_of_a_subprocess(interrupting, ready):
    instance = _start(_nested_model(SIGNAL, interrupting, throw_outside=True))
    assert _ready(instance) == ["X", "sR", "sU"]
    _complete(instance, "X")  # the process around the subprocess throws the signal
    assert _ready(instance) == ready


def test_an_event_subprocess_waits_for_no_signal_when_none_is_thrown():
    instance = _start(_model(SIGNAL, True))
    _complete(instance, "R")
    assert _ready(instance) == ["U"]
    assert "H" not in instance.active_element_ids()


# -- condition ------------------------------------------------------------------------------------------------------


def test_an_interrupting_conditional_start_ends_the_rest_when_its_condition_comes_to_hold():
    instance = _start(_model(_condition("urgent"), True), {"urgent": False})
    assert instance.waiting_conditions() == ["ES"]
    _complete(instance, "R", {"urgent": False})
    assert _ready(instance) == ["U"]
    instance = _reload(instance)
    instance.set_data({"urgent": True}, now=T0)  # an automation rule sets data
    assert _ready(instance) == ["H"]
    assert instance.waiting_conditions() == []
    instance.set_data({"urgent": False}, now=T0)
    instance.set_data({"urgent": True}, now=T0)
    assert _ready(instance) == ["H"]  # interrupted: it does not start again
    _complete(instance, "H")
    assert instance.is_completed


def test_a_non_interrupting_conditional_start_starts_once_per_change_to_true():
    instance = _start(_model(_condition("urgent"), False), {"urgent": False})
    instance.set_data({"urgent": True}, now=T0)
    assert _ready(instance) == ["H", "R", "U"]
    assert instance.waiting_conditions() == []  # it holds: the next start needs it to become false first
    instance.set_data({"urgent": True}, now=T0)
    _complete(instance, "R", {"note": "x"})  # data changes, the condition still holds
    assert _ready(instance) == ["H", "U"]
    instance = _reload(instance)
    instance.set_data({"urgent": False}, now=T0)
    assert instance.waiting_conditions() == ["ES"]
    _complete(instance, "U", {"urgent": True})  # a step makes it hold again
    assert _ready(instance) == ["H", "H", "W"]


def test_a_conditional_start_whose_condition_holds_when_its_process_starts_starts_at_once():
    instance = _start(_model(_condition("urgent"), False), {"urgent": True})
    assert _ready(instance) == ["H", "R", "U"]


def test_a_conditional_start_of_a_subprocess_reads_the_data_its_steps_set():
    instance = _start(_nested_model(_condition("amount &gt; 100", "feel"), True))
    assert instance.waiting_conditions() == ["sES"]  # "amount" is not set yet: the condition does not hold
    _complete(instance, "sR", {"amount": 50})
    assert _ready(instance) == ["sU"]
    _complete(instance, "sU", {"amount": 150})
    assert _ready(instance) == ["sH"]
    _complete(instance, "sH")
    assert _ready(instance) == ["After"]


def test_a_conditional_start_in_juel_and_xpath_is_translated_like_other_conditions():
    for text, language in (("${urgent == true}", ""), ("$urgent = true()", "http://www.w3.org/1999/XPath")):
        xml = _model(_condition(text, language), True)
        assert inspect(xml).ok, text
        instance = _start(xml, {"urgent": False})
        instance.set_data({"urgent": True}, now=T0)
        assert _ready(instance) == ["H"], text


# -- conditional start event of the process ------------------------------------------------------------------------


TOP_CONDITIONAL = _definitions(
    '<bpmn:process id="P" isExecutable="true">',
    f'<bpmn:startEvent id="S" name="Gebühr bezahlt">{_condition("paid")}</bpmn:startEvent>',
    '<bpmn:userTask id="U" name="Antrag bearbeiten" /><bpmn:endEvent id="E" />',
    _flow("f1", "S", "U"),
    _flow("f2", "U", "E"),
    "</bpmn:process>",
)


def test_a_conditional_start_of_the_process_opens_the_case_which_waits_until_the_condition_holds():
    report = inspect(TOP_CONDITIONAL)
    assert report.ok, [str(f.message) for f in report.errors]
    assert any(f.code == "conditional-start" and f.element_id == "S" for f in report.notes)

    instance = _start(TOP_CONDITIONAL, {"paid": False})
    assert _ready(instance) == [] and instance.waiting_conditions() == ["S"]
    instance = _reload(instance)
    instance.set_data({"paid": True}, now=T0)
    assert _ready(instance) == ["U"] and instance.waiting_conditions() == []
    assert _ready(_start(TOP_CONDITIONAL, {"paid": True})) == ["U"]  # it holds already: no wait


def test_the_platform_sets_the_data_a_conditional_process_start_waits_for():
    xml = TOP_CONDITIONAL.decode()
    step = workflow.start(xml, {})
    assert step.ready == [] and not step.completed
    step = workflow.set_data(xml, step.state, {"paid": True})
    assert [t.bpmn_id for t in step.ready] == ["U"]


# -- every-path runner ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", [TIMER, SIGNAL, _condition("urgent")], ids=["timer", "signal", "condition"])
@pytest.mark.parametrize("interrupting", [True, False], ids=["interrupting", "non-interrupting"])
def test_the_every_path_runner_runs_the_event_subprocess_and_the_rest(start, interrupting):
    for xml, prefix in ((_model(start, interrupting), ""), (_nested_model(start, interrupting), "s")):
        result = assess("evsub", xml)
        assert result.outcome == IMPORTED_AND_RUNS, result.detail
        assert {f"{prefix}H", f"{prefix}R"} <= result.visited
        # "Bescheid" comes after the signal is thrown: an interrupting signal start always ends it first
        assert (f"{prefix}W" in result.visited) is not (start == SIGNAL and interrupting)


def test_the_every_path_runner_satisfies_a_conditional_process_start():
    result = assess("top", TOP_CONDITIONAL)
    assert result.outcome == IMPORTED_AND_RUNS, result.detail
    assert "U" in result.visited


# -- refused at import ----------------------------------------------------------------------------------------------


def test_an_untranslatable_condition_of_an_event_subprocess_start_is_refused_with_its_expression_and_line():
    xml = _model(_condition("count(/items/item) &gt; 2", "http://www.w3.org/1999/XPath"), False)
    error = next(f for f in inspect(xml).errors if f.element_id == "ES")
    assert "count(/items/item) > 2" in error.message
    assert error.line == next(n for n, text in enumerate(xml.decode().splitlines(), 1) if "count(/items" in text)


def test_an_event_subprocess_start_without_a_condition_or_a_timer_value_is_refused():
    assert any(f.code == "bad-condition" and f.element_id == "ES" for f in inspect(_model(_condition(""), True)).errors)
    no_value = _model("<bpmn:timerEventDefinition />", True)
    assert any(f.code == "bad-timer" and f.element_id == "ES" for f in inspect(no_value).errors)


def test_a_conditional_start_of_an_embedded_subprocess_is_refused():
    xml = _definitions(
        '<bpmn:process id="P" isExecutable="true">',
        '<bpmn:startEvent id="S0" /><bpmn:subProcess id="Sub">',
        f'<bpmn:startEvent id="SS">{_condition("urgent")}</bpmn:startEvent><bpmn:endEvent id="SE" />',
        _flow("s1", "SS", "SE"),
        '</bpmn:subProcess><bpmn:endEvent id="E" />',
        _flow("g1", "S0", "Sub"),
        _flow("g2", "Sub", "E"),
        "</bpmn:process>",
    )
    error = next(f for f in inspect(xml).errors if f.element_id == "SS")
    assert "Conditional events are not supported" in error.message


# -- a case (through the case actions) ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_case_whose_timer_starts_an_interrupting_event_subprocess(city_a: Any, city_b: Any) -> None:
    import copy

    from django.utils import timezone

    from dikom.accounts.roles import Role
    from dikom.accounts.tests.factories import MembershipFactory
    from dikom.cases import actions
    from dikom.cases.models import Case
    from dikom.cases.tests.test_case_lifecycle import submit
    from dikom.municipalities.tests.factories import OrgUnitFactory
    from dikom.portal.tests.conftest import FAMILY, release_and_adopt

    unit = OrgUnitFactory(municipality=city_a, name="Bürgerbüro", short_name="BB")
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit).user
    definition = copy.deepcopy(FAMILY)
    definition["processing"] = {"bpmn": _model(TIMER, True).decode()}
    adoption = release_and_adopt(definition, city_a)
    adoption.org_unit = unit
    adoption.save(update_fields=["org_unit"])
    case = Case.objects.get(application=submit(adoption))
    assert sorted(t.name for t in case.tasks.filter(status="open")) == ["Antrag bearbeiten", "Rückfragen beantworten"]
    rueckfragen = case.tasks.get(status="open", name="Rückfragen beantworten")
    actions.complete_task(rueckfragen, caseworker, expected_version=rueckfragen.lock_version)

    soon = timezone.now() + dt.timedelta(days=2)
    assert not actions.process_due_timers(case, soon)  # due three days after the case opened
    assert actions.process_due_timers(case, timezone.now() + dt.timedelta(days=3, minutes=1))

    # the timer ended the rest: only the event subprocess's task is open
    assert [t.name for t in case.tasks.filter(status="open")] == ["Eilbearbeitung"]
    urgent = case.tasks.get(status="open")
    actions.complete_task(urgent, caseworker, expected_version=urgent.lock_version)
    case.refresh_from_db()
    assert not case.tasks.filter(status="open").exists()
    assert not actions.process_due_timers(case, timezone.now() + dt.timedelta(days=9))
