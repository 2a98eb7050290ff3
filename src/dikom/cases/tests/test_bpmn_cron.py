"""Cron expressions as timer cycles (Camunda 7 Quartz, Camunda 8 Spring): the parser and its next occurrences in
Europe/Berlin (clock changes, month ends, leap years), the import check, the engine and a case whose timer fires
through the clock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone, translation

from dikom.cases import actions
from dikom.cases.bpmn.checks import inspect
from dikom.cases.bpmn.cron import LOCAL_TZ, CronError, CronExpression
from dikom.cases.bpmn.engine import ProcessDefinition, ProcessInstance
from dikom.cases.models import Task
from dikom.cases.tests.bpmn_inline import _definitions, _flow, _ready

CAMUNDA7 = Path(__file__).parent / "bpmn" / "camunda7"


@pytest.fixture(autouse=True)
def english_messages():
    with translation.override("en"):
        yield


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LOCAL_TZ)


def occurrences(expression: str, after: datetime, count: int) -> list[str]:
    cron = CronExpression.parse(expression)
    found: list[str] = []
    moment: datetime | None = after
    for _ in range(count):
        assert moment is not None
        moment = cron.next_after(moment)
        if moment is None:
            break
        found.append(moment.astimezone(LOCAL_TZ).isoformat())
    return found


# --- the parser -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # the Camunda 7 examples' cycle: every 5 seconds
        ("0/5 0/1 * 1/1 * ?", berlin(2026, 1, 1, 0, 0, 3),
         ["2026-01-01T00:00:05+01:00", "2026-01-01T00:00:10+01:00", "2026-01-01T00:00:15+01:00"]),
        # every five minutes, on the minute boundary
        ("0 0/5 * * * ?", berlin(2026, 5, 4, 10, 58, 30),
         ["2026-05-04T11:00:00+02:00", "2026-05-04T11:05:00+02:00"]),
        # Quartz: working days at nine (Friday evening → Monday)
        ("0 0 9 ? * MON-FRI", berlin(2026, 12, 4, 10), ["2026-12-07T09:00:00+01:00", "2026-12-08T09:00:00+01:00"]),
        # Spring / Zeebe: the same with * instead of ?
        ("0 0 9 * * MON-FRI", berlin(2026, 12, 4, 10), ["2026-12-07T09:00:00+01:00"]),
        # a range round the weekend
        ("0 0 12 ? * FRI-MON", berlin(2026, 1, 1), ["2026-01-02T12:00:00+01:00", "2026-01-03T12:00:00+01:00",
                                                     "2026-01-04T12:00:00+01:00", "2026-01-05T12:00:00+01:00",
                                                     "2026-01-09T12:00:00+01:00"]),
        ("0 0 8 ? * MON-FRI/2", berlin(2026, 1, 5, 9), ["2026-01-07T08:00:00+01:00", "2026-01-09T08:00:00+01:00",
                                                         "2026-01-12T08:00:00+01:00"]),
        # lists and ranges with steps; names of months
        ("0 15,45 8-10/2 ? JAN,JUL MON", berlin(2026, 1, 1), ["2026-01-05T08:15:00+01:00", "2026-01-05T08:45:00+01:00",
                                                               "2026-01-05T10:15:00+01:00"]),
        # last day of the month, across a leap year's February
        ("0 0 12 L * ?", berlin(2028, 1, 31, 13),
         ["2028-02-29T12:00:00+01:00", "2028-03-31T12:00:00+02:00", "2028-04-30T12:00:00+02:00"]),
        ("0 0 12 L * ?", berlin(2027, 1, 31, 13), ["2027-02-28T12:00:00+01:00"]),
        # three days before the last day
        ("0 0 0 L-3 * ?", berlin(2026, 2, 1), ["2026-02-25T00:00:00+01:00", "2026-03-28T00:00:00+01:00"]),
        # 29 February: only leap years
        ("0 0 12 29 FEB ?", berlin(2026, 1, 1), ["2028-02-29T12:00:00+01:00", "2032-02-29T12:00:00+01:00"]),
        # last weekday of the month (31 January 2026 is a Saturday)
        ("0 0 12 LW * ?", berlin(2026, 1, 1), ["2026-01-30T12:00:00+01:00", "2026-02-27T12:00:00+01:00",
                                               "2026-03-31T12:00:00+02:00"]),
        # the weekday nearest the 15th (15 February 2026 is a Sunday); 1W on a Saturday stays in the month
        ("0 0 12 15W * ?", berlin(2026, 2, 1), ["2026-02-16T12:00:00+01:00", "2026-03-16T12:00:00+01:00"]),
        ("0 0 7 1W * ?", berlin(2026, 7, 31), ["2026-08-03T07:00:00+02:00"]),
        # the third Friday, the last Friday
        ("0 0 12 ? * FRI#3", berlin(2026, 1, 1), ["2026-01-16T12:00:00+01:00", "2026-02-20T12:00:00+01:00"]),
        ("0 0 12 ? * FRIL", berlin(2026, 1, 1), ["2026-01-30T12:00:00+01:00", "2026-02-27T12:00:00+01:00"]),
        # the year field: once, then never again
        ("0 0 12 1 1 ? 2027", berlin(2026, 1, 1), ["2027-01-01T12:00:00+01:00"]),
        ("0 0 12 1 1 ? 2027-2099/36", berlin(2027, 6, 1), ["2063-01-01T12:00:00+01:00", "2099-01-01T12:00:00+01:00"]),
        # shorthand
        ("@daily", berlin(2026, 6, 1, 12), ["2026-06-02T00:00:00+02:00"]),
        # clocks go forward on 29 March 2026: 02:30 does not exist and fires at 03:30 summer time
        ("0 30 2 * * ?", berlin(2026, 3, 28, 12),
         ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]),
        # every half hour through the gap: nothing twice, nothing at a time that does not exist
        ("0 0/30 * * * ?", berlin(2026, 3, 29, 1, 15),
         ["2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"]),
        # clocks go back on 25 October 2026: 02:00-02:59 happens twice, each wall time fires once
        ("0 30 2 * * ?", berlin(2026, 10, 24, 12), ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]),
        ("0 0/30 * * * ?", berlin(2026, 10, 25, 1, 15),
         ["2026-10-25T01:30:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T02:30:00+02:00",
          "2026-10-25T03:00:00+01:00"]),
    ],
)  # fmt: skip
def test_next_occurrences_in_berlin(expression: str, after: datetime, expected: list[str]) -> None:
    assert occurrences(expression, after, len(expected)) == expected


def test_a_time_that_exists_twice_fires_once_even_when_asked_during_its_second_pass() -> None:
    cron = CronExpression.parse("0 15 2 * * ?")
    second_pass = datetime(2026, 10, 25, 1, 5, tzinfo=UTC)  # 02:05 winter time, the hour's second pass
    assert second_pass.astimezone(LOCAL_TZ).isoformat() == "2026-10-25T02:05:00+01:00"
    # 02:15 already happened in the first pass (00:15 UTC): the next is the following night
    assert cron.next_after(second_pass) == datetime(2026, 10, 26, 1, 15, tzinfo=UTC)


def test_the_year_field_ends_the_occurrences() -> None:
    assert CronExpression.parse("0 0 12 1 1 ? 2027").next_after(berlin(2027, 1, 1, 12)) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        (
            "0 9 * * 1-5",
            "has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]); this one has "
            "5. Put the seconds in front, e.g. “0 0 9 * * 1-5”.",
        ),
        ("0 0 9 * * ? 2030 x", "this one has 8."),
        ("0 0 25 * * ?", "25 is outside the hours field (0 to 23)."),
        ("60 * * * * ?", "60 is outside the seconds field (0 to 59)."),
        ("0 0 0 0 * ?", "0 is outside the day of month field (1 to 31)."),
        ("0 0 0 1 13 ?", "13 is outside the month field (1 to 12)."),
        ("0 0 0 1 JANUARY ?", "“JANUARY” is no value of the month field."),
        ("0 0 9 ? * 2", "days of the week must be written as names (MON, TUE, WED, THU, FRI, SAT, SUN)"),
        ("0 0 9 ? * MOX", "“MOX” is no day of the week"),
        ("0 0 9 1 * MON", "give either a day of the month (“1”) or a day of the week (“MON”)"),
        ("0 0 0 30 FEB ?", "“0 0 0 30 FEB ?” never occurs."),
        ("0 0 22-2 * * ?", "the range “22-2” runs backwards"),
        ("0 0/0 * * * ?", "the step in “0/0” must be at least 1."),
        ("? * * * * *", "“?” is only allowed for the day of the month or the day of the week."),
        ("0 0 9 ? * */2", "a step in the day of week field needs a range"),
        ("0 0 9 ? * FRI#6", "the number after # must be 1 to 5."),
        ("0 0 9 ? * L", "a name followed by L"),
        ("0 0 9 1 * ? 1969", "1969 is outside the year field (1970 to 2099)."),
        ("@sometimes", "is no known shorthand"),
        ("0 0 9 ?? * *", "“??” is no valid part of the day of month field."),
    ],
)
def test_invalid_expressions_say_why(expression: str, reason: str) -> None:
    with pytest.raises(CronError) as raised:
        CronExpression.parse(expression)
    assert reason in raised.value.reason


# --- the import check -----------------------------------------------------------------------------------------


def _timer_model(*, boundary: str = "", catch: str = "") -> bytes:
    parts = ['<bpmn:process id="P" isExecutable="true">', '<bpmn:startEvent id="S" />']
    if catch:
        parts += [
            f'<bpmn:intermediateCatchEvent id="W" name="Warten"><bpmn:timerEventDefinition>{catch}'
            "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
            _flow("F0", "S", "W"),
            _flow("F1", "W", "U"),
        ]
    else:
        parts.append(_flow("F0", "S", "U"))
    parts += ['<bpmn:userTask id="U" name="Prüfen" />', '<bpmn:endEvent id="E" />', _flow("F2", "U", "E")]
    if boundary:
        parts += [
            f'<bpmn:boundaryEvent id="B" name="Erinnerung" attachedToRef="U" cancelActivity="false">'
            f"<bpmn:timerEventDefinition>{boundary}</bpmn:timerEventDefinition></bpmn:boundaryEvent>",
            '<bpmn:userTask id="R" name="Nachhaken" />',
            '<bpmn:endEvent id="E2" />',
            _flow("F3", "B", "R"),
            _flow("F4", "R", "E2"),
        ]
    parts.append("</bpmn:process>")
    return _definitions(*parts)


def _cycle(text: str) -> str:
    return f'<bpmn:timeCycle xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{text}</bpmn:timeCycle>'


@pytest.mark.parametrize(
    "model",
    [
        "clients_java_order-handling_order-handling.bpmn",
        "spring-boot-starter_external-task-client_loan-granting-spring-boot-webapp_bpmn_loan-granting.bpmn",
    ],
)
def test_the_camunda_7_examples_with_a_cron_start_are_accepted(model: str) -> None:
    report = inspect((CAMUNDA7 / model).read_bytes())
    assert report.ok, [str(f) for f in report.errors]
    assert any(f.code == "timer-cron" and f.element_id == "StartEvent_1" for f in report.notes)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0 0 25 * * ?", "25 is outside the hours field (0 to 23)."),
        ("0 9 * * MON-FRI", "this one has 5"),
        ("0 0 9 ? * 1", "must be written as names"),
        ("0 0 12 1 1 ? 2020", "it does not occur any more."),
    ],
)
def test_a_cron_expression_dikom_cannot_run_is_refused_with_element_and_line(value: str, reason: str) -> None:
    report = inspect(_timer_model(catch=_cycle(value)))
    (error,) = report.errors
    assert error.code == "bad-timer" and error.element_id == "W"
    assert error.line == 5  # the timeCycle's line
    assert f"Timer “Warten” (W): “{value}” is no cron expression dikom can run: " in str(error.message)
    assert reason in str(error.message)


def test_the_refusal_is_german_on_german_pages() -> None:
    with translation.override("de"):
        (error,) = inspect(_timer_model(catch=_cycle("0 0 25 * * ?"))).errors
        assert "kein Cron-Ausdruck" in str(error.message)
        assert "25 liegt außerhalb des Feldes Stunden (0 bis 23)." in str(error.message)


def test_a_zeebe_feel_text_and_a_quoted_value_are_cron_expressions_too() -> None:
    for value in ('= "0 0 9 * * MON-FRI"', "'0 0 9 ? * MON-FRI'"):
        report = inspect(_timer_model(catch=_cycle(value)))
        assert report.ok, [str(f) for f in report.errors]
        assert "0 0 9 " in (report.engine_xml or b"").decode()


# --- the engine -----------------------------------------------------------------------------------------------


MONDAY_10 = berlin(2026, 12, 7, 10).astimezone(UTC)


def test_an_intermediate_cron_timer_waits_for_the_next_occurrence_and_fires_once() -> None:
    instance = ProcessDefinition.from_xml(_timer_model(catch=_cycle("0 0 9 ? * MON-FRI"))).start({}, now=MONDAY_10)
    due = berlin(2026, 12, 8, 9).astimezone(UTC)
    assert [t.due_at for t in instance.waiting_timers()] == [due]
    instance = ProcessInstance.load(instance.dump())  # stored and loaded between calls, as a case does
    assert instance.fire_due_timers(due - timedelta(seconds=1)) == []
    assert instance.fire_due_timers(due) == ["W"]
    assert _ready(instance) == ["U"]
    assert instance.waiting_timers() == []
    assert instance.fire_due_timers(due + timedelta(days=2)) == []


def test_a_non_interrupting_cron_boundary_timer_repeats_at_every_occurrence() -> None:
    model = _timer_model(boundary=_cycle("0 0 8 ? * MON"))
    instance = ProcessDefinition.from_xml(model).start({}, now=MONDAY_10)
    first = berlin(2026, 12, 14, 8).astimezone(UTC)
    (task,) = instance.ready_user_tasks()
    assert task.reminders == (first,)
    assert instance.fire_due_timers(first) == ["B"]
    assert _ready(instance) == ["R", "U"]
    assert instance.next_timer_due() == berlin(2026, 12, 21, 8).astimezone(UTC)
    # Down for three weeks: the missed occurrences fire once, then the next Monday after now.
    later = berlin(2027, 1, 13, 12).astimezone(UTC)
    assert instance.fire_due_timers(later) == ["B"]
    assert instance.next_timer_due() == berlin(2027, 1, 18, 8).astimezone(UTC)
    assert sorted(t.bpmn_id for t in instance.ready_user_tasks()).count("R") == 2
    # The task is done: the reminder stops.
    instance.complete_user_task(next(t.id for t in instance.ready_user_tasks() if t.bpmn_id == "U"), now=later)
    assert instance.waiting_timers() == []


def test_an_interrupting_cron_boundary_timer_ends_its_task_at_the_next_occurrence() -> None:
    model = _timer_model(boundary=_cycle("0 0 12 L * ?")).replace(b'cancelActivity="false"', b'cancelActivity="true"')
    instance = ProcessDefinition.from_xml(model).start({}, now=MONDAY_10)
    due = berlin(2026, 12, 31, 12).astimezone(UTC)
    (task,) = instance.ready_user_tasks()
    assert task.due_at == due and task.reminders == ()
    assert instance.fire_due_timers(due) == ["B"]
    assert _ready(instance) == ["R"]


def test_a_cron_timer_across_the_spring_clock_change_fires_after_the_gap() -> None:
    saturday = berlin(2026, 3, 28, 12).astimezone(UTC)
    instance = ProcessDefinition.from_xml(_timer_model(catch=_cycle("0 30 2 * * ?"))).start({}, now=saturday)
    assert instance.next_timer_due() == berlin(2026, 3, 29, 3, 30).astimezone(UTC)
    assert instance.fire_due_timers(datetime(2026, 3, 29, 1, 30, tzinfo=UTC)) == ["W"]


def test_the_camunda_7_order_handling_waits_for_its_cron_start_then_runs() -> None:
    xml = (CAMUNDA7 / "clients_java_order-handling_order-handling.bpmn").read_bytes()
    start = datetime(2026, 12, 7, 9, 0, 2, tzinfo=UTC)
    instance = ProcessDefinition.from_xml(xml).start({}, now=start, service_handler=lambda call: None)
    assert [t.bpmn_id for t in instance.waiting_timers()] == ["StartEvent_1"]
    assert instance.next_timer_due() == start + timedelta(seconds=3)  # every 5 seconds: :05
    assert instance.ready_user_tasks() == []
    assert instance.fire_due_timers(start + timedelta(seconds=3)) == ["StartEvent_1"]
    assert "Task_06z99p1" in instance.completed_element_ids()  # the process went on: "Create Invoice" ran
    assert instance.waiting_timers() == []  # the start fired once; it does not start again every 5 seconds
    assert instance.fire_due_timers(start + timedelta(minutes=5)) == []


# --- a case ---------------------------------------------------------------------------------------------------


START_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="urn:t">
  <bpmn:process id="Sammeltermin" name="Sammeltermin" isExecutable="true">
    <bpmn:startEvent id="S" name="Nächster Werktag 9 Uhr">
      <bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 ? * MON-FRI</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="U" name="Anträge des Tages prüfen" />
    <bpmn:endEvent id="E" />
    <bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="U" />
    <bpmn:sequenceFlow id="F1" sourceRef="U" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.django_db
def test_a_case_whose_start_is_a_cron_cycle_waits_and_goes_on_through_the_clock(city_a: Any) -> None:
    from dikom.cases.tests.test_case_lifecycle import submit
    from dikom.municipalities.tests.factories import OrgUnitFactory
    from dikom.portal.tests.conftest import FAMILY, release_and_adopt

    unit = OrgUnitFactory(municipality=city_a, name="Bürgerbüro")
    content = copy.deepcopy(FAMILY)
    content["processing"] = {"bpmn": START_MODEL}
    adoption = release_and_adopt(content, city_a)
    adoption.org_unit = unit
    adoption.save(update_fields=["org_unit"])
    opened = timezone.now()
    case = actions.open_case(submit(adoption))  # as the submission signal does on commit
    assert not case.tasks.filter(status=Task.Status.OPEN).exists()

    due = ProcessInstance.load(case.workflow_state).next_timer_due()
    assert due is not None
    assert due == CronExpression.parse("0 0 9 ? * MON-FRI").next_after(opened)
    local = due.astimezone(LOCAL_TZ)
    assert (local.hour, local.minute, local.weekday() < 5) == (9, 0, True)

    assert not actions.process_due_timers(case, due - timedelta(seconds=1))
    assert not case.tasks.filter(status=Task.Status.OPEN).exists()
    assert actions.process_due_timers(case, due)
    [task] = case.tasks.filter(status=Task.Status.OPEN)
    assert task.name == "Anträge des Tages prüfen" and task.org_unit == unit
    assert not actions.process_due_timers(case, due + timedelta(days=3))  # once, not every working day


def test_a_computed_cycle_is_no_cron_expression_and_a_computed_cron_expression_runs() -> None:
    report = inspect(_timer_model(catch=_cycle("urgent_cycle if urgent else normal_cycle")))
    assert report.ok, [str(f) for f in report.errors]
    assert any(f.code == "timer-expression" and f.element_id == "W" for f in report.notes)
    definition = ProcessDefinition.from_xml(_timer_model(catch=_cycle("urgent_cycle if urgent else normal_cycle")))
    data = {"urgent": False, "urgent_cycle": "R/PT1H", "normal_cycle": "0 0 9 ? * MON-FRI"}
    instance = definition.start(data, now=MONDAY_10)
    assert instance.next_timer_due() == berlin(2026, 12, 8, 9).astimezone(UTC)


LIBRARY_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="L" targetNamespace="urn:t">
  <bpmn:process id="wiedervorlage" name="Wiedervorlage" isExecutable="true">
    <bpmn:startEvent id="WS" />
    <bpmn:intermediateCatchEvent id="WT" name="Nächster Werktag">
      <bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 ? * MON-FRI</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="WU" name="Wiedervorlage bearbeiten" />
    <bpmn:endEvent id="WE" />
    <bpmn:sequenceFlow id="W0" sourceRef="WS" targetRef="WT" />
    <bpmn:sequenceFlow id="W1" sourceRef="WT" targetRef="WU" />
    <bpmn:sequenceFlow id="W2" sourceRef="WU" targetRef="WE" />
  </bpmn:process>
</bpmn:definitions>
"""

CALLER_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="CD" targetNamespace="urn:t">
  <bpmn:process id="antrag_mit_wiedervorlage" isExecutable="true">
    <bpmn:startEvent id="S" />
    <bpmn:callActivity id="C" name="Wiedervorlage" calledElement="wiedervorlage" />
    <bpmn:endEvent id="E" />
    <bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="C" />
    <bpmn:sequenceFlow id="F1" sourceRef="C" targetRef="E" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.django_db
def test_the_clock_fires_a_cron_timer_of_a_process_called_from_the_library(city_a: Any, monkeypatch: Any) -> None:
    from dikom.cases import tasks
    from dikom.cases.tests.test_case_lifecycle import submit
    from dikom.municipalities.tests.factories import OrgUnitFactory
    from dikom.portal.tests.conftest import FAMILY, release_and_adopt

    unit = OrgUnitFactory(municipality=city_a, name="Bürgerbüro")
    for process, suffix in ((LIBRARY_MODEL, " (Wiedervorlage)"), (CALLER_MODEL, "")):
        content = copy.deepcopy(FAMILY)
        content["processing"] = {"bpmn": process}
        adoption = release_and_adopt(content, city_a, suffix=suffix)
    adoption.org_unit = unit
    adoption.save(update_fields=["org_unit"])
    case = actions.open_case(submit(adoption))
    assert "timerEventDefinition" not in case.process_xml  # the timer is in the called process only
    assert not case.tasks.filter(status=Task.Status.OPEN).exists()
    due = ProcessInstance.load(case.workflow_state).next_timer_due()
    assert due is not None

    class Clock:  # the clock job reads the time through django.utils.timezone
        @staticmethod
        def now() -> datetime:
            return due

    monkeypatch.setattr(tasks, "timezone", Clock)
    assert tasks.process_case_clock.call()["timers"] == 1
    [task] = case.tasks.filter(status=Task.Status.OPEN)
    assert task.name == "Wiedervorlage bearbeiten"
