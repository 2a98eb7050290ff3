"""The pmPayment adapter against a local stand-in of the pmPayment interface (real HTTP on 127.0.0.1).

The stand-in (``pmpayment_platform.py``) is a test double of the protocol as
publicly described, not pmPayment itself; docs/payments-pmpayment.md lists what
is still to be confirmed with the operator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import urllib.parse
import urllib.request
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from dikom.lib.testing import english_client
from dikom.payments import access, service
from dikom.payments.checks import check_payment_providers
from dikom.payments.contrib import pmpayment
from dikom.payments.models import Payment, PaymentEvent, PaymentStatus
from dikom.payments.tests.owner import open_to
from dikom.payments.tests.pmpayment_platform import PmPaymentStandIn

SALT_FULDA = "fulda-test-salt-7f3a"
PROCEDURE_FULDA = "dikom-fulda"
NOTIFY_PATH = "/zahlung/benachrichtigung/pmpayment/"


@pytest.fixture
def platform():
    with PmPaymentStandIn({"06631009": (PROCEDURE_FULDA, SALT_FULDA)}) as stand_in:
        yield stand_in


@pytest.fixture
def pm_settings(settings, platform):
    settings.DIKOM_PAYMENT_PROVIDERS = ["pmpayment"]
    settings.DIKOM_PMPAYMENT_URL = platform.url
    settings.DIKOM_PMPAYMENT_CLIENTS = json.dumps({"06631009": {"procedure": PROCEDURE_FULDA, "secret": SALT_FULDA}})
    settings.DIKOM_PMPAYMENT_TIMEOUT_SECONDS = 10
    settings.DIKOM_PMPAYMENT_DESCRIPTION_MAX_LENGTH = 27
    settings.DIKOM_PMPAYMENT_SIGNED_RETURN = True
    return settings


def _create(municipality, key="application-1-fee", amount=2500):
    return service.create_payment(
        municipality=municipality,
        amount_cents=amount,
        description="Bewohnerparkausweis",
        reference="FD-2026-0001",
        return_url="/portal/fulda/antrag/1/",
        idempotency_key=key,
    )


@pytest.fixture
def payment(pm_settings, city_a):
    return _create(city_a)


def _to_platform(client: Client, payment: Payment, platform: PmPaymentStandIn) -> str:
    """The citizen presses "continue to payment" and lands on the platform's pay page; returns the txid."""
    open_to(client, payment)  # the owner's session (the portal binds it after its own check)
    assert client.get(service.start_url(payment)).status_code == 200
    response = client.post(service.start_url(payment))
    assert response.status_code == 302, response.content
    paypage = response["Location"]
    assert paypage.startswith(f"{platform.url}/paypage/")
    with urllib.request.urlopen(paypage, timeout=10) as page:  # noqa: S310 - the stand-in on loopback
        assert b"Test double of pmPayment" in page.read()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    return str(payment.uuid)


def _statuses(payment: Payment) -> list[str]:
    return [event.to_status for event in PaymentEvent.objects.filter(payment=payment)]


# --- What is sent ---------------------------------------------------------------------------


def test_start_request_has_the_published_fields_and_hash(payment, rf):
    request = rf.post("/", HTTP_HOST="localhost")
    client = pmpayment.client_for(payment.municipality)
    assert client is not None

    fields = pmpayment.start_fields(payment, request, client)

    assert list(fields) == ["ags", "amount", "procedure", "desc", "txid", "notifyURL", "redirectURL", "hash"]
    assert fields["ags"] == "06631009"
    assert fields["amount"] == "2500"
    assert fields["procedure"] == PROCEDURE_FULDA
    assert fields["desc"] == "FD-2026-0001 Bewohnerparkau"  # reference first, cut to 27
    assert fields["txid"] == str(payment.uuid)
    assert fields["notifyURL"] == f"http://localhost{NOTIFY_PATH}"
    # The return page with a signed, expiring token for this payment (shows the outcome without the session).
    back = urllib.parse.urlsplit(fields["redirectURL"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == f"http://localhost/zahlung/{payment.uuid}/rueckkehr/"
    assert access.return_token_valid(payment, urllib.parse.parse_qs(back.query)["token"][0])
    # Computed here independently: HMAC-SHA256 with the salt over the values joined with "|".
    message = (
        f"06631009|2500|{PROCEDURE_FULDA}|FD-2026-0001 Bewohnerparkau|{payment.uuid}"
        f"|http://localhost{NOTIFY_PATH}|{fields['redirectURL']}"
    )
    assert fields["hash"] == hmac.new(SALT_FULDA.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_accounting_record_is_sent_and_hashed_in_place(pm_settings, city_a, platform):
    pm_settings.DIKOM_PMPAYMENT_CLIENTS = {
        "06631009": {"procedure": PROCEDURE_FULDA, "secret": SALT_FULDA, "accounting_record": "HH 1.2.3 {reference}"}
    }
    payment = _create(city_a)
    _to_platform(Client(), payment, platform)
    sent = platform.start_requests[-1]
    assert sent["accountingRecord"] == "HH 1.2.3 FD-2026-0001"
    assert list(sent)[:6] == ["ags", "amount", "procedure", "desc", "accountingRecord", "txid"]


@pytest.mark.parametrize(
    ("reference", "text", "expected"),
    [
        ("FD-7", "Gebühr für Straße „Am Hügel“", "FD-7 Gebuehr fuer Strasse Am"),
        ("", "Hundesteuer 😀 #1 & mehr", "Hundesteuer 1 mehr"),
        ("", "Café Müller", "Cafe Mueller"),
        ("", "!!!", "dikom"),
    ],
)
def test_description_is_sepa_text_of_allowed_length(pm_settings, city_a, reference, text, expected):
    pm_settings.DIKOM_PMPAYMENT_DESCRIPTION_MAX_LENGTH = 28
    payment = Payment(municipality=city_a, amount_cents=100, description=text, reference=reference)
    assert pmpayment.description(payment) == expected


def test_description_passes_the_platforms_checks(pm_settings, city_a, platform):
    payment = service.create_payment(
        municipality=city_a,
        amount_cents=1999,
        description="Sondernutzungserlaubnis für Außengastronomie – Saison 2026 ✓",
        reference="FD/2026:17",
        return_url="/",
        idempotency_key="long",
    )
    _to_platform(Client(), payment, platform)
    desc = platform.start_requests[-1]["desc"]
    assert desc.startswith("FD/2026:17 Sondernutzungser") and len(desc) <= 27


def test_method_names_map_to_ours():
    assert pmpayment.payment_method("giropay") == "giropay"
    assert pmpayment.payment_method("paydirekt") == "paydirekt"
    assert pmpayment.payment_method("creditCard") == "creditcard"
    assert pmpayment.payment_method("PayPal") == "paypal"
    assert pmpayment.payment_method("sepa") == "sepa_direct_debit"
    assert pmpayment.payment_method("invoice") == "invoice"
    assert pmpayment.payment_method("applepay") == "other"
    assert pmpayment.payment_method("") == ""


# --- Journeys over real HTTP (the platform notifies the live server) ----------------------------


def test_full_flow_paid(live_server, pm_settings, city_a, platform):
    payment = _create(city_a)
    host = urllib.parse.urlsplit(live_server.url).netloc
    citizen = english_client(HTTP_HOST=host)
    txid = _to_platform(citizen, payment, platform)

    transaction = platform.transactions[txid]
    assert (transaction.ags, transaction.amount, transaction.procedure) == ("06631009", "2500", PROCEDURE_FULDA)
    assert transaction.notify_url == f"{live_server.url}{NOTIFY_PATH}"
    assert transaction.redirect_url.startswith(f"{live_server.url}/zahlung/{payment.uuid}/rueckkehr/?token=")

    # The citizen pays; the platform tells us server-to-server, then sends the citizen back.
    platform.finish(txid, 1, "giropay")
    assert platform.send_notification(txid) == 200
    payment.refresh_from_db()
    assert (payment.status, payment.method) == (PaymentStatus.PAID, "giropay")
    assert payment.paid_at is not None
    assert platform.status_queries == [txid]  # the notification was checked with the platform

    response = citizen.post(platform.return_path(txid), platform.return_fields(txid))
    assert response.status_code == 302
    page = citizen.get(response["Location"])
    assert page.status_code == 200
    assert "25,00 € have been paid" in page.content.decode()
    assert _statuses(payment) == ["created", "pending", "paid"]
    assert service.is_paid(payment)


def test_failed_and_cancelled_then_retry_keeps_reference(live_server, pm_settings, city_a, platform):
    payment = _create(city_a)
    citizen = Client(HTTP_HOST=urllib.parse.urlsplit(live_server.url).netloc)

    # Attempt 1: the card is declined, the platform notifies.
    first = _to_platform(citizen, payment, platform)
    platform.finish(first, 0, "creditcard")
    assert platform.send_notification(first) == 200
    payment.refresh_from_db()
    assert (payment.status, payment.method) == (PaymentStatus.FAILED, "creditcard")

    # Attempt 2: a new attempt with its own transaction id; the citizen leaves the pay page.
    response = citizen.get(service.start_url(payment))
    retry = Payment.objects.get(previous_attempt=payment)
    assert response["Location"] == service.start_url(retry)
    second = _to_platform(citizen, retry, platform)
    assert second != first
    platform.finish(second, 0, "")
    citizen.post(platform.return_path(second), platform.return_fields(second))  # signed return only
    retry.refresh_from_db()
    assert retry.status == PaymentStatus.CANCELLED

    # Attempt 3: paid.
    citizen.get(service.start_url(payment))
    third_payment = Payment.objects.get(previous_attempt=retry)
    third = _to_platform(citizen, third_payment, platform)
    platform.finish(third, 1, "paypal")
    assert platform.send_notification(third) == 200

    chain = [payment, retry, third_payment]
    for attempt in chain:
        attempt.refresh_from_db()
    assert [a.status for a in chain] == ["failed", "cancelled", "paid"]
    assert {a.reference for a in chain} == {"FD-2026-0001"}
    assert service.is_paid(payment)
    assert Payment.objects.count() == 3
    assert [request["txid"] for request in platform.start_requests] == [first, second, third]
    # A paid chain is not started again.
    assert citizen.get(service.start_url(payment)).status_code == 200
    assert Payment.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_notifications_change_once(live_server, pm_settings, city_a, platform):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    payment = _create(city_a)
    txid = _to_platform(Client(HTTP_HOST=urllib.parse.urlsplit(live_server.url).netloc), payment, platform)
    platform.finish(txid, 1, "creditcard")
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def notify() -> None:
        barrier.wait()
        codes.append(platform.send_notification(txid))

    threads = [threading.Thread(target=notify) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200, 200]
    assert PaymentEvent.objects.filter(payment=payment, to_status=PaymentStatus.PAID).count() == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


# --- Notifications ----------------------------------------------------------------------------


def test_repeated_notification_changes_nothing(payment, platform):
    client = Client()
    txid = _to_platform(client, payment, platform)
    platform.finish(txid, 1, "creditcard")
    for _ in range(3):
        assert client.post(NOTIFY_PATH, platform.notification_fields(txid)).status_code == 200
    client.post(platform.return_path(txid), platform.return_fields(txid))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert _statuses(payment) == ["created", "pending", "paid"]


def test_signed_notification_with_right_hash_is_accepted(payment, platform):
    client = Client()
    txid = _to_platform(client, payment, platform)
    platform.finish(txid, 1, "paydirekt")
    assert client.post(NOTIFY_PATH, platform.notification_fields(txid, signed=True)).status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.method) == (PaymentStatus.PAID, "paydirekt")


def test_notification_with_wrong_hash_is_refused(payment, platform):
    client = Client()
    txid = _to_platform(client, payment, platform)
    platform.finish(txid, 1, "creditcard")
    events = PaymentEvent.objects.count()

    forged = {**platform.notification_fields(txid, signed=True), "hash": "0" * 64}
    assert client.post(NOTIFY_PATH, forged).status_code == 403
    other_salt = platform.notification_fields(txid, signed=False)
    other_salt["hash"] = hmac.new(
        b"another-salt",
        "|".join(other_salt.get(name, "") for name in pmpayment.RESULT_FIELDS).encode(),
        hashlib.sha256,
    ).hexdigest()
    assert client.post(NOTIFY_PATH, other_salt).status_code == 403
    # Correctly signed, but for a different amount than this payment's.
    tampered = platform.notification_fields(txid, signed=False)
    tampered["amount"] = "1"
    tampered["hash"] = hmac.new(
        SALT_FULDA.encode(), "|".join(tampered.get(n, "") for n in pmpayment.RESULT_FIELDS).encode(), hashlib.sha256
    ).hexdigest()
    assert client.post(NOTIFY_PATH, tampered).status_code == 403

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert PaymentEvent.objects.count() == events
    assert platform.status_queries == []  # refused before asking the platform


def test_unsigned_notification_is_checked_with_the_platform(payment, platform):
    client = Client()
    txid = _to_platform(client, payment, platform)
    # Someone who learnt the txid claims "paid"; the platform says the transaction is still open.
    claim = {**platform.notification_fields(txid), "status": "1", "payment_method": "giropay"}
    assert client.post(NOTIFY_PATH, claim).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert platform.status_queries == [txid]


def test_notification_for_unknown_transaction_is_refused_without_leaking(payment, platform, city_a):
    client = Client()
    txid = _to_platform(client, payment, platform)
    platform.finish(txid, 1, "creditcard")
    genuine = platform.notification_fields(txid)
    demo_payment = Payment.objects.create(
        municipality=city_a,
        amount_cents=2500,
        description="x",
        reference="R",
        return_url="/",
        idempotency_key="demo-one",
        provider="demo",
    )

    answers = [
        client.post(NOTIFY_PATH, {**genuine, "txid": str(uuid.uuid4())}),
        client.post(NOTIFY_PATH, {**genuine, "txid": "not-a-uuid"}),
        client.post(NOTIFY_PATH, {**genuine, "txid": str(demo_payment.uuid)}),
        client.post(NOTIFY_PATH, {**genuine, "ags": "06531005"}),
        client.post(NOTIFY_PATH, {}),
    ]
    assert [a.status_code for a in answers] == [403] * 5
    assert {a.content for a in answers} == {b"invalid signature"}  # the same answer, whatever was wrong
    assert platform.status_queries == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_late_failed_after_paid_is_ignored(payment, platform, caplog):
    client = Client()
    txid = _to_platform(client, payment, platform)
    platform.finish(txid, 1, "creditcard")
    assert client.post(NOTIFY_PATH, platform.notification_fields(txid)).status_code == 200

    platform.finish(txid, 0, "creditcard")  # a later, contradicting word from the platform
    assert client.post(NOTIFY_PATH, platform.notification_fields(txid)).status_code == 200
    client.post(platform.return_path(txid), platform.return_fields(txid))

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert _statuses(payment) == ["created", "pending", "paid"]
    assert any("ignored" in record.getMessage() for record in caplog.records)


def test_notification_while_platform_unreachable_changes_nothing(payment, platform):
    client = Client()
    txid = _to_platform(client, payment, platform)
    platform.finish(txid, 1, "creditcard")
    fields = platform.notification_fields(txid)
    platform.stop()
    assert client.post(NOTIFY_PATH, fields).status_code == 403  # not confirmed: the platform may send it again
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


# --- The citizen's return -----------------------------------------------------------------------


def test_return_applies_only_correctly_signed_results(payment, platform, settings):
    client = Client()
    txid = _to_platform(client, payment, platform)
    platform.finish(txid, 0, "")
    path = platform.return_path(txid)

    unsigned = {k: v for k, v in platform.return_fields(txid).items() if k != "hash"}
    assert client.post(path, unsigned).status_code == 302
    assert client.post(path, {**platform.return_fields(txid), "status": "1"}).status_code == 403
    assert client.post(path, {**platform.return_fields(txid), "hash": "f" * 64}).status_code == 403
    other = _create(payment.municipality, key="other")
    open_to(client, other)
    assert client.post(f"/zahlung/{other.uuid}/rueckkehr/", platform.return_fields(txid)).status_code == 403
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING

    settings.DIKOM_PMPAYMENT_SIGNED_RETURN = False
    client.post(path, platform.return_fields(txid))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING  # switched off: only notifications count

    settings.DIKOM_PMPAYMENT_SIGNED_RETURN = True
    assert client.post(path, platform.return_fields(txid)).status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert platform.status_queries == []


# --- Refusals at the start ----------------------------------------------------------------------


def test_municipality_without_configured_access_is_refused_at_start(pm_settings, city_b, platform):
    payment = _create(city_b, key="giessen-1")
    client = open_to(english_client(), payment)
    assert client.get(service.start_url(payment)).status_code == 200
    response = client.post(service.start_url(payment))
    assert response.status_code == 503
    assert "Online payment is not set up for this municipality" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert platform.start_requests == []


@pytest.mark.parametrize("trouble", ["unreachable", "wrong salt", "wrong procedure"])
def test_platform_refusal_closes_the_attempt_safely(pm_settings, city_a, platform, trouble):
    if trouble == "unreachable":
        platform.stop()
    elif trouble == "wrong salt":
        pm_settings.DIKOM_PMPAYMENT_CLIENTS = {"06631009": {"procedure": PROCEDURE_FULDA, "secret": "wrong"}}
    else:
        pm_settings.DIKOM_PMPAYMENT_CLIENTS = {"06631009": {"procedure": "nope", "secret": SALT_FULDA}}
    payment = _create(city_a)
    client = open_to(english_client(), payment)
    response = client.post(service.start_url(payment))
    assert response.status_code == 502
    assert "could not be reached. Nothing was charged" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    # The pay page never reached the citizen, so a new attempt may start at once.
    assert client.get(service.start_url(payment))["Location"] == service.start_url(
        Payment.objects.get(previous_attempt=payment)
    )


# --- Closing a pending attempt -----------------------------------------------------------------


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_pending_attempt_is_replaced_only_when_the_platform_says_not_paid(payment, platform, settings):
    client = Client()
    txid = _to_platform(client, payment, platform)
    Payment.objects.filter(pk=payment.pk).update(started_at=timezone.now() - dt.timedelta(hours=2))

    # Past our pending window, but open at the platform: no new attempt.
    assert client.get(service.start_url(payment)).status_code == 409
    # Platform unreachable: we cannot know, so no new attempt either.
    settings.DIKOM_PMPAYMENT_URL = _closed_port_url()
    assert client.get(service.start_url(payment)).status_code == 409
    settings.DIKOM_PMPAYMENT_URL = platform.url
    assert Payment.objects.count() == 1

    # The platform answers "not paid": the attempt is closed and replaced.
    platform.finish(txid, 0, "")
    response = client.get(service.start_url(payment))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    retry = Payment.objects.get(previous_attempt=payment)
    assert response["Location"] == service.start_url(retry)


# --- Configuration -------------------------------------------------------------------------------


def test_system_check_refuses_http_in_production_and_bad_clients(settings):
    settings.DIKOM_PAYMENT_PROVIDERS = ["pmpayment"]
    settings.DIKOM_PMPAYMENT_CLIENTS = json.dumps({"06631009": {"procedure": "p", "secret": "s"}})

    settings.DIKOM_PMPAYMENT_URL = None
    assert [m.id for m in check_payment_providers()] == ["payments.E003"]

    settings.DIKOM_PMPAYMENT_URL = "http://payment-test.example"
    settings.IS_PRODUCTION = False
    assert check_payment_providers() == []
    settings.IS_PRODUCTION = True
    assert [m.id for m in check_payment_providers()] == ["payments.E004"]
    assert pmpayment.PmPaymentProvider().is_available() is False  # refused at run time too

    settings.DIKOM_PMPAYMENT_URL = "https://payment.govconnect.de"
    assert check_payment_providers() == []
    assert pmpayment.PmPaymentProvider().is_available() is True

    settings.DIKOM_PMPAYMENT_CLIENTS = "{not json"
    assert [m.id for m in check_payment_providers()] == ["payments.E005"]
    settings.DIKOM_PMPAYMENT_CLIENTS = json.dumps({"06631009": {"procedure": "p"}})
    messages = check_payment_providers()
    assert [m.id for m in messages] == ["payments.E005"]
    assert "secret" in messages[0].msg and "s'" not in messages[0].msg
    settings.DIKOM_PMPAYMENT_CLIENTS = None
    assert [m.id for m in check_payment_providers()] == ["payments.W001"]


def test_client_repr_hides_the_salt():
    client = pmpayment.Client(ags="06631009", procedure="p", secret="very-secret")
    assert "very-secret" not in repr(client)
