"""Rules run by the worker: assign, decide automatically (or refuse), payment received, idempotency, crash and retry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from dikom.audit.models import AuditEvent
from dikom.cases import letters
from dikom.cases.automation import runner
from dikom.cases.automation.models import RuleExecution
from dikom.cases.automation.tests.conftest import submit
from dikom.cases.models import Case, CaseDocument, CaseEvent, CaseMessage, Task
from dikom.lib.testing import run_task_worker

pytestmark = pytest.mark.django_db(transaction=True)


def queued_rule_runs() -> Any:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path="dikom.cases.tasks.run_rules")


def test_rule_on_submission_with_a_condition_assigns_the_task_to_another_unit(
    adoption: Any, unit: Any, ordnungsamt: Any, make_rule: Any
) -> None:
    # Given a rule: applications from the postcode 36039 go to the Ordnungsamt
    rule = make_rule(
        name="Familien zum Ordnungsamt",
        condition={"==": [{"var": "answers.person.plz"}, "36039"]},
        actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}],
    )
    # When applicants from 36039 and from 36037 submit, and the worker runs
    from_36039 = Case.objects.get(application=submit(adoption, plz="36039"))
    from_36037 = Case.objects.get(application=submit(adoption, plz="36037"))
    run_task_worker()

    # Then only the first case's task moved; both executions are logged
    assert from_36039.tasks.get().org_unit == ordnungsamt
    assert from_36037.tasks.get().org_unit == unit
    done = RuleExecution.objects.get(rule=rule, case=from_36039)
    assert done.outcome == "done" and done.matched and done.trigger == "submitted" and done.occurrence == "case"
    assert done.actions_performed[0]["type"] == "assign_to_unit" and "Ordnungsamt" in done.actions_performed[0]["text"]
    assert RuleExecution.objects.get(rule=rule, case=from_36037).outcome == "not_matched"
    event = from_36039.events.get(kind="task_assigned")
    assert event.automatic and event.actor_label == "Regel: Familien zum Ordnungsamt"


def test_a_fully_rule_based_service_is_decided_automatically(
    rule_based_adoption: Any, make_rule: Any, mailoutbox: Any
) -> None:
    make_rule(
        name="Automatische Bewilligung",
        service_slug=rule_based_adoption.definition.slug,
        actions=[{"type": "decide", "outcome": "approved", "reasons": "Alle Voraussetzungen liegen vor."}],
    )
    case = Case.objects.get(application=submit(rule_based_adoption))
    run_task_worker()

    case.refresh_from_db()
    assert case.status == "decided" and case.outcome == "approved" and case.decided_automatically
    assert case.decided_by is None and case.signed_off_at is None
    assert "automatisch erlassen" in letters.render_letter_html(case)
    letter = case.documents.get(kind=CaseDocument.Kind.LETTER)
    assert letter.created_automatically and letter.visible_to_citizen
    decided = case.events.get(kind="decided")
    assert decided.automatic and decided.actor_label == "Regel: Automatische Bewilligung"
    audit = AuditEvent.objects.get(action="case.decided", object_id=str(case.pk))
    assert audit.changes["rule"] == "Regel: Automatische Bewilligung"
    # The citizen was told that a letter waits in the portal (sent on commit by the worker).
    assert any(case.reference in mail.subject for mail in mailoutbox)


def test_a_rule_cannot_decide_a_service_that_is_not_rule_based(adoption: Any, ordnungsamt: Any, make_rule: Any) -> None:
    # A rule for every service: assign, then decide. The family grant is not marked rule-based.
    rule = make_rule(
        name="Alles bewilligen",
        actions=[
            {"type": "assign_to_unit", "unit": "Ordnungsamt"},
            {"type": "decide", "outcome": "approved"},
        ],
    )
    case = Case.objects.get(application=submit(adoption))
    events_before = list(case.events.values_list("pk", flat=True))
    run_task_worker()

    case.refresh_from_db()
    assert case.status == "open" and case.outcome == "" and not case.decided_automatically
    assert case.tasks.get().org_unit.name == "Bürgerbüro"  # the assignment before the refusal did not happen either
    assert list(case.events.values_list("pk", flat=True)) == events_before
    assert not case.documents.filter(kind=CaseDocument.Kind.LETTER).exists()
    execution = RuleExecution.objects.get(rule=rule, case=case)
    assert execution.outcome == "refused" and execution.matched and execution.final
    assert "not marked as fully rule-based" in execution.error
    assert [row["outcome"] for row in execution.actions_performed] == ["planned", "refused"]


def test_payment_received_runs_the_payment_rules(adoption: Any, make_rule: Any) -> None:
    from dikom.payments import actions as payments
    from dikom.payments.models import EventSource

    rule = make_rule(
        name="Zahlung eingegangen",
        trigger="payment_received",
        actions=[{"type": "complete_task", "task": "pruefen", "result": "Gebühr bezahlt."}],
    )
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()
    assert not RuleExecution.objects.filter(rule=rule).exists()  # nothing paid yet

    # When the (demo) payment platform reports the payment of the application as paid
    payment = payments.create_payment(
        municipality=case.municipality,
        amount_cents=1500,
        description="Gebühr",
        reference=str(case.application.uuid),
        return_url="/",
        idempotency_key=f"test:{case.application.uuid}",
        provider_key="demo",
    )
    payments.record_status(payment.pk, "pending", source=EventSource.RETURN)
    run_task_worker()
    assert not RuleExecution.objects.filter(rule=rule).exists()  # pending is not paid
    payments.record_status(payment.pk, "paid", source=EventSource.NOTIFICATION, method="creditcard")
    run_task_worker()

    execution = RuleExecution.objects.get(rule=rule, case=case)
    assert execution.outcome == "done" and execution.occurrence == f"payment:{payment.pk}"
    task = case.tasks.get(bpmn_id="pruefen")
    assert task.status == "done" and task.completed_automatically and task.result == "Gebühr bezahlt."
    # The same status reported again changes nothing and runs nothing again.
    payments.record_status(payment.pk, "paid", source=EventSource.NOTIFICATION)
    run_task_worker()
    assert RuleExecution.objects.filter(rule=rule).count() == 1


def test_the_same_event_twice_runs_the_rule_once(adoption: Any, ordnungsamt: Any, make_rule: Any) -> None:
    from dikom.cases.tasks import run_rules

    rule = make_rule(actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}])
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()
    # A retried (or duplicated) task for the same event
    run_rules.enqueue(case.pk, "submitted", None)
    run_rules.enqueue(case.pk, "submitted", None)
    run_task_worker()

    assert RuleExecution.objects.filter(rule=rule, case=case).count() == 1
    assert case.events.filter(kind="rule_applied").count() == 1
    assert case.events.filter(kind="task_assigned").count() == 1


def test_task_completed_rules_run_once_per_task(adoption: Any, owner: Any, make_rule: Any, mailoutbox: Any) -> None:
    from dikom.cases import actions

    rule = make_rule(
        name="Unit informieren",
        trigger="task_completed",
        task_filter="pruefen",
        actions=[{"type": "notify", "to": "unit", "subject": "{{ case.reference }} geprüft", "body": "Erledigt."}],
    )
    case = Case.objects.get(application=submit(adoption))
    task = case.tasks.get()
    actions.complete_task(task, owner, expected_version=task.lock_version, result="ok")
    run_task_worker()
    run_task_worker()

    execution = RuleExecution.objects.get(rule=rule, case=case)
    assert execution.occurrence == f"task:{task.pk}" and execution.outcome == "done"
    [mail] = [m for m in mailoutbox if m.to == ["buergerbuero@fulda.example"]]
    assert mail.subject == f"{case.reference} geprüft" and mail.body == "Erledigt."


def test_crash_in_the_middle_leaves_the_case_unchanged_and_the_worker_retries(
    adoption: Any, ordnungsamt: Any, make_rule: Any, monkeypatch: Any, mailoutbox: Any
) -> None:
    from dikom.cases.automation import applying

    # Given a rule that assigns the task, e-mails the unit, then generates a document
    rule = make_rule(
        name="Drei Schritte",
        actions=[
            {"type": "assign_to_unit", "unit": "Ordnungsamt"},
            {"type": "notify", "to": "unit", "subject": "Neu", "body": "Neuer Antrag."},
            {"type": "generate_document", "title": "Prüfvermerk", "template": "<p>{{ case.reference }}</p>"},
        ],
    )
    # and a worker that crashes while generating the document (once)
    real = applying._APPLIERS["generate_document"]
    crashes = []

    def crash_once(*args: Any) -> str:
        if not crashes:
            crashes.append(1)
            raise RuntimeError("worker crashed")
        return real(*args)

    monkeypatch.setitem(applying._APPLIERS, "generate_document", crash_once)
    case = Case.objects.get(application=submit(adoption))
    events_before = case.events.count()
    run_task_worker()

    # Then nothing of the rule is kept: the task is where it was, no history entry, no mail, no document
    case.refresh_from_db()
    assert case.tasks.get().org_unit.name == "Bürgerbüro"
    assert case.events.count() == events_before
    assert not case.documents.filter(kind=CaseDocument.Kind.OTHER).exists()
    assert not [m for m in mailoutbox if "Neuer Antrag." in m.body]
    [failed] = RuleExecution.objects.filter(rule=rule, case=case)
    assert failed.outcome == "failed" and not failed.final and failed.attempt == 1
    assert "worker crashed" in failed.error
    retry = queued_rule_runs().get(status="READY")
    assert retry.args_kwargs["kwargs"].get("_dikom_attempt") == 2

    # When the back-off has passed and the worker runs the retry
    queued_rule_runs().filter(pk=retry.pk).update(run_after=timezone.now())
    run_task_worker()

    # Then the rule has run completely, once
    case.refresh_from_db()
    assert case.tasks.get().org_unit == ordnungsamt
    document = case.documents.get(kind=CaseDocument.Kind.OTHER)
    assert document.created_automatically and document.file.read().startswith(b"%PDF-")
    assert len([m for m in mailoutbox if "Neuer Antrag." in m.body]) == 1
    final = RuleExecution.objects.get(rule=rule, case=case, final=True)
    assert final.outcome == "done" and final.attempt == 2
    assert [row["outcome"] for row in final.actions_performed] == ["done", "done", "done"]


def test_message_to_the_citizen_and_status_changes(rule_based_adoption: Any, make_rule: Any) -> None:
    make_rule(
        name="Entscheiden und schließen",
        actions=[
            {
                "type": "notify",
                "to": "citizen",
                "subject": "Eingang",
                "body": "Ihr Antrag {{ case.reference }} ist da.",
            },
            {"type": "decide", "outcome": "approved"},
            {"type": "set_status", "status": "closed"},
        ],
    )
    case = Case.objects.get(application=submit(rule_based_adoption))
    run_task_worker()
    case.refresh_from_db()
    assert case.status == "closed" and case.decided_automatically
    message = case.messages.get(kind=CaseMessage.Kind.MESSAGE)
    assert message.body == f"Ihr Antrag {case.reference} ist da."
    assert case.events.get(kind="closed").actor_label == "Regel: Entscheiden und schließen"


def test_deadline_passed_fires_once_per_overdue_task(adoption: Any, ordnungsamt: Any, make_rule: Any) -> None:
    from dikom.cases.automation.tasks import fire_overdue_deadlines

    rule = make_rule(
        name="Überfällig",
        trigger="deadline_passed",
        actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}],
    )
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()
    task = case.tasks.get()
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - dt.timedelta(days=1))

    fire_overdue_deadlines.enqueue()
    fire_overdue_deadlines.enqueue()
    run_task_worker()

    execution = RuleExecution.objects.get(rule=rule, case=case)
    assert execution.trigger == "deadline_passed" and execution.occurrence == f"task:{task.pk}"
    assert case.tasks.get().org_unit == ordnungsamt


def test_inactive_rules_and_other_cities_rules_do_not_run(
    adoption: Any, ordnungsamt: Any, make_rule: Any, city_b: Any, outsider: Any
) -> None:
    from dikom.cases.automation import actions as rule_actions

    make_rule(name="Aus", active=False, actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}])
    from dikom.municipalities.tests.factories import OrgUnitFactory

    OrgUnitFactory(municipality=city_b, name="Ordnungsamt")
    rule_actions.create_rule(
        municipality=city_b,
        actor=outsider,
        name="Gießen",
        trigger="submitted",
        active=True,
        actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}],
    )
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()
    assert not RuleExecution.objects.exists()
    assert case.tasks.get().org_unit.name == "Bürgerbüro"
    assert runner.rules_for(case, "submitted", None) == []
    assert not CaseEvent.objects.filter(case=case, automatic=True).exists()


def test_a_run_whose_worker_died_is_queued_again_and_runs_once(adoption: Any, ordnungsamt: Any, make_rule: Any) -> None:
    from dikom.cases.automation.tasks import resume_interrupted_rule_runs

    rule = make_rule(actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}])
    case = Case.objects.get(application=submit(adoption))
    # A worker took the rule run and was killed before its transaction committed: the queue row stays "running"
    [lost] = queued_rule_runs()
    queued_rule_runs().update(status="RUNNING", started_at=timezone.now() - dt.timedelta(hours=1))
    run_task_worker()
    assert not RuleExecution.objects.exists() and case.tasks.get().org_unit.name == "Bürgerbüro"

    # When the periodic safety net runs (twice: the second run finds nothing more to do)
    resume_interrupted_rule_runs.enqueue()
    resume_interrupted_rule_runs.enqueue()
    run_task_worker()
    run_task_worker()

    lost.refresh_from_db()
    assert lost.status == "FAILED" and lost.exception_class_path.endswith("WorkerLost")
    assert RuleExecution.objects.get(rule=rule, case=case).outcome == "done"
    assert case.tasks.get().org_unit == ordnungsamt
    assert queued_rule_runs().filter(status="SUCCESSFUL").count() == 1
