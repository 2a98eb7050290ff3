"""Platform events as BPMN messages, end to end (models in ``tests/bpmn/platform/``, written here).

A process waiting for the fee continues when the payment platform reports the payment; one waiting for the
citizen's answer continues when the citizen answers in the portal; a specialist procedure posts a message over
the case API with its key. Retries deliver once, another city's payment or key reaches nothing, and the import
check refuses platform events dikom does not know.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from dikom.accounts.models import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import actions
from dikom.cases.bpmn.checks import inspect
from dikom.cases.models import Case, CaseMessage, Task
from dikom.cases.scopes import CASES_READ, CASES_WRITE
from dikom.cases.tests.conftest import client_for, key
from dikom.cases.tests.test_case_api_openapi_client import SpecialistProcedure
from dikom.cases.tests.test_case_lifecycle import adopt, submit
from dikom.cases.webhooks import actions as webhooks
from dikom.cases.webhooks.models import WebhookDelivery
from dikom.lib.testing import english_client
from dikom.payments import actions as payment_actions
from dikom.payments import service as payments
from dikom.payments.contrib import demo
from dikom.payments.models import PaymentStatus
from dikom.portal.tests.conftest import VALID_IBAN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_cache", "api_media")]


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def open_tasks(case: Case) -> list[str]:
    return sorted(case.tasks.filter(status=Task.Status.OPEN).values_list("name", flat=True))


def case_with(city: Any, unit: Any, model: str, citizen: Any = None) -> Case:
    adoption = adopt(city, unit, f"platform/{model}")
    if citizen is None:
        return actions.open_case(submit(adoption))  # as the submission signal does on commit
    from dikom.eservices.service import adoption_for
    from dikom.portal import actions as portal_actions

    application = portal_actions.start_application(
        adopted=adoption_for(adoption.municipality, adoption.definition.slug), citizen=citizen
    )
    portal_actions.save_step_answers(
        application,
        "person",
        {"name": "Erika Muster", "email": "erika@example.org", "plz": "36037", "hat_kinder": "no"},
        next_step=3,
    )
    portal_actions.save_step_answers(application, "bank", {"iban": VALID_IBAN}, next_step=3)
    application, _won = portal_actions.submit_application(application, submission_key=application.submission_key)
    return actions.open_case(application)


def pending_payment(city: Any, reference: str, suffix: str = "") -> Any:
    payment = payments.create_payment(
        municipality=city,
        amount_cents=4500,
        description="Verwaltungsgebühr",
        reference=reference,
        return_url="https://example.org/zurueck",
        idempotency_key=f"test:{reference}:{city.slug}{suffix}",
        provider_key="demo",
    )
    payment, _changed = payment_actions.record_status(payment.pk, PaymentStatus.PENDING, source="system")
    return payment


def notify(payment: Any, status: str = PaymentStatus.PAID) -> Any:
    """The payment platform's server-to-server notification, signed as the demo platform signs it."""
    return Client().post("/zahlung/benachrichtigung/demo/", demo.signed_fields(payment, status))


# --- payment ----------------------------------------------------------------------------------


def test_a_process_waiting_for_the_fee_continues_when_the_payment_completes(
    demo_payments: None, city_a: Any, city_b: Any, unit_a: Any
) -> None:
    case = case_with(city_a, unit_a, "zahlung.bpmn")
    # The catch event "Zahlung eingegangen" (message "Gebühr bezahlt", dikom:event="zahlung-eingegangen") waits.
    assert open_tasks(case) == ["Zahlung eingegangen"]
    # Another city's payment with the same reference reaches nothing here.
    foreign = pending_payment(city_b, case.reference)
    assert notify(foreign).status_code == 200
    assert open_tasks(case) == ["Zahlung eingegangen"]
    # The fee of this case (its reference, its city) is paid: the platform's notification moves the process on.
    payment = pending_payment(city_a, case.reference)
    assert notify(payment).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    case.refresh_from_db()
    assert open_tasks(case) == ["Bescheid erstellen"]
    waited = case.tasks.get(name="Zahlung eingegangen")
    assert waited.status == Task.Status.DONE and waited.completed_automatically
    # The throw event towards the citizen (dikom:nachricht-antragsteller) put a notice into the portal mailbox.
    notice = case.messages.get(direction=CaseMessage.Direction.TO_CITIZEN, kind=CaseMessage.Kind.MESSAGE)
    assert notice.subject == "Zahlungseingang bestätigen" and case.reference in notice.body
    [entry] = case.events.filter(kind="platform_message")
    assert entry.data["outcome"] == "delivered" and entry.data["message"] == "Gebühr bezahlt"
    assert entry.data["key"] == f"payment:{payment.uuid}"
    assert case.workflow_state["workflow"]  # stored in the same transaction as the payment
    # The platform repeats its notification (and the citizen's return says the same): nothing happens twice.
    assert notify(payment).status_code == 200
    payment_actions.record_status(payment.pk, PaymentStatus.PAID, source="return")
    assert case.events.filter(kind="platform_message").count() == 1
    assert case.messages.filter(kind=CaseMessage.Kind.MESSAGE).count() == 1
    assert open_tasks(case) == ["Bescheid erstellen"]


def test_a_payment_when_the_process_does_not_wait_is_recorded_and_changes_nothing(
    demo_payments: None, city_a: Any, unit_a: Any
) -> None:
    case = case_with(city_a, unit_a, "zahlung.bpmn")
    first = pending_payment(city_a, case.reference)
    notify(first)
    # A second payment (a citizen paid twice): the process waits for no payment any more; not an error.
    second = pending_payment(city_a, case.reference, suffix="-2")
    assert notify(second).status_code == 200
    case.refresh_from_db()
    assert open_tasks(case) == ["Bescheid erstellen"]
    outcomes = list(case.events.filter(kind="platform_message").values_list("data__outcome", flat=True))
    assert outcomes == ["delivered", "not_waiting"]


def test_a_case_without_payment_messages_hears_nothing_of_payments(
    demo_payments: None, city_a: Any, unit_a: Any
) -> None:
    case = case_with(city_a, unit_a, "antwort.bpmn")
    notify(pending_payment(city_a, case.reference))
    assert not case.events.filter(kind="platform_message").exists()
    assert open_tasks(case) == ["Fehlende Unterlagen anfordern"]


# --- the citizen's answer ---------------------------------------------------------------------


def test_a_process_waiting_for_the_answer_continues_when_the_citizen_replies_in_the_portal(
    login: Any, citizen: Any, city_a: Any, unit_a: Any
) -> None:
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    case = case_with(city_a, unit_a, "antwort.bpmn", citizen=citizen)
    actions.complete_task(case.tasks.get(name="Fehlende Unterlagen anfordern"), caseworker, expected_version=None)
    assert open_tasks(case) == ["Antwort abwarten"]  # the receive task (dikom:antwort-antragsteller)
    request = actions.request_information(case, caseworker, subject="Nachweis fehlt", body="Bitte Nachweis senden.")
    client = login(english_client(), citizen)
    response = client.post(
        f"/portal/antraege/{case.application.uuid}/", {"request": str(request.uuid), "body": "Anbei der Nachweis."}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    assert open_tasks(case) == ["Antwort prüfen"]
    waited = case.tasks.get(name="Antwort abwarten")
    assert waited.status == Task.Status.DONE and waited.completed_automatically
    [entry] = case.events.filter(kind="platform_message")
    assert entry.data["key"] == f"answer:{request.uuid}" and entry.data["outcome"] == "delivered"
    # The answer is in the process's data.
    assert "Anbei der Nachweis." in str(case.workflow_state)
    # Answering again is refused as before; nothing is delivered twice.
    again = client.post(f"/portal/antraege/{case.application.uuid}/", {"request": str(request.uuid), "body": "x"})
    assert again.status_code == 400
    assert case.events.filter(kind="platform_message").count() == 1


# --- an outside system over the case API --------------------------------------------------------


def post(client: Any, case: Case, body: dict[str, Any], idempotency_key: str = "") -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    return client.post(f"/api/v1/cases/{case.uuid}/messages/", body, format="json", **headers)


def test_a_specialist_procedure_posts_messages_with_its_key(city_a: Any, city_b: Any, unit_a: Any, unit_b: Any) -> None:
    case = case_with(city_a, unit_a, "fachverfahren.bpmn")
    webhooks.create_subscription(
        municipality=city_a, name="Fachverfahren", url="https://fachverfahren.example/hook",
        events=["process.message"], actor=None,
    )  # fmt: skip
    procedure_a = client_for(key(city_a, CASES_READ, CASES_WRITE))
    procedure_b = client_for(key(city_b, CASES_READ, CASES_WRITE))
    reader_a = client_for(key(city_a, CASES_READ))
    assert open_tasks(case) == [
        "Antrag prüfen", "Message received: Zwischenstand", "Message received: dikom:webhook:gutachten-fertig"
    ]  # fmt: skip
    # Another city's key: 404 (the case does not exist for it); a key without cases:write: 403.
    refused = post(procedure_b, case, {"message": "gutachten-fertig"}, "k-1")
    assert refused.status_code == 404 and refused["Content-Type"] == "application/problem+json"
    assert post(reader_a, case, {"message": "gutachten-fertig"}, "k-1").status_code == 403
    # A message without platform event, by its BPMN name (non-interrupting boundary event).
    interim = post(procedure_a, case, {"message": "Zwischenstand", "data": {"stand": "halb"}}, "k-0")
    assert interim.status_code == 200, interim.json()
    assert interim.json()["outcome"] == "delivered"
    assert "Zwischenstand ansehen" in open_tasks(case) and "Antrag prüfen" in open_tasks(case)
    # The webhook message: the interrupting boundary event ends "Antrag prüfen".
    answer = post(procedure_a, case, {"message": "gutachten-fertig", "data": {"ergebnis": "positiv"}}, "k-1")
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "outcome": "delivered", "delivered": True, "message": "dikom:webhook:gutachten-fertig",
        "duplicate": False, "error": "",
    }  # fmt: skip
    case.refresh_from_db()
    assert "Gutachten auswerten" in open_tasks(case) and "Antrag prüfen" not in open_tasks(case)
    # A retry with the same key delivers nothing again.
    retry = post(procedure_a, case, {"message": "gutachten-fertig", "data": {"ergebnis": "positiv"}}, "k-1")
    assert retry.status_code == 200 and retry.json()["duplicate"] is True and retry.json()["outcome"] == "delivered"
    assert case.events.filter(kind="platform_message", data__outcome="delivered").count() == 2
    # The same key for another message: 409.
    clash = post(procedure_a, case, {"message": "Zwischenstand"}, "k-1")
    assert clash.status_code == 409 and clash["Content-Type"] == "application/problem+json"
    # A new message the case no longer waits for: no error, nothing changes.
    late = post(procedure_a, case, {"message": "dikom:webhook:gutachten-fertig"}, "k-2")
    assert late.status_code == 200 and late.json()["outcome"] == "not_waiting"
    # Unknown messages are a 400 naming the field.
    unknown = post(procedure_a, case, {"message": "gibt-es-nicht"}, "k-3")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "message"
    assert "has no message" in unknown.json()["errors"][0]["message"]
    bad = post(procedure_a, case, {"message": "Zwischenstand", "data": {"typename": "x"}}, "k-4")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "data"
    # The evaluation ends at the end event that sends dikom:webhook:vorgang-erledigt to the subscribers.
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    actions.complete_task(case.tasks.get(name="Gutachten auswerten"), caseworker, expected_version=None)
    sent = WebhookDelivery.objects.filter(event="process.message", municipality_id=city_a.pk)
    assert [d.payload["data"]["message"] for d in sent] == ["vorgang-erledigt"]


def test_the_platform_events_cannot_be_posted_over_the_api(city_a: Any, unit_a: Any) -> None:
    case = case_with(city_a, unit_a, "zahlung.bpmn")
    procedure_a = client_for(key(city_a, CASES_READ, CASES_WRITE))
    for name in ("Gebühr bezahlt", "dikom:zahlung-eingegangen"):
        refused = post(procedure_a, case, {"message": name}, f"k-{name}")
        assert refused.status_code == 400, name
        assert "only the platform delivers it" in refused.json()["errors"][0]["message"]
    assert open_tasks(case) == ["Zahlung eingegangen"]


# --- the import check -------------------------------------------------------------------------


def _model(message: str, element: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:dikom="urn:dikom:bpmn:1" id="D" targetNamespace="urn:t">'
        f"{message}"
        '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S"/>'
        f"{element}"
        '<bpmn:endEvent id="E"/><bpmn:sequenceFlow id="F1" sourceRef="S" targetRef="X"/>'
        '<bpmn:sequenceFlow id="F2" sourceRef="X" targetRef="E"/></bpmn:process></bpmn:definitions>'
    ).encode()


CATCH = (
    '<bpmn:intermediateCatchEvent id="X"><bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateCatchEvent>'
)
THROW = (
    '<bpmn:intermediateThrowEvent id="X"><bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateThrowEvent>'
)


def test_the_import_check_refuses_unknown_platform_events_in_german() -> None:
    with translation.override("de"):
        report = inspect(_model('<bpmn:message id="M" name="dikom:zahlung-eingegang"/>', CATCH))
        [error] = report.errors
        assert error.code == "unknown-platform-event" and error.line == 1
        assert "dikom:zahlung-eingegang" in str(error.message) and "das dikom nicht kennt" in str(error.message)
        assert "dikom:zahlung-eingegangen" in str(error.message)  # the known ones are listed
        attribute = inspect(_model('<bpmn:message id="M" name="Bezahlt" dikom:event="bezahlung"/>', CATCH))
        assert [f.code for f in attribute.errors] == ["unknown-platform-event"]
        webhook = inspect(_model('<bpmn:message id="M" name="dikom:webhook:Mit Leerzeichen"/>', CATCH))
        assert [f.code for f in webhook.errors] == ["unknown-platform-event"]
        # Used the wrong way round: a payment is not sent, a notice to the citizen is not awaited.
        sent_payment = inspect(_model('<bpmn:message id="M" name="dikom:zahlung-eingegangen"/>', THROW))
        assert "kann nicht gesendet werden" in str(sent_payment.errors[0].message)
        awaited_notice = inspect(_model('<bpmn:message id="M" name="dikom:nachricht-antragsteller"/>', CATCH))
        assert "kein Vorgang kann darauf warten" in str(awaited_notice.errors[0].message)


def test_the_import_check_accepts_mapped_and_unmapped_messages() -> None:
    mapped = inspect(_model('<bpmn:message id="M" name="Bezahlt" dikom:event="dikom:zahlung-eingegangen"/>', CATCH))
    assert mapped.ok, [str(f) for f in mapped.errors]
    assert any(f.code == "platform-message" and f.element_id == "X" for f in mapped.notes)
    assert b'awaits="Bezahlt"' in (mapped.engine_xml or b"")
    unmapped = inspect(_model('<bpmn:message id="M" name="Antwort des Bürgers"/>', CATCH))
    assert unmapped.ok and not any(f.code == "platform-message" for f in unmapped.notes)
    webhook = inspect(_model('<bpmn:message id="M" name="dikom:webhook:bescheid.versandt"/>', THROW))
    assert webhook.ok and b'topic="message:dikom:webhook:bescheid.versandt"' in (webhook.engine_xml or b"")
    for name in (
        "dikom:zahlung-eingegangen",
        "dikom:antwort-antragsteller",
        "dikom:webhook:x",
        "dikom:nachricht-antragsteller",
    ):
        element = THROW if name == "dikom:nachricht-antragsteller" else CATCH
        assert inspect(_model(f'<bpmn:message id="M" name="{name}"/>', element)).ok, name


def test_a_client_written_against_the_openapi_document_posts_a_message(tmp_path: Any, city_a: Any, unit_a: Any) -> None:
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", file=str(target))
    openapi = yaml.safe_load(target.read_text(encoding="utf-8"))
    case = case_with(city_a, unit_a, "fachverfahren.bpmn")
    client = SpecialistProcedure(openapi, client_for(key(city_a, CASES_READ, CASES_WRITE)))
    status, outcome = client.call(
        "cases_messages_create", path={"case_uuid": str(case.uuid)}, json={"message": "gutachten-fertig"}
    )
    assert status == 200 and outcome["outcome"] == "delivered"
    status, problem = client.call("cases_messages_create", path={"case_uuid": str(case.uuid)}, json={"data": {}})
    assert status == 400 and problem["errors"][0]["field"] == "message"


def test_a_message_the_process_cannot_take_is_recorded_and_the_step_stays_open(city_a: Any, unit_a: Any) -> None:
    case = case_with(city_a, unit_a, "pruefbericht.bpmn")
    assert open_tasks(case) == ["Prüfbericht abwarten"]  # receive task, dikom:event="webhook:pruefbericht"
    procedure_a = client_for(key(city_a, CASES_READ, CASES_WRITE))
    # The script after the receive task divides by the report's "teiler": 0 makes the step fail.
    failed = post(procedure_a, case, {"message": "pruefbericht", "data": {"teiler": 0}}, "bericht-1")
    assert failed.status_code == 200 and failed.json()["outcome"] == "failed" and failed.json()["error"]
    case.refresh_from_db()
    assert open_tasks(case) == ["Prüfbericht abwarten"]  # nothing moved; a caseworker can still complete it
    [entry] = case.events.filter(kind="platform_message")
    assert entry.data["outcome"] == "failed" and "stays open" in entry.text
    # A corrected report (a new key) is delivered.
    fixed = post(procedure_a, case, {"message": "pruefbericht", "data": {"teiler": 4}}, "bericht-2")
    assert fixed.json()["outcome"] == "delivered" and fixed.json()["message"] == "Prüfbericht"
    case.refresh_from_db()
    assert open_tasks(case) == ["Entscheiden"]
    assert '"anteil": 25' in __import__("json").dumps(case.workflow_state)


def test_an_application_paid_in_the_portal_passes_the_payment_wait_when_the_case_opens(
    settings: Any, city_a: Any, city_b: Any, unit_a: Any
) -> None:
    import copy
    from pathlib import Path

    from dikom.portal.tests import test_sign_in_and_payment as journey
    from dikom.portal.tests.conftest import FAMILY, release_and_adopt

    settings.DIKOM_DEMO = True
    settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    service = copy.deepcopy(FAMILY)
    service.update(trust_level="substantial", auth_methods=["bundid", "eid"], payment_required=True)
    service["fees"] = [{"key": "gebuehr", "label": {"de": "Gebühr", "en": "Fee"}, "amount_cents": 2500}]
    service["processing"] = {"bpmn": (Path(__file__).parent / "bpmn/platform/zahlung.bpmn").read_text("utf-8")}
    adoption = release_and_adopt(service, city_a)
    client = english_client()
    application, _location = journey.start(client, adoption)
    journey.sign_in_with_demo(client, application, method="eid", level="high")
    journey.fill_in(client, application)
    paid = journey.pay_on_demo_platform(client, application, "paid")
    done = client.post(
        f"{journey.base(application)}/zusammenfassung/",
        {"action": "submit", "submission_key": application.submission_key},
    )
    assert done["Location"].endswith("/bestaetigung/")
    application.refresh_from_db()
    case = actions.open_case(application)  # as the submission signal does on commit
    # Paid before the case existed: the process learns it as it starts and goes on to the notice.
    assert open_tasks(case) == ["Bescheid erstellen"]
    [entry] = case.events.filter(kind="platform_message")
    assert entry.data["key"] == f"payment:{paid.uuid}" and entry.data["outcome"] == "delivered"
    # A late repeated notification of the same payment delivers nothing again.
    notify(paid)
    assert case.events.filter(kind="platform_message").count() == 1
