"""Rule pages: who may manage, who may read, another city gets 404; form checks; audit; the log's filters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.audit.models import AuditEvent
from dikom.cases.automation.models import Rule, RuleExecution
from dikom.cases.automation.tests.conftest import submit
from dikom.cases.models import Case
from dikom.lib.testing import english_client, run_task_worker
from dikom.municipalities.tests.factories import OrgUnitFactory

pytestmark = pytest.mark.django_db(transaction=True)

VALID = {
    "name": "Zum Ordnungsamt",
    "trigger": "submitted",
    "service_slug": "",
    "task_filter": "",
    "condition": '{"==": [{"var": "answers.person.plz"}, "36039"]}',
    "actions": '[{"type": "assign_to_unit", "unit": "Ordnungsamt"}]',
    "active": "on",
    "action": "save",
}


@pytest.fixture
def rule(make_rule: Any, ordnungsamt: Any) -> Rule:
    return make_rule(name="Bestehende Regel", actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}])


def test_owner_creates_edits_and_deactivates_a_rule_audited(owner: Any, ordnungsamt: Any, login: Any) -> None:
    client = login(english_client(), owner)
    assert client.get("/automatisierung/fulda/neu/").status_code == 200
    response = client.post("/automatisierung/fulda/neu/", VALID)
    assert response.status_code == 302
    rule = Rule.objects.get()
    assert rule.active and rule.created_by == owner and rule.webhook_secret.startswith("whsec_")
    assert rule.condition == {"==": [{"var": "answers.person.plz"}, "36039"]}
    created = AuditEvent.objects.get(action="automation.rule.create")
    assert created.actor == owner and created.municipality_id == rule.municipality_id
    assert "webhook_secret" not in json.dumps(created.changes)

    edit = client.get(f"/automatisierung/fulda/regeln/{rule.uuid}/")
    assert edit.status_code == 200 and "Ordnungsamt" in edit.content.decode()
    response = client.post(f"/automatisierung/fulda/regeln/{rule.uuid}/", {**VALID, "name": "Neu benannt"})
    assert response.status_code == 302
    updated = AuditEvent.objects.get(action="automation.rule.update")
    assert updated.changes == {"name": ["Zum Ordnungsamt", "Neu benannt"]}

    response = client.post(f"/automatisierung/fulda/regeln/{rule.uuid}/aktiv/", {"active": "0"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert not rule.active
    assert AuditEvent.objects.filter(action="automation.rule.deactivate", actor=owner).exists()
    listing = client.get("/automatisierung/fulda/").content.decode()
    assert "Neu benannt" in listing and "inactive" in listing


def test_form_explains_bad_json_logic_and_actions_next_to_the_fields(owner: Any, login: Any, ordnungsamt: Any) -> None:
    client = login(english_client(), owner)
    cases = [
        ({"condition": '{"==": [1, 2'}, "condition", "is not valid JSON"),
        ({"condition": '{"eval": ["x"]}'}, "condition", "unknown operator"),
        ({"condition": '{"==": [{"var": "antwort.x"}, 1]}'}, "condition", "Unknown variable “antwort.x”"),
        ({"actions": '[{"type": "launch"}]'}, "actions", "Action 1: unknown type “launch”"),
        ({"actions": '[{"type": "assign_to_unit", "unit": "Finanzamt"}]'}, "actions", "Fulda has no unit “Finanzamt”"),
        ({"actions": '[{"type": "set_status", "status": "decided"}]'}, "actions", "a rule can set the status"),
        ({"actions": '[{"type": "decide", "outcome": "rejected"}]'}, "actions", "needs “reasons”"),
        ({"actions": '[{"type": "assign_to_user", "user": "outsider"}]'}, "actions", "is not a caseworker"),
        ({"actions": '[{"type": "notify", "to": "citizen", "subject": "{% load x %}", "body": "b"}]'}, "actions",
         "cannot be used"),
    ]  # fmt: skip
    for change, field, message in cases:
        response = client.post("/automatisierung/fulda/neu/", {**VALID, **change})
        assert response.status_code == 400, change
        html = response.content.decode()
        start = html.find(f'id="id_{field}_error"')  # the error list next to the field, linked by aria-describedby
        assert start > 0, change
        assert message in html[start : html.find("</ul>", start)], (change, html[start : start + 400])
        assert f'aria-describedby="id_{field}_helptext id_{field}_error"' in html
    assert not Rule.objects.exists()
    # German is the default language of the page
    german = login(Client(), owner).post("/automatisierung/fulda/neu/", {**VALID, "name": ""})
    assert german.status_code == 400 and 'lang="de"' in german.content.decode()


def test_a_decision_rule_for_a_service_that_is_not_rule_based_cannot_be_saved(
    owner: Any, login: Any, adoption: Any
) -> None:
    client = login(english_client(), owner)
    response = client.post(
        "/automatisierung/fulda/neu/",
        {**VALID, "service_slug": adoption.definition.slug, "actions": '[{"type": "decide", "outcome": "approved"}]'},
    )
    assert response.status_code == 400
    assert "not marked as fully rule-based" in response.content.decode()


def test_caseworker_reads_rules_and_log_but_cannot_change(
    rule: Rule, colleague: Any, login: Any, designer: Any
) -> None:
    client = login(english_client(), colleague)
    assert client.get("/automatisierung/").status_code == 302
    assert client.get("/automatisierung/fulda/").status_code == 200
    assert client.get("/automatisierung/fulda/protokoll/").status_code == 200
    assert client.get("/automatisierung/fulda/neu/").status_code == 403
    assert client.get(f"/automatisierung/fulda/regeln/{rule.uuid}/").status_code == 403
    assert client.post(f"/automatisierung/fulda/regeln/{rule.uuid}/aktiv/", {"active": "0"}).status_code == 403
    assert client.post(f"/automatisierung/fulda/regeln/{rule.uuid}/probelauf/", {"dry-days": "5"}).status_code == 403
    rule.refresh_from_db()
    assert rule.active
    # A process designer of the city manages rules
    designer_client = login(english_client(), designer)
    assert designer_client.get(f"/automatisierung/fulda/regeln/{rule.uuid}/").status_code == 200
    assert designer_client.get(f"/automatisierung/fulda/regeln/{rule.uuid}/probelauf/").status_code == 200


def test_another_city_gets_404(rule: Rule, outsider: Any, login: Any) -> None:
    client = login(english_client(), outsider)
    for url in [
        "/automatisierung/fulda/",
        "/automatisierung/fulda/neu/",
        "/automatisierung/fulda/protokoll/",
        f"/automatisierung/fulda/regeln/{rule.uuid}/",
        f"/automatisierung/fulda/regeln/{rule.uuid}/probelauf/",
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/automatisierung/fulda/regeln/{rule.uuid}/aktiv/", {"active": "0"}).status_code == 404
    # Fulda's rule under the outsider's own city does not exist either
    assert client.get(f"/automatisierung/giessen/regeln/{rule.uuid}/").status_code == 404
    assert client.post(f"/automatisierung/giessen/regeln/{rule.uuid}/aktiv/", {"active": "0"}).status_code == 404
    assert "Bestehende Regel" not in client.get("/automatisierung/giessen/").content.decode()
    rule.refresh_from_db()
    assert rule.active


def test_log_filters_and_pages(rule: Rule, adoption: Any, owner: Any, login: Any, city_a: Any, unit: Any) -> None:
    first = Case.objects.get(application=submit(adoption))
    second = Case.objects.get(application=submit(adoption))
    run_task_worker()
    assert RuleExecution.objects.filter(rule=rule, dry_run=False).count() == 2
    now = timezone.now()
    RuleExecution.objects.bulk_create(
        RuleExecution(rule=rule, case=first, trigger="submitted", occurrence=f"dry-run:{n}", dry_run=True,
                      outcome="not_matched", started_at=now, finished_at=now)
        for n in range(55)
    )  # fmt: skip
    client = login(english_client(), owner)

    page = client.get("/automatisierung/fulda/protokoll/").content.decode()
    assert "2 executions" in page and first.reference in page and second.reference in page
    filtered = client.get("/automatisierung/fulda/protokoll/", {"reference": second.reference}).content.decode()
    assert "1 execution," in filtered and second.reference in filtered
    dry = client.get("/automatisierung/fulda/protokoll/", {"mode": "dry", "outcome": "not_matched"})
    assert "55 executions" in dry.content.decode() and "Page 1 of 2" in dry.content.decode()
    page_2 = client.get("/automatisierung/fulda/protokoll/", {"mode": "dry", "page": "2"}).content.decode()
    assert "Page 2 of 2" in page_2
    none = client.get("/automatisierung/fulda/protokoll/", {"outcome": "failed", "rule": str(rule.uuid)})
    assert "No executions match." in none.content.decode()
    assert client.get("/automatisierung/fulda/protokoll/", {"outcome": "nonsense"}).status_code == 400

    # A caseworker of another unit sees no log rows of cases outside their unit
    other_unit_worker = MembershipFactory(
        municipality=city_a,
        role=Role.CASEWORKER,
        org_unit=OrgUnitFactory(municipality=city_a, name="Standesamt"),
    ).user
    restricted = login(english_client(), other_unit_worker).get("/automatisierung/fulda/protokoll/").content.decode()
    assert first.reference not in restricted and "0 executions" in restricted


def test_rule_list_shows_the_last_execution_without_n_plus_one(
    rule: Rule, make_rule: Any, adoption: Any, owner: Any, login: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(5):
        make_rule(name=f"Regel {n}", active=False, actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}])
    Case.objects.get(application=submit(adoption))
    run_task_worker()
    client = login(english_client(), owner)
    client.get("/automatisierung/fulda/")
    with django_assert_max_num_queries(15):
        html = client.get("/automatisierung/fulda/").content.decode()
    assert "actions performed" in html and "never" in html
