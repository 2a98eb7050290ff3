"""The citizen's journey by links, as people meet it: from ``/`` and the city pages to the city's portal,
the city's colours and contact on every portal page, the step indicator, what the pages after paying and
after submitting say, and "Meine Anträge" wherever a signed-in citizen needs it. German pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from dikom.payments.models import Payment
from dikom.portal.models import Application
from dikom.portal.tests.conftest import release_and_adopt
from dikom.portal.tests.test_sign_in_and_payment import base, fill_in, pay_on_demo_platform, sign_in_with_demo, start

pytestmark = pytest.mark.django_db


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
    family["processing"] = {"processing_days": 10}
    return release_and_adopt(family, city_a)


def hrefs(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


def test_from_the_landing_page_and_the_city_page_to_the_citys_portal(client: Client, city_a: Any, city_b: Any) -> None:
    # Given the landing page, a visitor finds the portal root …
    assert "/portal/" in hrefs(client.get("/").content.decode())
    # … which lists every city (it used to be a 404 listing the URL patterns)
    index = client.get("/portal/")
    assert index.status_code == 200
    assert {f"/portal/{city_a.slug}/", f"/portal/{city_b.slug}/"} <= hrefs(index.content.decode())
    # and the city's own page leads to its portal, not to the staff's service library.
    city_page = hrefs(client.get(f"/kommunen/{city_a.slug}/").content.decode())
    assert f"/portal/{city_a.slug}/" in city_page and "/dienste/" not in city_page
    assert client.get(f"/portal/{city_a.slug}/").status_code == 200


def test_the_portal_carries_the_citys_name_colour_arms_and_contact(client: Client, city_a: Any, adoption: Any) -> None:
    city_a.brand_colour = "#7a1f2b"
    city_a.website = "https://www.fulda.example/"
    city_a.save()
    finder = client.get(f"/portal/{city_a.slug}/").content.decode()
    assert "--brand: #7a1f2b" in finder
    assert '<svg class="portal-arms"' in finder and f">{city_a.name[0]}</text>" in finder
    assert 'href="https://www.fulda.example/"' in finder
    assert 'href="mailto:buergerbuero@example.org"' in finder  # the address its services name
    # The service page adds the responsible office's contact from the adoption's local settings.
    service = client.get(f"/portal/{city_a.slug}/dienst/{adoption.definition.slug}/").content.decode()
    assert 'href="mailto:buergerbuero@example.org"' in service and "--brand: #7a1f2b" in service


def test_every_form_step_has_a_step_indicator(client: Client, paid_service: Any) -> None:
    application, sign_in_url = start(client, paid_service)
    # Stages: sign-in, the two visible steps (no children), check and submit.
    sign_in = client.get(sign_in_url).content.decode()
    assert "Schritt 1 von 4" in sign_in and 'aria-current="step">' in sign_in
    sign_in_with_demo(client, application, method="eid", level="high")
    first = client.get(f"{base(application)}/schritt/1/").content.decode()
    assert "Schritt 2 von 4" in first
    # The current stage is marked in words too, not by colour alone; done stages say so.
    current = re.search(r'aria-current="step">(.*?)</li>', first, re.S)
    assert current is not None and "aktueller Schritt:" in current.group(1) and "Antragsteller" in current.group(1)
    assert "erledigt:" in first
    fill_in(client, application)
    assert "Schritt 3 von 4" in client.get(f"{base(application)}/schritt/3/").content.decode()
    assert "Schritt 4 von 4" in client.get(f"{base(application)}/zusammenfassung/").content.decode()


def test_after_paying_the_page_says_the_application_is_not_yet_submitted(client: Client, paid_service: Any) -> None:
    application, _location = start(client, paid_service)
    sign_in_with_demo(client, application, method="eid", level="high")
    fill_in(client, application)
    paid = pay_on_demo_platform(client, application, "paid")
    back = client.get(f"/zahlung/{paid.uuid}/rueckkehr/").content.decode()
    assert "Ihr Antrag ist noch nicht abgeschickt." in back
    assert f"{base(application)}/zusammenfassung/" in hrefs(back)
    summary = client.get(f"{base(application)}/zusammenfassung/").content.decode()
    assert "Ihr Antrag ist noch nicht abgeschickt." in summary and 'value="submit"' in summary


def test_a_signed_in_citizen_finds_my_applications_everywhere(
    client: Client, citizen: Any, login: Any, paid_service: Any
) -> None:
    login(client, citizen)
    # In the header, on the portal and on the start page after logging in
    assert "/portal/antraege/" in hrefs(client.get(f"/portal/{paid_service.municipality.slug}/").content.decode())
    assert "/portal/antraege/" in hrefs(client.get("/start/").content.decode())
    application, _location = start(client, paid_service)
    assert application.citizen_id == citizen.pk
    sign_in_with_demo(client, application, method="eid", level="high")
    fill_in(client, application)
    pay_on_demo_platform(client, application, "paid")
    client.post(f"{base(application)}/zusammenfassung/", {"action": "submit",
                                                        "submission_key": application.submission_key})  # fmt: skip
    application.refresh_from_db()
    confirmation = client.get(f"{base(application)}/bestaetigung/").content.decode()
    assert "/portal/antraege/" in hrefs(confirmation)
    # What happens next, and when: the service's processing time, and that the citizen is notified.
    assert "Wie es weitergeht" in confirmation
    assert "etwa 10 Arbeitstage" in confirmation and "per E-Mail benachrichtigt" in confirmation
    # The receipt names "Meine Anträge" too.
    receipt = client.get(f"{base(application)}/quittung.pdf")
    assert receipt.context is not None
    assert receipt.context["my_applications_url"].endswith("/portal/antraege/")
    listed = client.get("/portal/antraege/").content.decode()
    assert application.reference in listed
    detail = client.get(f"/portal/antraege/{application.uuid}/").content.decode()
    assert application.submission_data["payment_reference"] in detail and "Kassenzeichen" in detail


def test_confirmation_without_a_processing_time_still_says_what_happens(client: Client, adoption: Any) -> None:
    application, step_1 = start(client, adoption)
    client.post(step_1, {"f-name": "Erika", "f-email": "e@example.org", "f-plz": "36037", "f-hat_kinder": "no",
                         "action": "next"})  # fmt: skip
    client.post(f"{base(application)}/schritt/3/", {"f-iban": "DE89370400440532013000", "action": "next"})
    client.post(f"{base(application)}/zusammenfassung/", {"action": "submit",
                                                        "submission_key": application.submission_key})  # fmt: skip
    page = client.get(f"{base(application)}/bestaetigung/").content.decode()
    assert "Wie es weitergeht" in page and "Wie lange die Bearbeitung dauert" in page
    assert "Aktenzeichen" in page and "/portal/antraege/" not in hrefs(page)  # no account: no mailbox


def test_no_placeholder_text_on_the_citizens_pages(client: Client, citizen: Any, login: Any, adoption: Any) -> None:
    login(client, citizen)
    for url in ["/start/", "/portal/", f"/portal/{adoption.municipality.slug}/", "/portal/antraege/"]:
        html = client.get(url).content.decode()
        assert "entstehen" not in html and "being built" not in html, url


# --- payments: the paid attempt's reference, readable -----------------------------------------------


def test_the_payment_page_shows_a_readable_reference(client: Client, paid_service: Any) -> None:
    application, _location = start(client, paid_service)
    sign_in_with_demo(client, application, method="eid", level="high")
    fill_in(client, application)
    page = client.get(client.post(f"{base(application)}/zusammenfassung/", {"action": "pay"})["Location"])
    html = page.content.decode()
    payment = Payment.objects.get()
    assert re.fullmatch(r"ZA-\d{4}-\d{6}", payment.reference), payment.reference
    assert f"Kassenzeichen: <strong>{payment.reference}</strong>" in html
    main = html.split("<main", 1)[1]
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", main.split("<form", 1)[0])


@pytest.mark.django_db(transaction=True)  # the case is opened once the submission commits
def test_after_a_failed_attempt_and_a_retry_the_paid_attempt_is_recorded(
    paid_service: Any, owner: Any, login: Any
) -> None:
    client = Client()
    application, _location = start(client, paid_service)
    sign_in_with_demo(client, application, method="eid", level="high")
    fill_in(client, application)
    failed = pay_on_demo_platform(client, application, "failed")
    paid = pay_on_demo_platform(client, application, "paid")
    assert paid.previous_attempt_id == failed.pk
    client.post(f"{base(application)}/zusammenfassung/", {"action": "submit",
                                                        "submission_key": application.submission_key})  # fmt: skip
    application = Application.objects.get(pk=application.pk)
    assert application.payment_reference == str(paid.uuid)
    assert application.submission_data["payment_reference"] == paid.reference
    assert application.submission_data["payment"]["uuid"] == str(paid.uuid)
    # The citizen's confirmation and the caseworker's case show the paid attempt, not the failed one.
    confirmation = client.get(f"{base(application)}/bestaetigung/").content.decode()
    assert paid.reference in confirmation and str(failed.uuid) not in confirmation
    from dikom.cases.models import Case

    case = Case.objects.get(application=application)
    staff = login(Client(), owner)
    case_page = staff.get(f"/vorgaenge/{case.municipality.slug}/{case.uuid}/")
    assert case_page.status_code == 200
    html = case_page.content.decode()
    assert paid.reference in html and str(failed.uuid) not in html
