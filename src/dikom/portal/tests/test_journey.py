"""A citizen completes a service through plain HTTP (no JavaScript): steps, rules, errors, summary, receipt."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.lib.testing import english_client
from dikom.portal.models import Application, ApplicationFile
from dikom.portal.tests.conftest import VALID_IBAN

pytestmark = pytest.mark.django_db

PERSON = {"f-name": "Erika Muster", "f-email": "erika@example.org", "f-plz": "36037", "f-hat_kinder": "yes"}


def start(client: Client, adoption: Any) -> Application:
    url = f"/portal/{adoption.municipality.slug}/dienst/{adoption.definition.slug}/starten/"
    response = client.post(url)
    assert response.status_code == 302
    application = Application.objects.latest("created_at")
    assert response["Location"].endswith(f"/antrag/{application.uuid}/schritt/1/")
    return application


def step_url(application: Application, n: int) -> str:
    return f"/portal/{application.municipality.slug}/antrag/{application.uuid}/schritt/{n}/"


def test_finder_service_page_and_full_journey(adoption: Any) -> None:
    client = english_client()
    finder = client.get(f"/portal/{adoption.municipality.slug}/")
    assert finder.status_code == 200
    assert "Familienzuschuss" in finder.content.decode() or "Family grant" in finder.content.decode()
    assert "Familie und Kind" in finder.content.decode()
    assert "Family grant" not in client.get(f"/portal/{adoption.municipality.slug}/?q=Hund").content.decode()
    page = client.get(f"/portal/{adoption.municipality.slug}/dienst/{adoption.definition.slug}/")
    assert page.status_code == 200 and "Start application" in page.content.decode()

    application = start(client, adoption)
    step1 = client.get(step_url(application, 1))
    assert step1.status_code == 200
    assert "Bitte füllen Sie alles aus." in step1.content.decode()

    # validation errors: next to the field and in the summary at the top
    bad = client.post(step_url(application, 1), {**PERSON, "f-email": "kein-at", "f-plz": "123", "action": "next"})
    html = bad.content.decode()
    assert bad.status_code == 400
    assert 'id="error-summary"' in html and 'href="#id-f-email"' in html
    assert re.search(r'id="id-f-email-error">\s*<li>Please enter a valid e-mail address.', html)
    assert 'aria-describedby="id-f-plz-error"' in html
    assert "Please enter a valid German postcode (5 digits)." in html

    response = client.post(step_url(application, 1), {**PERSON, "action": "next"})
    assert response["Location"] == step_url(application, 2)

    # repeating group: add two, remove the first
    add = client.post(step_url(application, 2), {"f-liste-count": "0", "action": "add:liste"})
    assert 'name="f-liste-0-vorname"' in add.content.decode()
    add = client.post(
        step_url(application, 2), {"f-liste-count": "1", "f-liste-0-vorname": "Anna", "action": "add:liste"}
    )
    assert 'name="f-liste-1-vorname"' in add.content.decode()
    removed = client.post(
        step_url(application, 2),
        {"f-liste-count": "2", "f-liste-0-vorname": "Anna", "f-liste-1-vorname": "Ben", "action": "remove:liste:0"},
    )
    html = removed.content.decode()
    assert 'value="Ben"' in html and 'value="Anna"' not in html
    empty = client.post(step_url(application, 2), {"f-liste-count": "1", "f-liste-0-vorname": "", "action": "next"})
    assert empty.status_code == 400 and "Please add at least 1 entries." in empty.content.decode()
    response = client.post(step_url(application, 2), {"f-liste-count": "1", "f-liste-0-vorname": "Ben"})
    assert response["Location"] == step_url(application, 3)

    # IBAN error next to the field
    bad = client.post(step_url(application, 3), {"f-iban": "DE00123", "action": "next"})
    assert bad.status_code == 400
    assert re.search(r'id="id-f-iban-error">\s*<li>Please enter a valid IBAN.', bad.content.decode())
    pdf = SimpleUploadedFile("nachweis.pdf", b"%PDF-1.4\n%test\n", content_type="application/pdf")
    response = client.post(step_url(application, 3), {"f-iban": VALID_IBAN, "f-nachweis": pdf, "action": "next"})
    summary_url = f"/portal/{application.municipality.slug}/antrag/{application.uuid}/zusammenfassung/"
    assert response["Location"] == summary_url

    # back button keeps answers
    back = client.post(step_url(application, 3), {"f-iban": VALID_IBAN, "action": "back"})
    assert back["Location"] == step_url(application, 2)

    summary = client.get(summary_url)
    html = summary.content.decode()
    assert "Erika Muster" in html and "Ben" in html and VALID_IBAN in html and "nachweis.pdf" in html
    assert f'href="{step_url(application, 1)}"' in html
    application.refresh_from_db()
    done = client.post(summary_url, {"submission_key": application.submission_key, "action": "submit"})
    application.refresh_from_db()
    assert application.status == "submitted"
    assert re.fullmatch(r"FU-\d{4}-000001", application.reference)
    assert done["Location"].endswith("/bestaetigung/")
    data = application.submission_data
    assert data["answers"]["kinder"]["liste"] == [{"vorname": "Ben"}]
    assert data["files"][0]["name"] == "nachweis.pdf" and data["version"] == 1
    confirmation = client.get(done["Location"])
    assert application.reference in confirmation.content.decode()

    receipt = client.get(f"/portal/{application.municipality.slug}/antrag/{application.uuid}/quittung.pdf")
    assert receipt.status_code == 200
    assert receipt.content.startswith(b"%PDF")
    assert receipt["Content-Disposition"].endswith(f'{application.reference}.pdf"')


def test_conditional_step_is_skipped(adoption: Any) -> None:
    client = english_client()
    application = start(client, adoption)
    response = client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
    assert response["Location"] == step_url(application, 3)
    # asking for the hidden step directly moves on
    assert client.get(step_url(application, 2))["Location"] == step_url(application, 3)
    response = client.post(step_url(application, 3), {"f-iban": VALID_IBAN})
    back = client.post(step_url(application, 3), {"f-iban": VALID_IBAN, "action": "back"})
    assert back["Location"] == step_url(application, 1)


def test_double_submission_creates_one_application(adoption: Any) -> None:
    client = english_client()
    application = start(client, adoption)
    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
    client.post(step_url(application, 3), {"f-iban": VALID_IBAN})
    application.refresh_from_db()
    summary_url = f"/portal/{application.municipality.slug}/antrag/{application.uuid}/zusammenfassung/"
    form = {"submission_key": application.submission_key, "action": "submit"}
    first = client.post(summary_url, form)
    second = client.post(summary_url, form)  # second tab / retry
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Application.objects.filter(status="submitted").count() == 1
    application.refresh_from_db()
    assert application.reference.endswith("000001")
    # the back button to a step lands on the confirmation
    assert client.get(step_url(application, 1))["Location"].endswith("/bestaetigung/")


def test_conditional_update_lets_only_one_request_win(adoption: Any) -> None:
    from dikom.portal import actions

    client = english_client()
    application = start(client, adoption)
    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
    client.post(step_url(application, 3), {"f-iban": VALID_IBAN})
    stale_copy = Application.objects.get(pk=application.pk)  # loaded by a second request before the first wins
    application.refresh_from_db()
    _, won = actions.submit_application(application, submission_key=application.submission_key)
    _, won_again = actions.submit_application(stale_copy, submission_key=stale_copy.submission_key)
    assert won and not won_again
    assert Application.objects.get(pk=application.pk).reference.endswith("000001")


def test_lying_extension_and_wrong_type_are_rejected(adoption: Any) -> None:
    client = english_client()
    application = start(client, adoption)
    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
    png_as_pdf = SimpleUploadedFile("scan.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 50, content_type="application/pdf")
    response = client.post(step_url(application, 3), {"f-iban": VALID_IBAN, "f-nachweis": png_as_pdf})
    assert response.status_code == 400
    assert "extension does not match" in response.content.decode()
    exe = SimpleUploadedFile("x.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\xff" * 20)
    response = client.post(step_url(application, 3), {"f-iban": VALID_IBAN, "f-nachweis": exe})
    assert response.status_code == 400 and "not allowed" in response.content.decode()
    assert not ApplicationFile.objects.exists()


class InfectedScanner:
    def scan(self, stream: Any) -> Any:
        from dikom.portal.scanning import INFECTED, ScanResult

        return ScanResult(INFECTED, "Eicar-Test-Signature")


def test_infected_file_is_rejected(adoption: Any, settings: Any) -> None:
    settings.DIKOM_UPLOAD_SCANNER = "dikom.portal.tests.test_journey.InfectedScanner"
    client = english_client()
    application = start(client, adoption)
    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
    pdf = SimpleUploadedFile("nachweis.pdf", b"%PDF-1.4\n", content_type="application/pdf")
    response = client.post(step_url(application, 3), {"f-iban": VALID_IBAN, "f-nachweis": pdf})
    assert response.status_code == 400 and "virus" in response.content.decode()
    assert not ApplicationFile.objects.exists()


def test_default_scanner_marks_files_unscanned(adoption: Any) -> None:
    client = english_client()
    application = start(client, adoption)
    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no"})
    pdf = SimpleUploadedFile("../../etc/nach weis.pdf", b"%PDF-1.4\n", content_type="application/pdf")
    client.post(step_url(application, 3), {"f-iban": VALID_IBAN, "f-nachweis": pdf})
    stored = ApplicationFile.objects.get()
    assert stored.scan_status == "unscanned"
    assert stored.original_name == "nach weis.pdf"
    assert stored.file.name.startswith(f"portal/{application.uuid}/")
    assert stored.content_type == "application/pdf" and len(stored.sha256) == 64


def test_finder_query_count_is_bounded(adoption: Any, django_assert_max_num_queries: Any, family: Any) -> None:
    from dikom.portal.tests.conftest import release_and_adopt

    for i in range(3):
        release_and_adopt(family, adoption.municipality, suffix=f" {i}")
    client = english_client()
    with django_assert_max_num_queries(6):
        response = client.get(f"/portal/{adoption.municipality.slug}/")
    assert response.content.decode().count("/dienst/") >= 4
