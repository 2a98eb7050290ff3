"""The receipt PDF goes through the platform's one renderer: no URL from the request's host, a time limit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from dikom.lib.tests import hostile
from dikom.portal import actions as portal_actions
from dikom.portal.models import Application
from dikom.portal.tests.conftest import VALID_IBAN

pytestmark = pytest.mark.django_db

loopback = hostile.loopback  # the fixture


def _submitted(adoption: Any, citizen: Any, name: str) -> Application:
    from dikom.eservices.service import adoption_for

    offered = adoption_for(adoption.municipality, adoption.definition.slug)
    application = portal_actions.start_application(adopted=offered, citizen=citizen)
    answers = {"name": name, "email": "erika@example.org", "plz": "36037", "hat_kinder": "no"}
    portal_actions.save_step_answers(application, "person", answers, next_step=3)
    portal_actions.save_step_answers(application, "bank", {"iban": VALID_IBAN}, next_step=3)
    application, won = portal_actions.submit_application(application, submission_key=application.submission_key)
    assert won
    return application


def test_the_receipt_fetches_nothing_from_the_requests_host(
    adoption: Any, citizen: Any, login: Any, loopback: tuple[str, list[str]], settings: Any
) -> None:
    # The request names the loopback server as its host; the citizen's answer carries markup naming it too.
    base, hits = loopback
    settings.ALLOWED_HOSTS = ["*"]
    application = _submitted(adoption, citizen, f'Erika <img src="/x.png"><link rel="attachment" href="{base}/a">')
    client = login(Client(), citizen)
    url = f"/portal/{application.municipality.slug}/antrag/{application.uuid}/quittung.pdf"
    response = client.get(url, HTTP_HOST=base.removeprefix("http://"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert application.reference in hostile.pdf_text(response.content)
    assert hits == []


def test_a_receipt_that_takes_too_long_gives_a_clear_page(
    adoption: Any, citizen: Any, login: Any, settings: Any
) -> None:
    settings.DIKOM_PDF_TIMEOUT_SECONDS = 0.001  # no render fits: the renderer is stopped
    application = _submitted(adoption, citizen, "Erika Muster")
    client = login(Client(), citizen)
    response = client.get(f"/portal/{application.municipality.slug}/antrag/{application.uuid}/quittung.pdf")
    assert response.status_code == 503
    assert "Die PDF-Eingangsbestätigung konnte gerade nicht erstellt werden" in response.content.decode()


def test_the_receipt_lists_attachments_sign_in_and_payment(
    adoption: Any, citizen: Any, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.base import ContentFile

    from dikom.portal.models import ApplicationFile
    from dikom.portal.receipt import receipt_html, receipt_pdf

    settings.MEDIA_ROOT = str(tmp_path)
    application = _submitted(adoption, citizen, "Erika Muster")
    application.auth_method, application.trust_level = "bundid", "substantial"
    application.submission_data = {
        **application.submission_data,
        "payment": {"method": "paypal", "amount_cents": 1250},
        "payment_reference": "KZ-2026-0042",
    }
    application.save()
    ApplicationFile.objects.create(
        application=application,
        field_path="person.nachweis",
        file=ContentFile(b"%PDF-1.7 Nachweis", name="nachweis.pdf"),
        original_name="Schwerbehindertenausweis.pdf",
        content_type="application/pdf",
        size=4096,
        sha256="0" * 64,
    )

    html = receipt_html(application)
    text = hostile.pdf_text(receipt_pdf(application))

    assert "Schwerbehindertenausweis.pdf (4 KB)" in html
    assert "Angemeldet mit BundID, Vertrauensniveau substanziell." in html
    assert "Bezahlt mit PayPal, Kassenzeichen der Zahlung: KZ-2026-0042" in html
    assert "Schwerbehindertenausweis.pdf" in text and "BundID" in text and "KZ-2026-0042" in text


@pytest.mark.parametrize(
    ("method", "shown"),
    [("creditcard", "Kreditkarte"), ("sepa_direct_debit", "SEPA-Lastschrift"), ("giropay", "giropay")],
)
def test_the_receipt_names_the_payment_method_in_german(adoption: Any, citizen: Any, method: str, shown: str) -> None:
    from dikom.portal.receipt import receipt_html

    application = _submitted(adoption, citizen, "Erika Muster")
    application.submission_data = {
        **application.submission_data,
        "payment": {"method": method, "amount_cents": 1250},
        "payment_reference": "KZ-2026-0043",
    }
    application.save()

    with translation.override("en"):  # the receipt is German whatever the citizen's language
        html = receipt_html(application)

    assert f"Bezahlt mit {shown}, Kassenzeichen der Zahlung: KZ-2026-0043" in html
