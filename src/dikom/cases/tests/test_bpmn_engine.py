"""Running checked processes: user tasks in lanes, parallel branches, timers, persistence, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dikom.cases.bpmn.checks import inspect
from dikom.cases.bpmn.engine import (
    EngineError,
    ProcessDefinition,
    ProcessInstance,
    ProcessNotSupported,
    SafeEnvironment,
    ServiceCall,
)
from dikom.cases.bpmn.expressions import ExpressionError

FIXTURES = Path(__file__).parent / "bpmn"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def definition(name: str) -> ProcessDefinition:
    return ProcessDefinition.from_xml((FIXTURES / name).read_bytes())


class Automation:
    """A service handler that records its calls and answers from a table of topics."""

    def __init__(self, answers: dict[str, dict] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[ServiceCall] = []

    def __call__(self, call: ServiceCall) -> dict:
        self.calls.append(call)
        return self.answers.get(call.topic, {})


def ready(instance: ProcessInstance) -> list[tuple[str, str | None]]:
    return sorted((t.bpmn_id, t.lane_id) for t in instance.ready_user_tasks())


def complete(instance: ProcessInstance, bpmn_id: str, data: dict | None = None, now: datetime = T0) -> None:
    task = next(t for t in instance.ready_user_tasks() if t.bpmn_id == bpmn_id)
    instance.complete_user_task(task.id, data or {}, now=now)


def test_parallel_gateway_gives_two_tasks_in_two_lanes_and_joins():
    instance = definition("subsidy.bpmn").start({"amount": 5000}, now=T0, service_handler=Automation())
    assert ready(instance) == [("Task_PreCheck", "Lane_Funding")]
    complete(instance, "Task_PreCheck", {"eligible": True})

    assert ready(instance) == [("Task_FinReview", "Lane_Treasury"), ("Task_TechReview", "Lane_Building")]
    lanes = {t.bpmn_id: t.lane_name for t in instance.ready_user_tasks()}
    assert lanes == {"Task_FinReview": "Treasury", "Task_TechReview": "Building department"}
    assert {"Task_TechReview", "Task_FinReview"} <= set(instance.active_element_ids())
    assert "Task_PreCheck" in instance.completed_element_ids()

    complete(instance, "Task_FinReview", {"budget_ok": True})
    # The join waits for the other branch.
    assert ready(instance) == [("Task_TechReview", "Lane_Building")]
    complete(instance, "Task_TechReview", {"technically_ok": True})
    assert ready(instance) == [("Task_Decide", "Lane_Funding")]
    complete(instance, "Task_Decide", {"granted": True})
    assert instance.is_completed
    assert instance.data == {
        "amount": 5000,
        "eligible": True,
        "budget_ok": True,
        "technically_ok": True,
        "granted": True,
    }


def test_due_dates_from_dikom_attribute_boundary_timers_and_documentation():
    instance = definition("subsidy.bpmn").start({}, now=T0)
    complete(instance, "Task_PreCheck", now=T0 + timedelta(hours=2))
    tasks = {t.bpmn_id: t for t in instance.ready_user_tasks()}
    ready_at = T0 + timedelta(hours=2)
    assert tasks["Task_FinReview"].ready_at == ready_at
    assert tasks["Task_FinReview"].due_at == ready_at + timedelta(days=14)  # dikom:dueIn="P14D"
    assert tasks["Task_TechReview"].due_at == ready_at + timedelta(days=14)  # interrupting boundary timer
    assert tasks["Task_TechReview"].reminders == (ready_at + timedelta(days=7),)  # non-interrupting timer
    assert instance.next_timer_due() == ready_at + timedelta(days=7)

    dog = definition("dog_tax.bpmn").start(
        {"dogs": 1, "dangerous_breed": True},
        now=T0,
        service_handler=Automation({"dogtax.plausibility": {"check_ok": True}}),
    )
    (review,) = dog.ready_user_tasks()
    assert review.bpmn_id == "Task_Review"
    assert review.due_at == T0 + timedelta(days=5)  # "Due: P5D" in the documentation


def test_state_round_trips_exactly_in_the_middle_of_a_process():
    instance = definition("subsidy.bpmn").start({"amount": 5000, "applicant": {"name": "Ada"}}, now=T0)
    complete(instance, "Task_PreCheck", {"eligible": True})
    complete(instance, "Task_FinReview", {"budget_ok": True})
    state = instance.dump()

    # As stored in a JSONField and read back by another process.
    stored = json.loads(json.dumps(state))
    restored = ProcessInstance.load(stored)
    assert restored.dump() == state
    assert ProcessInstance.load(json.dumps(state)).dump() == state
    assert ready(restored) == ready(instance)
    assert restored.active_element_ids() == instance.active_element_ids()

    # Both copies go on identically.
    for copy in (instance, restored):
        complete(copy, "Task_TechReview", {"technically_ok": True})
        complete(copy, "Task_Decide", {"granted": False})
    assert restored.is_completed and instance.is_completed
    assert restored.data == instance.data


def test_a_timer_due_while_the_server_was_down_fires_on_the_next_call():
    automation = Automation({"notify.reminder": {"reminded": True}})
    instance = definition("subsidy.bpmn").start({}, now=T0, service_handler=automation)
    complete(instance, "Task_PreCheck")
    stored = json.dumps(instance.dump())
    del instance  # the server goes down

    # Three days later nothing is due.
    early = ProcessInstance.load(stored, service_handler=automation)
    assert early.fire_due_timers(T0 + timedelta(days=3)) == []
    assert automation.calls == []

    # The server comes back after 15 days: reminder (7 days) and deadline (14 days) fire at once.
    restarted = ProcessInstance.load(stored, service_handler=automation)
    fired = restarted.fire_due_timers(T0 + timedelta(days=15))
    assert sorted(fired) == ["Boundary_TechDeadline", "Boundary_TechReminder"]
    assert [c.bpmn_id for c in automation.calls] == ["Task_SendReminder"]
    assert ready(restarted) == [("Task_Escalate", "Lane_Building"), ("Task_FinReview", "Lane_Treasury")]
    # Firing again changes nothing.
    assert restarted.fire_due_timers(T0 + timedelta(days=16)) == []
    assert len(automation.calls) == 1


def test_repeating_reminders_of_a_camunda_export():
    automation = Automation({"sondernutzung-pruefen": {"vollstaendig": True}})
    instance = definition("camunda7_special_use.bpmn").start({}, now=T0, service_handler=automation)
    (review,) = instance.ready_user_tasks()
    assert (review.bpmn_id, review.lane_name) == ("Activity_0s1kq4e", "Straßenverkehrsbehörde")
    assert review.reminders == (T0 + timedelta(days=3),)
    assert instance.fire_due_timers(T0 + timedelta(days=3, hours=1)) == ["Event_0y3g5uf"]
    assert instance.fire_due_timers(T0 + timedelta(days=6, hours=1)) == ["Event_0y3g5uf"]
    # R2: two reminders, then the timer is done.
    assert instance.fire_due_timers(T0 + timedelta(days=30)) == []
    assert [c.topic for c in automation.calls] == ["sondernutzung-pruefen", "Activity_1c2x8nb", "Activity_1c2x8nb"]
    # The converted JUEL condition "${genehmigt == true && gebuehr >= 0}" decides.
    complete(instance, "Activity_0s1kq4e", {"genehmigt": True, "gebuehr": 40})
    assert instance.is_completed
    assert automation.calls[-1].bpmn_id == "Activity_0f6p3ra"


def test_incomplete_application_loops_through_a_request_for_information():
    instance = definition("parking_permit.bpmn").start({"zone": "A"}, now=T0)
    complete(instance, "Task_Check", {"complete": False})
    assert ready(instance) == [("Task_Request", "Lane_Citizen")]
    complete(instance, "Task_Request", {"documents": ["lease"]})
    assert ready(instance) == [("Task_Check", "Lane_Traffic")]
    complete(instance, "Task_Check", {"complete": True})
    # Inside the embedded subprocess; the script computed the fee with the engine's clock.
    assert ready(instance) == [("Task_Sign", "Lane_Traffic")]
    assert set(instance.active_element_ids()) >= {"Sub_Issue", "Task_Sign"}
    assert instance.data["fee"] == 30
    assert instance.data["valid_until"] == "2026-03-03"
    complete(instance, "Task_Sign")
    assert instance.is_completed


def test_service_tasks_go_through_the_handler():
    automation = Automation({"dogtax.plausibility": {"check_ok": True}})
    instance = definition("dog_tax.bpmn").start(
        {"dogs": 2, "dangerous_breed": False}, now=T0, service_handler=automation
    )
    (call,) = automation.calls
    assert (call.bpmn_id, call.topic, call.name) == (
        "Task_Check",
        "dogtax.plausibility",
        "Automatic plausibility check",
    )
    assert call.data["tax"] == 360  # computed by the script task before
    assert instance.is_completed
    assert instance.data["notice_ready"] is True

    rejected = definition("dog_tax.bpmn").start(
        {"dogs": 1, "dangerous_breed": False},
        now=T0,
        service_handler=Automation({"dogtax.plausibility": {"check_ok": False}}),
    )
    assert ready(rejected) == [("Task_Review", None)]


def test_a_crash_in_an_automation_leaves_the_case_unchanged():
    calls: list[ServiceCall] = []

    def crashing(call: ServiceCall) -> dict:
        calls.append(call)
        raise ConnectionError("register unreachable")

    instance = definition("subsidy.bpmn").start({}, now=T0)
    complete(instance, "Task_PreCheck")
    before = instance.dump()
    instance.set_service_handler(crashing)
    with pytest.raises(EngineError) as failure:
        instance.fire_due_timers(T0 + timedelta(days=8))
    assert failure.value.bpmn_id == "Task_SendReminder"
    assert "register unreachable" in failure.value.message
    # Rolled back: the timer has not fired, nothing half-done is visible.
    assert instance.dump() == before
    assert ready(instance) == [("Task_FinReview", "Lane_Treasury"), ("Task_TechReview", "Lane_Building")]

    # A retry (here: another worker loading the stored state) sends the same idempotency key.
    retry = Automation()
    again = ProcessInstance.load(before, service_handler=retry)
    assert again.fire_due_timers(T0 + timedelta(days=8)) == ["Boundary_TechReminder"]
    assert [c.key for c in retry.calls] == [calls[0].key]


def test_missing_handler_and_failing_expressions_are_engine_errors():
    process = definition("dog_tax.bpmn")
    with pytest.raises(EngineError) as no_handler:
        process.start({"dogs": 1, "dangerous_breed": False}, now=T0)
    assert no_handler.value.bpmn_id == "Task_Check"
    with pytest.raises(EngineError) as unknown:
        process.start({}, now=T0, service_handler=Automation())
    assert "dogs" in unknown.value.message
    assert unknown.value.bpmn_id == "Task_ComputeTax"


def test_task_data_must_be_plain_json():
    instance = definition("parking_permit.bpmn").start({"zone": "B"}, now=T0)
    (task,) = instance.ready_user_tasks()
    before = instance.dump()
    for bad in ({"when": T0}, {"nested": {"typename": "BpmnWorkflow"}}, {1: "x"}, {"x": float("nan")}):
        with pytest.raises(EngineError):
            instance.complete_user_task(task.id, bad, now=T0)
    with pytest.raises(EngineError):
        instance.complete_user_task("not-a-uuid", {}, now=T0)
    instance.complete_user_task(task.id, {"complete": True}, now=T0)
    with pytest.raises(EngineError):
        instance.complete_user_task(task.id, {}, now=T0)  # already done
    assert before != instance.dump()


def test_parallel_multi_instance_from_a_zeebe_model():
    automation = Automation({"fee-calc": {"fee": 2000}})
    instance = definition("zeebe_no_diagram.bpmn").start(
        {"departments": ["building", "treasury", "legal"], "status": "open"}, now=T0, service_handler=automation
    )
    tasks = instance.ready_user_tasks()
    assert [t.bpmn_id for t in tasks] == ["Activity_Sign"] * 3
    for task in tasks:
        instance.complete_user_task(task.id, {"signed": True}, now=T0)
    assert instance.is_completed


def test_unsupported_or_unsafe_files_cannot_be_loaded():
    for name in ("unsupported_elements.bpmn", "unsafe_expressions.bpmn", "broken_structure.bpmn"):
        with pytest.raises(ProcessNotSupported) as refused:
            definition(name)
        assert refused.value.report.errors


def test_the_engine_environment_refuses_python_even_without_the_import_check():
    environment = SafeEnvironment()
    with pytest.raises(ExpressionError):
        environment.evaluate("__import__('os').getcwd()", {})
    with pytest.raises(ExpressionError):
        environment.execute("import os", {})
    assert environment.evaluate("a + 1", {"a": 1}) == 2


def test_damaged_state_and_naive_times_are_refused():
    with pytest.raises(EngineError):
        ProcessInstance.load({"format": "something else"})
    with pytest.raises(EngineError):
        ProcessInstance.load({"format": "dikom-bpmn/1", "workflow": {}})
    with pytest.raises(ValueError, match="timezone-aware"):
        definition("parking_permit.bpmn").start({"zone": "A"}, now=datetime(2025, 1, 1))  # noqa: DTZ001


BUSINESS_RULES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="fee" name="Gebühr bestimmen" camunda:decisionRef="gebuehr" camunda:resultVariable="gebuehr"
        camunda:mapDecisionResult="singleEntry"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:businessRuleTask id="check" name="Prüfung"><bpmn:extensionElements>
        <zeebe:calledDecision decisionId="pruefung" resultVariable="pruefen"/></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:exclusiveGateway id="g" default="f5"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing><bpmn:outgoing>f5</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="fee"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fee" targetRef="check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="g"/>
    <bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="review"><bpmn:conditionExpression>${pruefen}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="g" targetRef="e"/>
    <bpmn:userTask id="review" name="Prüfen"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f6" sourceRef="review" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f5</bpmn:incoming><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""

DECISIONS = """<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="regeln" name="Regeln" namespace="x">
  <decision id="gebuehr" name="Gebühr"><decisionTable hitPolicy="FIRST">
    <input id="i"><inputExpression typeRef="number"><text>hunde</text></inputExpression></input>
    <output id="o" name="gebuehr" typeRef="number"/>
    <rule id="r1"><inputEntry><text>&gt; 1</text></inputEntry><outputEntry><text>120</text></outputEntry></rule>
    <rule id="r2"><inputEntry><text>-</text></inputEntry><outputEntry><text>60</text></outputEntry></rule>
  </decisionTable></decision>
  <decision id="pruefung" name="Prüfung"><decisionTable>
    <input id="i2"><inputExpression typeRef="number"><text>gebuehr</text></inputExpression></input>
    <output id="o2" name="pruefen" typeRef="boolean"/>
    <rule id="p1"><inputEntry><text>&gt;= 100</text></inputEntry><outputEntry><text>true</text></outputEntry></rule>
    <rule id="p2"><inputEntry><text>&lt; 100</text></inputEntry><outputEntry><text>false</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>"""


@pytest.mark.parametrize(("dogs", "fee", "review"), [(2, 120, True), (1, 60, False)])
def test_business_rule_tasks_call_dmn_decisions_and_store_their_results(dogs, fee, review):
    from dikom.cases.dmn import library

    report = inspect(BUSINESS_RULES)
    assert report.ok, report.errors
    assert report.decision_refs == [("fee", "gebuehr"), ("check", "pruefung")]
    assert library.missing_decisions({"regeln": DECISIONS}, [ref for _task, ref in report.decision_refs]) == []
    assert library.missing_decisions({}, ["gebuehr"]) == ["gebuehr"]
    calls = []

    def handler(call):
        calls.append((call.topic, call.result_variable))
        ref = call.topic.removeprefix("dmn:")
        return {call.result_variable: library.evaluate({"regeln": DECISIONS}, ref, call.data).value}

    instance = ProcessDefinition.from_xml(BUSINESS_RULES).start({"hunde": dogs}, service_handler=handler)
    assert calls == [("dmn:gebuehr", "gebuehr"), ("dmn:pruefung", "pruefen")]
    assert instance.data["gebuehr"] == fee
    assert instance.data["pruefen"] is review
    assert [t.bpmn_id for t in instance.ready_user_tasks()] == (["review"] if review else [])


CHOICE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="false">
    <bpmn:laneSet><bpmn:lane id="L" name="Ordnungsamt"><bpmn:flowNodeRef>s</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>check</bpmn:flowNodeRef><bpmn:flowNodeRef>gw</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Prüfen"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>back</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" name="Vollständig?"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>yes</bpmn:outgoing><bpmn:outgoing>back</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="e" name="Bewilligt"><bpmn:incoming>yes</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gw"/>
    <bpmn:sequenceFlow id="yes" name="ja" sourceRef="gw" targetRef="e"/>
    <bpmn:sequenceFlow id="back" sourceRef="gw" targetRef="check"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_gateway_without_conditions_asks_a_caseworker_for_the_path():
    instance = ProcessDefinition.from_xml(CHOICE).start({})
    instance.complete_user_task(instance.ready_user_tasks()[0].id, {})
    [choice] = instance.ready_user_tasks()
    assert choice.bpmn_id == "gw__dikom_choice"
    assert "Vollständig?" in choice.name
    assert choice.lane_name == "Ordnungsamt"  # the gateway's lane decides who chooses
    assert choice.choice_variable == "choice_gw"
    assert instance.active_element_ids() == ["gw"]  # the diagram shows the gateway as the current step
    assert choice.choices == (("yes", "ja"), ("back", "Prüfen"))  # the flow's name, else its target's
    with pytest.raises(EngineError, match="Choose one of the paths: ja, Prüfen"):
        instance.complete_user_task(choice.id, {"choice_gw": "elsewhere"})
    assert [t.bpmn_id for t in instance.ready_user_tasks()] == ["gw__dikom_choice"]  # unchanged after refusal
    instance.complete_user_task(choice.id, {"choice_gw": "back"})
    assert [t.bpmn_id for t in instance.ready_user_tasks()] == ["check"]
    instance.complete_user_task(instance.ready_user_tasks()[0].id, {})
    instance.complete_user_task(instance.ready_user_tasks()[0].id, {"choice_gw": "yes"})
    assert instance.is_completed
    restored = ProcessInstance.load(instance.dump())
    assert restored.is_completed
