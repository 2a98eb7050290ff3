"""The payment pages answer the owner's session or the signed return link, and nobody else who knows the UUID."""

from __future__ import annotations

import time
import urllib.parse

import pytest
from django.core import signing
from django.test import Client

from dikom.payments import access, service
from dikom.payments.contrib.demo import signed_fields
from dikom.payments.models import Payment, PaymentEvent, PaymentStatus
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
        return_url="/portal/fulda/antrag/4711/zusammenfassung/",
        idempotency_key="application-1-fee",
    )


def _started(payment: Payment) -> tuple[Client, Payment]:
    """The owner's browser pressed "continue to payment": the attempt is pending on the demo platform."""
    owner = open_to(Client(), payment)
    assert owner.post(service.start_url(payment))["Location"] == f"/zahlung/demo/{payment.uuid}/"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    return owner, payment


def _assert_not_found(response) -> None:
    assert response.status_code == 404
    html = response.content.decode()
    assert "Seite nicht gefunden" in html  # the German error page
    assert "2.500" not in html and "25,00" not in html and "FD-2026-0001" not in html


def test_a_stranger_with_the_uuid_gets_404_everywhere_and_changes_nothing(payment):
    stranger = Client()
    events = PaymentEvent.objects.count()

    _assert_not_found(stranger.get(service.start_url(payment)))
    _assert_not_found(stranger.post(service.start_url(payment)))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED  # the POST did not start it

    _owner, payment = _started(payment)
    _assert_not_found(stranger.get(f"/zahlung/demo/{payment.uuid}/"))
    _assert_not_found(stranger.get(f"/zahlung/{payment.uuid}/rueckkehr/"))
    _assert_not_found(stranger.post(f"/zahlung/{payment.uuid}/rueckkehr/", {"status": "paid"}))
    # Even correctly signed platform data needs the return link (or the owner's session).
    _assert_not_found(stranger.post(f"/zahlung/{payment.uuid}/rueckkehr/", signed_fields(payment, "cancelled")))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert PaymentEvent.objects.count() == events + 1  # only the owner's start


def test_the_owner_sees_amount_and_reference(payment):
    owner, payment = _started(payment)
    platform = owner.get(f"/zahlung/demo/{payment.uuid}/").content.decode()
    assert "25,00 €" in platform and "FD-2026-0001" in platform
    owner.post(f"/zahlung/{payment.uuid}/rueckkehr/", signed_fields(payment, PaymentStatus.PAID))
    page = owner.get(f"/zahlung/{payment.uuid}/rueckkehr/").content.decode()
    assert "25,00 €" in page and payment.return_url in page


def test_the_return_link_shows_the_outcome_and_nothing_else(payment):
    _owner, payment = _started(payment)
    link = access.return_url(payment)
    assert link.startswith(f"/zahlung/{payment.uuid}/rueckkehr/?token=")
    # The platform posts its signed result from its own site: no session cookie comes along.
    browser = Client()
    response = browser.post(link, signed_fields(payment, PaymentStatus.PAID))
    assert response.status_code == 302
    assert response["Location"] == link  # the same link, so the outcome shows without the session
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID

    page = browser.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Die Zahlung ist eingegangen." in html
    for secret in ("25,00", "FD-2026-0001", "Bewohnerparkausweis", "4711", payment.return_url, "/start/"):
        assert secret not in html, secret


def test_a_forged_expired_or_foreign_return_link_is_a_404(payment, city_a, monkeypatch):
    _owner, payment = _started(payment)
    other = service.create_payment(
        municipality=city_a,
        amount_cents=900,
        description="Hundesteuer",
        reference="FD-9",
        return_url="/",
        idempotency_key="dog",
    )
    base = f"/zahlung/{payment.uuid}/rueckkehr/"
    foreign = access.return_token(other)
    token = access.return_token(payment)
    # Signed a day and a half (pending window of an hour plus a day of grace) before now.
    long_ago = time.time() - (3600 + 86400 + 3600)
    monkeypatch.setattr(signing.time, "time", lambda: long_ago)
    expired = access.return_token(payment)
    monkeypatch.undo()

    for bad in ("", "x", token[:-1] + ("A" if token[-1] != "A" else "B"), foreign, expired):
        browser = Client()
        _assert_not_found(browser.get(f"{base}?{urllib.parse.urlencode({'token': bad})}"))
        response = browser.post(f"{base}?{urllib.parse.urlencode({'token': bad})}", signed_fields(payment, "paid"))
        _assert_not_found(response)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert Client().get(f"{base}?token={token}").status_code == 200


def test_a_retry_stays_with_the_owner(payment):
    owner, payment = _started(payment)
    owner.post(f"/zahlung/{payment.uuid}/rueckkehr/", signed_fields(payment, PaymentStatus.FAILED))
    response = owner.get(service.start_url(payment))
    retry = Payment.objects.get(previous_attempt=payment)
    assert response["Location"] == service.start_url(retry)
    assert owner.get(response["Location"]).status_code == 200
    _assert_not_found(Client().get(service.start_url(retry)))
