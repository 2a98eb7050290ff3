"""Sign-in and payment steps of the portal, through plain HTTP with the demo sign-in and demo payment platform."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from dikom.analytics.models import UsageEvent
from dikom.lib.testing import english_client
from dikom.payments.models import Payment
from dikom.portal.models import Application
from dikom.portal.tests.conftest import VALID_IBAN, release_and_adopt

pytestmark = pytest.mark.django_db

PERSON = {"f-name": "Erika Muster", "f-email": "erika@example.org", "f-plz": "36037", "f-hat_kinder": "no"}


@pytest.fixture(autouse=True)
def demo_providers(settings: Any) -> None:
    settings.DIKOM_DEMO = True
    settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]


@pytest.fixture
def paid_service(city_a: Any, city_b: Any, family: dict[str, Any]) -> Any:
    family["trust_level"] = "substantial"
    family["auth_methods"] = ["bundid", "eid"]
    family["payment_required"] = True
    family["fees"] = [{"key": "gebuehr", "label": {"de": "Gebühr", "en": "Fee"}, "amount_cents": 2500}]
    return release_and_adopt(family, city_a)


def start(client: Client, adoption: Any) -> tuple[Application, str]:
    response = client.post(f"/portal/{adoption.municipality.slug}/dienst/{adoption.definition.slug}/starten/")
    application = Application.objects.latest("created_at")
    return application, response["Location"]


def base(application: Application) -> str:
    return f"/portal/{application.municipality.slug}/antrag/{application.uuid}"


def sign_in_with_demo(client: Client, application: Application, *, method: str, level: str) -> str:
    """Choose a method on the portal's sign-in page and complete the demo identity service."""
    chosen = client.post(f"{base(application)}/anmelden/auswahl/", {"method": "bundid", "provider": "demo"})
    assert chosen.status_code == 302 and chosen["Location"].startswith("/anmeldung/demo/start/")
    to_idp = client.get(chosen["Location"])
    state = parse_qs(urlparse(to_idp["Location"]).query)["state"][0]
    answer = client.post(
        "/anmeldung/demo/formular/",
        {"method": method, "trust_level": level, "given_name": "Erika", "family_name": "Muster", "state": state},
    )
    back = client.get(answer["Location"])
    assert back["Location"] == f"{base(application)}/anmelden/"
    return client.get(back["Location"])["Location"]


def fill_in(client: Client, application: Application) -> None:
    assert client.post(f"{base(application)}/schritt/1/", {**PERSON, "action": "next"}).status_code == 302
    done = client.post(f"{base(application)}/schritt/3/", {"f-iban": VALID_IBAN, "action": "next"})
    assert done["Location"] == f"{base(application)}/zusammenfassung/"


def pay_on_demo_platform(client: Client, application: Application, outcome: str) -> Payment:
    started = client.post(f"{base(application)}/zusammenfassung/", {"action": "pay"})
    assert started.status_code == 302 and started["Location"].startswith("/zahlung/")
    # The payment page (for a retry it forwards to the new attempt) shows the amount and a button.
    page = client.get(started["Location"], follow=True)
    start_url = page.redirect_chain[-1][0] if page.redirect_chain else started["Location"]
    assert "25,00 €" in page.content.decode()
    to_platform = client.post(start_url)
    platform = client.get(to_platform["Location"])
    html = platform.content.decode()
    forms = re.findall(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    action, chosen = next(
        (action, fields)
        for action, body in forms
        if (fields := dict(re.findall(r'name="([^"]+)" value="([^"]*)"', body))).get("status") == outcome
    )
    client.post(action, chosen)
    return Payment.objects.get(uuid=chosen["payment"])


def test_sign_in_is_required_before_the_first_step(paid_service: Any) -> None:
    client = english_client()
    application, location = start(client, paid_service)
    assert location == f"{base(application)}/anmelden/"
    # The steps and the summary are not reachable before signing in.
    assert client.get(f"{base(application)}/schritt/1/")["Location"] == location
    assert client.get(f"{base(application)}/zusammenfassung/")["Location"] == location
    page = client.get(location)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Sign in with BundID" in html and "Sign in with Online ID card (eID)" in html
    assert "Demo: no real identity check" in html


def test_an_insufficient_sign_in_is_refused_with_a_reason(paid_service: Any) -> None:
    client = english_client()
    application, _location = start(client, paid_service)
    chosen = client.post(f"{base(application)}/anmelden/auswahl/", {"method": "bundid", "provider": "demo"})
    state = parse_qs(urlparse(client.get(chosen["Location"])["Location"]).query)["state"][0]
    answer = client.post(
        "/anmeldung/demo/formular/",
        {"method": "bundid", "trust_level": "low", "given_name": "E", "family_name": "M", "state": state},
    )
    page = client.get(client.get(answer["Location"])["Location"])
    assert page.status_code == 400
    assert "does not reach the trust level" in page.content.decode()
    application.refresh_from_db()
    assert application.auth_method == "" and application.identity_hash == ""
    # A method the service does not allow is refused too.
    wrong = client.post(f"{base(application)}/anmelden/auswahl/", {"method": "elster", "provider": "demo"})
    assert wrong["Location"] == f"{base(application)}/anmelden/"


def test_sign_in_then_pay_then_submit(paid_service: Any) -> None:
    client = english_client()
    application, _location = start(client, paid_service)
    first_step = sign_in_with_demo(client, application, method="eid", level="high")
    assert first_step == f"{base(application)}/schritt/1/"
    application.refresh_from_db()
    assert (application.auth_method, application.trust_level) == ("eid", "high")
    assert len(application.identity_hash) == 64 and "Erika" not in application.identity_hash

    fill_in(client, application)
    summary = client.get(f"{base(application)}/zusammenfassung/").content.decode()
    assert 'value="pay"' in summary and 'value="submit"' not in summary
    # Submitting without paying is refused on the server, whatever the form says.
    refused = client.post(f"{base(application)}/zusammenfassung/", {"action": "submit",
                                                                  "submission_key": application.submission_key})  # fmt: skip
    assert refused.status_code == 400 and "Please pay the fee first." in refused.content.decode()

    failed = pay_on_demo_platform(client, application, "failed")
    assert failed.status == "failed" and failed.amount_cents == 2500
    summary = client.get(f"{base(application)}/zusammenfassung/").content.decode()
    assert "The payment was not completed. Nothing was charged." in summary and 'value="pay"' in summary

    paid = pay_on_demo_platform(client, application, "paid")
    assert paid.status == "paid" and paid.previous_attempt_id == failed.pk  # a retry, not a second payment
    # Paid: the answers are locked so the amount cannot change any more.
    locked = client.get(f"{base(application)}/schritt/1/")
    assert locked["Location"] == f"{base(application)}/zusammenfassung/"
    summary = client.get(f"{base(application)}/zusammenfassung/").content.decode()
    assert 'value="submit"' in summary and "The fee is paid." in summary

    done = client.post(f"{base(application)}/zusammenfassung/", {"action": "submit",
                                                               "submission_key": application.submission_key})  # fmt: skip
    assert done["Location"].endswith("/bestaetigung/")
    application.refresh_from_db()
    assert application.status == "submitted"
    record = application.submission_data
    assert record["auth_method"] == "eid" and record["trust_level"] == "high"
    assert record["payment"]["uuid"] == str(paid.uuid) and record["payment"]["amount_cents"] == 2500
    assert record["payment"]["provider"] == "demo" and record["payment"]["method"] == "creditcard"
    # Paying "again" after submission is impossible: the application is no longer a draft.
    assert client.post(f"{base(application)}/zusammenfassung/", {"action": "pay"})["Location"].endswith(
        "/bestaetigung/"
    )
    assert Payment.objects.filter(status="paid").count() == 1


@pytest.mark.django_db(transaction=True)  # usage events are sent once the transaction commits
def test_sign_in_and_payment_are_measured(paid_service: Any) -> None:
    client = english_client()
    application, _location = start(client, paid_service)
    sign_in_with_demo(client, application, method="bundid", level="substantial")
    fill_in(client, application)
    pay_on_demo_platform(client, application, "cancelled")
    pay_on_demo_platform(client, application, "paid")
    events = list(UsageEvent.objects.values_list("type", "auth_method", "payment_method"))
    assert ("auth_chosen", "bundid", "") in events
    assert ("auth_completed", "bundid", "") in events
    assert events.count(("payment_chosen", "", "creditcard")) == 2  # cancelled, then paid
    assert ("payment_completed", "", "creditcard") in events
    assert not any(e[0] == "payment_failed" for e in events)


def test_anonymous_services_need_no_sign_in(adoption: Any) -> None:
    client = english_client()
    application, location = start(client, adoption)
    assert location == f"{base(application)}/schritt/1/"
    assert client.get(f"{base(application)}/anmelden/")["Location"] == location


def test_another_visitor_cannot_sign_in_someone_elses_draft(paid_service: Any) -> None:
    owner = english_client()
    application, _location = start(owner, paid_service)
    stranger = Client()
    assert stranger.get(f"{base(application)}/anmelden/").status_code == 404
    answer = stranger.post(f"{base(application)}/anmelden/auswahl/", {"method": "bundid", "provider": "demo"})
    assert answer.status_code == 404


def test_only_the_applicant_reaches_the_payment_pages(paid_service: Any) -> None:
    applicant = english_client()
    application, _location = start(applicant, paid_service)
    sign_in_with_demo(applicant, application, method="eid", level="high")
    fill_in(applicant, application)
    payment_page = applicant.post(f"{base(application)}/zusammenfassung/", {"action": "pay"})["Location"]
    payment = Payment.objects.get()
    # Someone who learnt the payment's UUID (a shared link, a log) sees and starts nothing.
    stranger = Client()
    assert stranger.get(payment_page).status_code == 404
    assert stranger.post(payment_page).status_code == 404
    payment.refresh_from_db()
    assert payment.status == "created"
    page = applicant.get(payment_page)
    assert page.status_code == 200 and "25,00 €" in page.content.decode()
    to_platform = applicant.post(payment_page)
    assert applicant.get(to_platform["Location"]).status_code == 200
    assert stranger.get(to_platform["Location"]).status_code == 404
    assert stranger.get(f"/zahlung/{payment.uuid}/rueckkehr/").status_code == 404
    # The summary's link to the pending payment works for the applicant.
    summary = applicant.get(f"{base(application)}/zusammenfassung/").content.decode()
    assert f'href="/zahlung/{payment.uuid}/start/"' in summary
    assert applicant.get(f"/zahlung/{payment.uuid}/start/").status_code == 409  # pending: no second attempt
