"""Payments through the demo platform: journeys, signatures, idempotency, retries."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.utils import timezone

from dikom.payments import actions, service
from dikom.payments.contrib.demo import signed_fields
from dikom.payments.models import EventSource, Payment, PaymentEvent, PaymentStatus
from dikom.payments.tests.owner import open_to


@pytest.fixture
def demo_on(settings):
    settings.DIKOM_DEMO = True
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    settings.DIKOM_PAYMENT_DEMO_SECRET = "test-secret"
    return settings


@pytest.fixture
def payment(demo_on, city_a):
    return service.create_payment(
        municipality=city_a,
        amount_cents=2500,
        description="Bewohnerparkausweis",
        reference="FD-2026-0001",
        return_url="/portal/fulda/antrag/1/",
        idempotency_key="application-1-fee",
    )


def _to_platform(client: Client, payment: Payment) -> Payment:
    open_to(client, payment)  # the owner's session (the portal binds it after its own check)
    assert client.get(service.start_url(payment)).status_code == 200
    response = client.post(service.start_url(payment))
    assert response.status_code == 302
    assert response["Location"] == f"/zahlung/demo/{payment.uuid}/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    return payment


@pytest.mark.parametrize("outcome", [PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.CANCELLED])
def test_demo_journey(payment, outcome):
    client = Client()
    payment = _to_platform(client, payment)
    response = client.post(f"/zahlung/{payment.uuid}/rueckkehr/", signed_fields(payment, outcome))
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == outcome
    assert (payment.paid_at is not None) == (outcome == PaymentStatus.PAID)
    assert client.get(response["Location"]).status_code == 200
    assert [e.to_status for e in payment.events.all()] == ["created", "pending", outcome]


def test_paid_payment_is_not_started_again(payment):
    client = Client()
    payment = _to_platform(client, payment)
    client.post(f"/zahlung/{payment.uuid}/rueckkehr/", signed_fields(payment, PaymentStatus.PAID))
    for method in (client.get, client.post):
        response = method(service.start_url(payment))
        assert response.status_code == 200
        assert "FD-2026-0001" in response.content.decode()
    assert Payment.objects.count() == 1
    assert service.is_paid(payment)


def test_bad_signature_is_refused(payment):
    client = Client()
    payment = _to_platform(client, payment)
    forged = {**signed_fields(payment, PaymentStatus.PAID), "sig": "0" * 64}
    assert client.post(f"/zahlung/{payment.uuid}/rueckkehr/", forged).status_code == 403
    assert client.post("/zahlung/benachrichtigung/demo/", forged).status_code == 403
    # A correctly signed result of one payment cannot be replayed on another.
    other = service.create_payment(
        municipality=payment.municipality,
        amount_cents=100,
        description="x",
        reference="FD-2",
        return_url="/",
        idempotency_key="other",
    )
    valid = signed_fields(payment, PaymentStatus.PAID)
    open_to(client, other)
    assert client.post(f"/zahlung/{other.uuid}/rueckkehr/", valid).status_code == 403
    payment.refresh_from_db()
    other.refresh_from_db()
    assert (payment.status, other.status) == (PaymentStatus.PENDING, PaymentStatus.CREATED)


def test_return_without_signed_data_changes_nothing(payment):
    client = Client()
    payment = _to_platform(client, payment)
    client.post(f"/zahlung/{payment.uuid}/rueckkehr/", {"status": "paid"})
    client.get(f"/zahlung/{payment.uuid}/rueckkehr/?status=paid&sig=x")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_get_never_changes_state(payment):
    client = Client()
    payment = _to_platform(client, payment)
    events = PaymentEvent.objects.count()
    fields = signed_fields(payment, PaymentStatus.CANCELLED)
    client.get(f"/zahlung/{payment.uuid}/rueckkehr/", fields)
    client.get(f"/zahlung/{payment.uuid}/start/")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert PaymentEvent.objects.count() == events


def test_duplicate_and_late_notifications(payment, caplog):
    client = Client()
    payment = _to_platform(client, payment)
    paid = signed_fields(payment, PaymentStatus.PAID)
    assert client.post("/zahlung/benachrichtigung/demo/", paid).status_code == 200
    assert client.post("/zahlung/benachrichtigung/demo/", paid).status_code == 200
    # The citizen's return arrives after the notification: nothing more happens.
    client.post(f"/zahlung/{payment.uuid}/rueckkehr/", paid)
    late = signed_fields(payment, PaymentStatus.FAILED)
    assert client.post("/zahlung/benachrichtigung/demo/", late).status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert [e.to_status for e in payment.events.all()] == ["created", "pending", "paid"]
    assert any("ignored" in record.getMessage() for record in caplog.records)


def test_create_is_idempotent_and_validates_amount(payment, city_a, city_b):
    again = service.create_payment(
        municipality=city_a,
        amount_cents=2500,
        description="Bewohnerparkausweis",
        reference="FD-2026-0001",
        return_url="/portal/fulda/antrag/1/",
        idempotency_key="application-1-fee",
    )
    assert again.pk == payment.pk
    assert Payment.objects.count() == 1
    with pytest.raises(ValidationError):
        service.create_payment(
            municipality=city_b,
            amount_cents=2500,
            description="",
            reference="",
            return_url="/",
            idempotency_key="application-1-fee",
        )
    for amount in (0, -5):
        with pytest.raises(ValidationError):
            service.create_payment(
                municipality=city_a,
                amount_cents=amount,
                description="",
                reference="",
                return_url="/",
                idempotency_key=f"k{amount}",
            )
    assert Payment.objects.count() == 1
    assert service.get_payment(str(payment.uuid)) == payment
    assert service.get_payment("not-a-uuid") is None


def test_retry_after_failure_is_a_linked_attempt(payment):
    client = Client()
    payment = _to_platform(client, payment)
    client.post(f"/zahlung/{payment.uuid}/rueckkehr/", signed_fields(payment, PaymentStatus.FAILED))
    response = client.get(service.start_url(payment))
    retry = Payment.objects.exclude(pk=payment.pk).get()
    assert response["Location"] == f"/zahlung/{retry.uuid}/start/"
    assert (retry.previous_attempt, retry.reference, retry.status) == (payment, payment.reference, "created")
    # Asking again gives the same retry, not a third attempt.
    client.get(service.start_url(payment))
    assert Payment.objects.count() == 2
    retry = _to_platform(client, retry)
    client.post(f"/zahlung/{retry.uuid}/rueckkehr/", signed_fields(retry, PaymentStatus.PAID))
    assert service.is_paid(payment)
    assert b"FD-2026-0001" in client.get(service.start_url(payment)).content
    assert Payment.objects.count() == 2


def test_pending_attempt_blocks_retry_until_closed(payment, settings):
    client = Client()
    payment = _to_platform(client, payment)
    # Still within the pending window: the platform might complete it.
    assert client.get(service.start_url(payment)).status_code == 409
    assert Payment.objects.count() == 1
    # Past the window the demo platform refuses its own data, so the attempt is closed.
    fields = signed_fields(payment, PaymentStatus.PAID)
    Payment.objects.filter(pk=payment.pk).update(started_at=timezone.now() - dt.timedelta(hours=2))
    assert client.post("/zahlung/benachrichtigung/demo/", fields).status_code == 200  # signed before: still valid
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID  # exp was signed in the window; it completed in time


def test_expired_attempt_is_replaced(payment, settings):
    client = Client()
    payment = _to_platform(client, payment)
    Payment.objects.filter(pk=payment.pk).update(started_at=timezone.now() - dt.timedelta(hours=2))
    payment.refresh_from_db()
    late = signed_fields(payment, PaymentStatus.PAID)
    assert client.post("/zahlung/benachrichtigung/demo/", late).status_code == 403  # exp is past
    response = client.get(service.start_url(payment))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    retry = Payment.objects.get(previous_attempt=payment)
    assert response["Location"] == f"/zahlung/{retry.uuid}/start/"


def test_sequential_notifications_serialise(payment):
    payment = _to_platform(Client(), payment)
    results = [
        actions.record_status(payment.pk, PaymentStatus.PAID, source=EventSource.NOTIFICATION)[1],
        actions.record_status(payment.pk, PaymentStatus.PAID, source=EventSource.NOTIFICATION)[1],
        actions.record_status(payment.pk, PaymentStatus.FAILED, source=EventSource.NOTIFICATION)[1],
    ]
    assert results == [True, False, False]


@pytest.mark.django_db(transaction=True)
def test_concurrent_notifications_change_once(demo_on, city_a):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are only meaningful on PostgreSQL")
    payment = service.create_payment(
        municipality=city_a,
        amount_cents=900,
        description="Hundesteuer",
        reference="FD-9",
        return_url="/",
        idempotency_key="dog",
    )
    actions.record_status(payment.pk, PaymentStatus.PENDING, source=EventSource.SYSTEM)
    barrier = threading.Barrier(6)
    outcomes: list[bool] = []

    def notify() -> None:
        from django.db import connections

        try:
            barrier.wait()
            outcomes.append(actions.record_status(payment.pk, PaymentStatus.PAID, source=EventSource.NOTIFICATION)[1])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=notify) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 5 + [True]
    assert PaymentEvent.objects.filter(payment=payment, to_status="paid").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_create_gives_one_payment(demo_on, city_a):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    barrier = threading.Barrier(5)
    ids: list[int] = []

    def create() -> None:
        from django.db import connections

        try:
            barrier.wait()
            ids.append(
                service.create_payment(
                    municipality=city_a,
                    amount_cents=500,
                    description="",
                    reference="R",
                    return_url="/",
                    idempotency_key="same",
                ).pk
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1 and len(ids) == 5
    assert Payment.objects.filter(idempotency_key="same").count() == 1
