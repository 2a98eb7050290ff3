"""Platform events in processes called from the library (models in ``tests/bpmn/platform/called/``, written here).

The service's own file (``antrag.bpmn``) names no platform event: it calls the released library process
``gebuehr_und_nachweis``, which waits for the fee, tells the citizen, waits for the citizen's answer and calls
``gutachten_einholen`` (two levels down), which waits for a specialist procedure's message over the case API and
sends a webhook. Every event reaches its called process, once per key, and only in its own city.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from dikom.accounts.models import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import actions
from dikom.cases.bpmn.checks import inspect
from dikom.cases.bpmn.engine import ProcessInstance
from dikom.cases.models import CaseMessage, Task
from dikom.cases.scopes import CASES_READ, CASES_WRITE
from dikom.cases.tests.conftest import client_for, key
from dikom.cases.tests.test_platform_messages import case_with, notify, open_tasks, pending_payment, post
from dikom.cases.webhooks import actions as webhooks
from dikom.cases.webhooks.models import WebhookDelivery
from dikom.lib.testing import english_client
from dikom.municipalities.tests.factories import OrgUnitFactory
from dikom.portal.tests.conftest import FAMILY, release_and_adopt

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_cache", "api_media")]

MODELS = Path(__file__).parent / "bpmn" / "platform" / "called"


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def library(city_a: Any) -> None:
    """The two library processes, released (and adopted by city A, as every release in these tests is)."""
    for name, suffix in (("gutachten.bpmn", " (Gutachten)"), ("gebuehr.bpmn", " (Gebühr)")):
        content = copy.deepcopy(FAMILY)
        content["processing"] = {"bpmn": (MODELS / name).read_text(encoding="utf-8")}
        release_and_adopt(content, city_a, suffix=suffix)


def test_fee_answer_and_api_message_reach_the_called_processes(
    demo_payments: None, library: None, login: Any, citizen: Any, city_a: Any, city_b: Any, unit_a: Any
) -> None:
    case = case_with(city_a, unit_a, "called/antrag.bpmn", citizen=citizen)
    assert "dikom:" not in case.process_xml  # the case's own file names no platform event
    assert open_tasks(case) == ["Zahlung eingegangen"]  # the catch event of the called process waits

    # Another city's payment with the same reference reaches nothing.
    assert notify(pending_payment(city_b, case.reference)).status_code == 200
    assert open_tasks(case) == ["Zahlung eingegangen"]
    assert not case.events.filter(kind="platform_message").exists()

    # The fee is paid: delivered into the called process, which tells the citizen (a throw in the called process).
    payment = pending_payment(city_a, case.reference)
    assert notify(payment).status_code == 200
    case.refresh_from_db()
    assert open_tasks(case) == ["Fehlende Unterlagen anfordern"]
    waited = case.tasks.get(name="Zahlung eingegangen")
    assert waited.status == Task.Status.DONE and waited.completed_automatically
    [entry] = case.events.filter(kind="platform_message")
    assert entry.data["outcome"] == "delivered" and entry.data["message"] == "Gebühr bezahlt"
    assert entry.data["key"] == f"payment:{payment.uuid}"
    notice = case.messages.get(direction=CaseMessage.Direction.TO_CITIZEN, kind=CaseMessage.Kind.MESSAGE)
    assert notice.subject == "Zahlungseingang bestätigen"
    # The platform repeats its notification: nothing happens twice.
    assert notify(payment).status_code == 200
    assert case.events.filter(kind="platform_message").count() == 1
    assert case.messages.filter(kind=CaseMessage.Kind.MESSAGE, direction=CaseMessage.Direction.TO_CITIZEN).count() == 1

    # The citizen answers in the portal: the receive task of the called process is done.
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    actions.complete_task(case.tasks.get(name="Fehlende Unterlagen anfordern"), caseworker, expected_version=None)
    assert open_tasks(case) == ["Antwort abwarten"]
    request = actions.request_information(case, caseworker, subject="Nachweis fehlt", body="Bitte Nachweis senden.")
    portal = login(english_client(), citizen)
    answered = portal.post(
        f"/portal/antraege/{case.application.uuid}/", {"request": str(request.uuid), "body": "Anbei der Nachweis."}
    )
    assert answered.status_code == 302
    case.refresh_from_db()
    assert open_tasks(case) == ["Gutachten abwarten"]  # two levels down now
    answer = case.events.get(kind="platform_message", data__key=f"answer:{request.uuid}")
    assert answer.data["outcome"] == "delivered"
    assert "Anbei der Nachweis." in str(case.workflow_state)

    # A specialist procedure posts the expert opinion over the API (a webhook message of the inner process).
    webhooks.create_subscription(
        municipality=city_a, name="Fachverfahren", url="https://fachverfahren.example/hook",
        events=["process.message"], actor=None,
    )  # fmt: skip
    procedure_a = client_for(key(city_a, CASES_READ, CASES_WRITE))
    procedure_b = client_for(key(city_b, CASES_READ, CASES_WRITE))
    refused = post(procedure_b, case, {"message": "gutachten-fertig"}, "k-1")
    assert refused.status_code == 404  # another city's key: the case does not exist for it
    delivered = post(procedure_a, case, {"message": "gutachten-fertig", "data": {"ergebnis": "positiv"}}, "k-1")
    assert delivered.status_code == 200, delivered.json()
    assert delivered.json()["outcome"] == "delivered" and delivered.json()["message"] == "Gutachten"
    # A retry with the same Idempotency-Key delivers nothing again.
    retry = post(procedure_a, case, {"message": "gutachten-fertig", "data": {"ergebnis": "positiv"}}, "k-1")
    assert retry.status_code == 200 and retry.json()["duplicate"] is True
    assert case.events.filter(kind="platform_message", data__key="api:k-1").count() == 1
    # The inner process ended with its webhook throw; the service's own process goes on.
    case.refresh_from_db()
    assert open_tasks(case) == ["Bescheid erstellen"]
    sent = WebhookDelivery.objects.filter(event="process.message", municipality_id=city_a.pk)
    assert [d.payload["data"]["message"] for d in sent] == ["gutachten-gelesen"]
    assert '"ergebnis": "positiv"' in __import__("json").dumps(case.workflow_state)
    # The platform events of the called processes are known from the stored state (the version the case runs).
    declared = ProcessInstance.load(case.workflow_state).awaited_messages()
    assert ("Gebühr bezahlt", "dikom:zahlung-eingegangen") in declared
    assert ("Gutachten", "dikom:webhook:gutachten-fertig") in declared


def test_a_platform_event_of_a_called_process_cannot_be_posted_and_unknown_messages_are_refused(
    library: None, city_a: Any, unit_a: Any
) -> None:
    case = case_with(city_a, unit_a, "called/antrag.bpmn")
    procedure_a = client_for(key(city_a, CASES_READ, CASES_WRITE))
    refused = post(procedure_a, case, {"message": "Gebühr bezahlt"}, "k-a")
    assert refused.status_code == 400
    assert "only the platform delivers it" in refused.json()["errors"][0]["message"]
    unknown = post(procedure_a, case, {"message": "gibt-es-nicht"}, "k-b")
    assert unknown.status_code == 400 and "has no message" in unknown.json()["errors"][0]["message"]
    # Known but not awaited yet (the called process still waits for the fee): recorded, nothing changes.
    early = post(procedure_a, case, {"message": "gutachten-fertig"}, "k-c")
    assert early.status_code == 200 and early.json()["outcome"] == "not_waiting"
    assert open_tasks(case) == ["Zahlung eingegangen"]


def test_a_case_of_another_city_hears_nothing_of_this_citys_payment(
    demo_payments: None, library: None, city_a: Any, city_b: Any, unit_a: Any
) -> None:
    unit_b = OrgUnitFactory(municipality=city_b, name="Bürgerbüro Gießen")
    case_a = case_with(city_a, unit_a, "called/antrag.bpmn")
    case_b = case_with(city_b, unit_b, "called/antrag.bpmn")
    notify(pending_payment(city_a, case_b.reference))  # city A's payment with city B's case reference
    assert open_tasks(case_b) == ["Zahlung eingegangen"]
    assert not case_b.events.filter(kind="platform_message").exists()
    notify(pending_payment(city_b, case_b.reference, suffix="-b"))
    assert open_tasks(case_b) == ["Fehlende Unterlagen anfordern"]
    assert open_tasks(case_a) == ["Zahlung eingegangen"]
    assert not case_a.events.filter(kind="platform_message").exists()


# --- the import check -------------------------------------------------------------------------


CALLER = (MODELS / "antrag.bpmn").read_bytes()


def _library(bad: bool) -> Any:
    texts = {
        "gebuehr_und_nachweis": (MODELS / "gebuehr.bpmn").read_text(encoding="utf-8"),
        "gutachten_einholen": (MODELS / "gutachten.bpmn").read_text(encoding="utf-8"),
    }
    if bad:
        texts["gutachten_einholen"] = texts["gutachten_einholen"].replace(
            'dikom:event="webhook:gutachten-fertig"', 'dikom:event="gutachten-fertig"'
        )
    return texts.get


def test_the_import_check_validates_platform_events_of_called_processes_at_any_depth() -> None:
    report = inspect(CALLER, resolve_process=_library(bad=False))
    assert report.ok, [str(f) for f in report.errors]
    called = report.called_processes["gutachten_einholen"].decode()
    assert 'platformEvent="dikom:webhook:gutachten-fertig"' in called

    refused = inspect(CALLER, resolve_process=_library(bad=True))
    (error,) = refused.errors
    assert error.element_id == "a_pruefung"
    message = str(error.message)
    assert "“gebuehr_und_nachweis”" in message and "“gutachten_einholen”" in message
    assert "names the platform event “gutachten-fertig”, which dikom does not know" in message
