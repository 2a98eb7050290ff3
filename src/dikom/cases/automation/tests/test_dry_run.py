"""The dry run: what a rule would have done with past cases, without changing anything."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from dikom.audit.models import AuditEvent
from dikom.cases.automation import runner
from dikom.cases.automation.models import RuleExecution
from dikom.cases.automation.tests.conftest import submit
from dikom.cases.models import Case, CaseDocument, CaseEvent, CaseMessage, Task
from dikom.lib.testing import english_client, run_task_worker

pytestmark = pytest.mark.django_db(transaction=True)


def counts() -> dict[str, int]:
    from django_tasks_db.models import DBTaskResult

    return {
        "cases": Case.objects.count(),
        "tasks": Task.objects.count(),
        "events": CaseEvent.objects.count(),
        "documents": CaseDocument.objects.count(),
        "messages": CaseMessage.objects.count(),
        "audit": AuditEvent.objects.count(),
        "queued": DBTaskResult.objects.filter(status="READY").count(),
        "mails": len(mail.outbox),
        "open_tasks_ordnungsamt": Task.objects.filter(org_unit__name="Ordnungsamt").count(),
        "decided": Case.objects.exclude(outcome="").count(),
    }


@pytest.fixture
def past_cases(adoption: Any, rule_based_adoption: Any) -> list[Case]:
    """Three cases of the family grant (two from 36039) and one of the rule-based grant."""
    cases = [
        Case.objects.get(application=submit(adoption, plz="36039")),
        Case.objects.get(application=submit(adoption, plz="36037")),
        Case.objects.get(application=submit(adoption, plz="36039")),
        Case.objects.get(application=submit(rule_based_adoption, plz="36039")),
    ]
    run_task_worker()
    return cases


def test_dry_run_of_a_saved_rule_reports_per_case_and_changes_nothing(
    past_cases: list[Case], ordnungsamt: Any, make_rule: Any, owner: Any, login: Any
) -> None:
    rule = make_rule(
        name="36039 entscheiden",
        active=False,
        condition={"==": [{"var": "answers.person.plz"}, "36039"]},
        actions=[
            {"type": "assign_to_unit", "unit": "Ordnungsamt"},
            {"type": "notify", "to": "unit", "subject": "Neu", "body": "Bitte prüfen."},
            {"type": "decide", "outcome": "approved"},
        ],
    )
    before = counts()
    client = login(english_client(), owner)
    response = client.post(f"/automatisierung/fulda/regeln/{rule.uuid}/probelauf/", {"dry-days": "90"})
    assert response.status_code == 200
    assert counts() == before  # no case, task, event, document, message, audit entry, task or mail

    html = response.content.decode()
    for case in past_cases:
        assert case.reference in html
    assert html.count("Would assign “Antrag prüfen und entscheiden” to Ordnungsamt.") == 3
    assert html.count("Would send an e-mail to buergerbuero@fulda.example.") == 3
    assert html.count("Would approve.") == 1  # only the rule-based service
    assert html.count("not marked as fully rule-based") == 2
    assert html.count("not met") == 1

    rows = {row.case_id: row for row in RuleExecution.objects.filter(rule=rule)}
    assert len(rows) == 4 and all(row.dry_run for row in rows.values())
    assert rows[past_cases[1].pk].outcome == "not_matched"
    assert rows[past_cases[0].pk].outcome == "refused"
    assert rows[past_cases[3].pk].outcome == "done" and rows[past_cases[3].pk].matched
    assert [r["outcome"] for r in rows[past_cases[3].pk].actions_performed] == ["planned", "planned", "planned"]


def test_dry_run_while_editing_saves_nothing(past_cases: list[Case], ordnungsamt: Any, owner: Any, login: Any) -> None:
    before = counts()
    client = login(english_client(), owner)
    response = client.post(
        "/automatisierung/fulda/neu/",
        {
            "name": "Entwurf",
            "trigger": "submitted",
            "service_slug": "",
            "condition": '{"==": [{"var": "answers.person.plz"}, "36037"]}',
            "actions": '[{"type": "assign_to_unit", "unit": "OA"}]',
            "dry-days": "30",
            "action": "dry_run",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("Would assign “Antrag prüfen und entscheiden” to Ordnungsamt.") == 1
    assert past_cases[1].reference in html
    assert counts() == before
    assert not RuleExecution.objects.exists()
    from dikom.cases.automation.models import Rule

    assert not Rule.objects.exists()


def test_dry_run_plans_later_actions_on_the_effect_of_earlier_ones(
    past_cases: list[Case], make_rule: Any, rule_based_adoption: Any
) -> None:
    rule = make_rule(
        active=False,
        service_slug=rule_based_adoption.definition.slug,
        actions=[
            {"type": "decide", "outcome": "rejected", "reasons": "Nicht antragsberechtigt."},
            {"type": "set_status", "status": "closed"},
            {"type": "set_status", "status": "open"},
        ],
    )
    [row] = runner.dry_run(rule, days=7)
    assert row.case == past_cases[3] and row.plan is not None
    assert [step.state for step in row.plan.steps] == ["ok", "ok", "refuse"]
    assert row.plan.steps[0].text == "Would reject."
    assert "cannot change from “closed” to “open”" in row.plan.steps[2].text
