"""Upload scanning on every path that stores a person's file, and PDFs with active content.

The built-in check recognises only the EICAR test file; a real scanner is a
plug-in (``DIKOM_UPLOAD_SCANNER``). ClamAV itself is tried in
``test_clamd.py`` where clamd is installed.
"""

from __future__ import annotations

import copy
import io
import zlib
from typing import IO, Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.cases.models import Case, CaseDocument
from dikom.lib.testing import english_client
from dikom.portal.models import ApplicationFile
from dikom.portal.tests.conftest import FAMILY, VALID_IBAN, release_and_adopt
from dikom.scanning import eicar
from dikom.scanning.base import CLEAN, ScanResult, UploadScanner
from dikom.scanning.pdf import active_content

pytestmark = pytest.mark.django_db

EICAR = eicar.SIGNATURE
CLEAN_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# The reviewer's kind of file, with the name spelt through #xx escapes as attackers do.
JS_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction 2 0 R >> endobj\n"
    b"2 0 obj << /S /J#61vaScript /J#53 (app.alert(1)) >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def _objstm_pdf(hidden: bytes) -> bytes:
    body = zlib.compress(b"3 0 " + hidden)
    return (
        b"%PDF-1.5\n1 0 obj << /Type /Catalog >> endobj\n"
        + b"2 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length "
        + str(len(body)).encode()
        + b" >>\nstream\n"
        + body
        + b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


# --- the PDF check ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "markers"),
    [
        (CLEAN_PDF, []),
        (JS_PDF, ["javascript", "open_action"]),
        (b"%PDF-1.4\n<< /S /Java#53cript >>", ["javascript"]),
        (b"%PDF-1.4\n<< /S /#4c#61#75#6e#63#68 /F (calc.exe) >>", ["launch"]),
        (b"%PDF-1.4\n<< /AA << /O 3 0 R >> >>", ["automatic_action"]),
        (b"%PDF-1.4\n<< /Names << /EmbeddedFiles 4 0 R >> >>", ["embedded_file"]),
        (b"%PDF-1.4\n<< /Type /RichMedia >>", ["rich_media"]),
        (b"%PDF-1.4\n<< /AcroForm << /XFA 5 0 R >> >>", ["xfa"]),
        (b"%PDF-1.4\ntrailer << /Encrypt 9 0 R >>", ["encrypted"]),
        # Names that merely start like a marker are not one.
        (b"%PDF-1.4\n<< /JSON 1 /AAB 2 /JavaScripts 3 >>", []),
        # Hidden in a compressed object stream
        (_objstm_pdf(b"<< /S /JavaScript /JS (x) >>"), ["javascript"]),
    ],
)
def test_pdf_active_content_markers(data: bytes, markers: list[str]) -> None:
    assert active_content(io.BytesIO(data)) == markers


def test_eicar_is_found_across_the_read_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eicar, "CHUNK", 16)
    found = eicar.scan(io.BytesIO(b"%PDF-1.4\n" + b"x" * 37 + EICAR + b"\n"))
    assert found is not None and found.detail == "EICAR-Test-File"
    assert eicar.scan(io.BytesIO(CLEAN_PDF)) is None


# --- portal form file fields --------------------------------------------------------------------


@pytest.fixture
def adoption(city_a: Any, city_b: Any) -> Any:
    return release_and_adopt(copy.deepcopy(FAMILY), city_a)


def _start(client: Client, adoption: Any) -> Any:
    from dikom.portal.models import Application

    client.post(f"/portal/{adoption.municipality.slug}/dienst/{adoption.definition.slug}/starten/")
    application = Application.objects.latest("created_at")
    base = f"/portal/{application.municipality.slug}/antrag/{application.uuid}"
    client.post(
        f"{base}/schritt/1/",
        {"f-name": "Erika Muster", "f-email": "erika@example.org", "f-plz": "36037", "f-hat_kinder": "no"},
    )
    return application, base


def test_eicar_in_a_portal_file_field_is_refused_without_any_scanner(adoption: Any) -> None:
    # Given the default installation (no virus scanner configured)
    client = Client()  # German, as citizens see it
    _application, base = _start(client, adoption)
    upload = SimpleUploadedFile("nachweis.pdf", b"%PDF-1.4\n" + EICAR + b"\n", content_type="application/pdf")
    response = client.post(f"{base}/schritt/3/", {"f-iban": VALID_IBAN, "f-nachweis": upload})
    assert response.status_code == 400
    assert "EICAR-Testdatei" in response.content.decode()
    assert not ApplicationFile.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_pdf_with_javascript_is_kept_and_marked_for_the_caseworker(adoption: Any, owner: Any, login: Any) -> None:
    # A citizen uploads a PDF with JavaScript and an open action, and submits
    citizen_client = Client()
    application, base = _start(citizen_client, adoption)
    upload = SimpleUploadedFile("nachweis.pdf", JS_PDF, content_type="application/pdf")
    response = citizen_client.post(f"{base}/schritt/3/", {"f-iban": VALID_IBAN, "f-nachweis": upload})
    assert response.status_code == 302
    stored = ApplicationFile.objects.get()
    assert stored.active_content == ["javascript", "open_action"]
    application.refresh_from_db()
    citizen_client.post(f"{base}/zusammenfassung/", {"submission_key": application.submission_key, "action": "submit"})
    case = Case.objects.get(application=application)
    document = case.documents.get(kind=CaseDocument.Kind.ATTACHMENT)
    assert document.active_content == ["javascript", "open_action"]
    # The caseworker's case view warns in German and does not offer the PDF for viewing in the browser
    staff = login(Client(), owner)
    html = staff.get(f"/vorgaenge/{case.municipality.slug}/{case.uuid}/").content.decode()
    assert "Achtung: aktive Inhalte in PDF-Dateien." in html
    assert "Warnung: aktive Inhalte" in html and "JavaScript" in html and "eine Aktion beim Öffnen" in html
    document_url = f"/vorgaenge/{case.municipality.slug}/{case.uuid}/dokumente/{document.uuid}/"
    assert f'href="{document_url}"' not in html and f'href="{document_url}?download=1"' in html
    served = staff.get(document_url)
    assert served.status_code == 200 and served["Content-Disposition"].startswith("attachment")


def test_clean_pdf_is_not_marked(adoption: Any, owner: Any, login: Any) -> None:
    client = Client()
    _application, base = _start(client, adoption)
    client.post(
        f"{base}/schritt/3/",
        {"f-iban": VALID_IBAN, "f-nachweis": SimpleUploadedFile("n.pdf", CLEAN_PDF, content_type="application/pdf")},
    )
    assert ApplicationFile.objects.get().active_content == []


# --- answers to information requests ----------------------------------------------------------


@pytest.fixture
def waiting_case(adoption: Any, citizen: Any, owner: Any) -> tuple[Case, Any]:
    from dikom.cases import actions
    from dikom.portal.tests.test_mailbox import submit

    case = Case.objects.get(application=submit(adoption, citizen))
    request = actions.request_information(case, owner, subject="Nachweis fehlt", body="Bitte senden.")
    return case, request


def _answer(client: Client, case: Case, request: Any, upload: SimpleUploadedFile) -> Any:
    url = f"/portal/antraege/{case.application.uuid}/"
    return client.post(url, {"request": str(request.uuid), "body": "Anbei.", "files": [upload]})


@pytest.mark.django_db(transaction=True)
def test_eicar_answer_is_refused(waiting_case: tuple[Case, Any], citizen: Any, login: Any) -> None:
    case, request = waiting_case
    client = login(Client(), citizen)
    response = _answer(client, case, request, SimpleUploadedFile("n.pdf", b"%PDF-1.4\n" + EICAR))
    assert response.status_code == 400 and "EICAR-Testdatei" in response.content.decode()
    assert not case.documents.filter(kind=CaseDocument.Kind.ATTACHMENT).exists()


@pytest.mark.django_db(transaction=True)
def test_answer_with_javascript_pdf_is_marked(
    waiting_case: tuple[Case, Any], citizen: Any, owner: Any, login: Any
) -> None:
    case, request = waiting_case
    client = login(Client(), citizen)
    response = _answer(client, case, request, SimpleUploadedFile("antwort.pdf", JS_PDF))
    assert response.status_code == 302
    document = case.documents.get(kind=CaseDocument.Kind.ATTACHMENT)
    assert document.active_content == ["javascript", "open_action"]
    html = login(Client(), owner).get(f"/vorgaenge/{case.municipality.slug}/{case.uuid}/").content.decode()
    assert "Achtung: aktive Inhalte in PDF-Dateien." in html


@pytest.mark.django_db(transaction=True)
def test_answer_action_scans_too(waiting_case: tuple[Case, Any], citizen: Any) -> None:
    # The action refuses what the scanner refuses, whoever calls it
    from dikom.cases import actions

    case, request = waiting_case
    with pytest.raises(actions.CaseActionError):
        actions.answer_information(case, citizen, request, "x", [SimpleUploadedFile("n.pdf", b"%PDF-1.4\n" + EICAR)])


# --- the plug-in scanner ------------------------------------------------------------------------


class BrokenScanner(UploadScanner):
    key = "broken"
    label = "broken"

    def scan(self, stream: IO[bytes]) -> ScanResult:
        raise ConnectionError("scanner down")


class CleanScanner(UploadScanner):
    key = "clean"
    label = "clean"

    def scan(self, stream: IO[bytes]) -> ScanResult:
        return ScanResult(CLEAN)


def test_a_failing_scanner_refuses_the_upload(adoption: Any, settings: Any) -> None:
    settings.DIKOM_UPLOAD_SCANNER = f"{__name__}.BrokenScanner"
    client = english_client()
    _application, base = _start(client, adoption)
    upload = SimpleUploadedFile("n.pdf", CLEAN_PDF, content_type="application/pdf")
    response = client.post(f"{base}/schritt/3/", {"f-iban": VALID_IBAN, "f-nachweis": upload})
    assert response.status_code == 400 and "could not be checked for viruses" in response.content.decode()
    assert not ApplicationFile.objects.exists()


def test_clamd_without_a_reachable_daemon_refuses(adoption: Any, settings: Any, tmp_path: Any) -> None:
    settings.DIKOM_UPLOAD_SCANNER = "clamd"
    settings.DIKOM_CLAMD_ADDRESS = f"unix://{tmp_path}/no-clamd.sock"
    client = english_client()
    _application, base = _start(client, adoption)
    upload = SimpleUploadedFile("n.pdf", CLEAN_PDF, content_type="application/pdf")
    response = client.post(f"{base}/schritt/3/", {"f-iban": VALID_IBAN, "f-nachweis": upload})
    assert response.status_code == 400 and "could not be checked for viruses" in response.content.decode()


def test_a_configured_scanner_marks_files_clean(adoption: Any, settings: Any) -> None:
    settings.DIKOM_UPLOAD_SCANNER = f"{__name__}.CleanScanner"
    client = english_client()
    _application, base = _start(client, adoption)
    upload = SimpleUploadedFile("n.pdf", CLEAN_PDF, content_type="application/pdf")
    client.post(f"{base}/schritt/3/", {"f-iban": VALID_IBAN, "f-nachweis": upload})
    assert ApplicationFile.objects.get().scan_status == "clean"


def test_system_check_refuses_unknown_scanner_and_clamd_without_address(settings: Any) -> None:
    from dikom.scanning.checks import check_upload_scanner

    settings.DIKOM_UPLOAD_SCANNER = "norton"
    assert [m.id for m in check_upload_scanner()] == ["scanning.E001"]
    settings.DIKOM_UPLOAD_SCANNER = "clamd"
    settings.DIKOM_CLAMD_ADDRESS = ""
    assert [m.id for m in check_upload_scanner()] == ["scanning.E002"]
    settings.DIKOM_CLAMD_ADDRESS = "tcp://127.0.0.1:3310"
    assert check_upload_scanner() == []
