"""The citizen's mailbox: case status, the city's messages, answers with files, the decision letter."""

from __future__ import annotations

import copy
from typing import IO, Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.accounts.tests.factories import UserFactory
from dikom.cases import actions
from dikom.cases.models import Case, CaseDocument, CaseMessage
from dikom.lib.testing import english_client
from dikom.portal import actions as portal_actions
from dikom.portal.models import Application
from dikom.portal.scanning import INFECTED, UNSCANNED, ScanResult
from dikom.portal.tests.conftest import FAMILY, VALID_IBAN, release_and_adopt

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class EicarScanner:
    """A small scanner plug-in for the tests: finds the EICAR test signature, nothing else."""

    def scan(self, stream: IO[bytes]) -> ScanResult:
        return ScanResult(INFECTED, "Eicar-Test-Signature") if EICAR in stream.read() else ScanResult(UNSCANNED)


def submit(adoption: Any, citizen: Any = None) -> Application:
    """A (signed-in) citizen's submission through the portal's actions, as in the case lifecycle tests."""
    from dikom.eservices.service import adoption_for

    offered = adoption_for(adoption.municipality, adoption.definition.slug)
    application = portal_actions.start_application(adopted=offered, citizen=citizen)
    portal_actions.save_step_answers(
        application,
        "person",
        {"name": "Erika Muster", "email": "erika@example.org", "plz": "36037", "hat_kinder": "no"},
        next_step=3,
    )
    portal_actions.save_step_answers(application, "bank", {"iban": VALID_IBAN}, next_step=3)
    application, won = portal_actions.submit_application(application, submission_key=application.submission_key)
    assert won
    return application


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def adoption(city_a: Any, city_b: Any) -> Any:
    return release_and_adopt(copy.deepcopy(FAMILY), city_a)


@pytest.fixture
def case(adoption: Any, citizen: Any) -> Case:
    return Case.objects.get(application=submit(adoption, citizen))


@pytest.fixture
def waiting(case: Case, owner: Any) -> CaseMessage:
    """The city asks the citizen for a missing document."""
    return actions.request_information(
        case, owner, subject="Nachweis fehlt", body="Bitte senden Sie uns den Einkommensnachweis."
    )


def detail(case: Case) -> str:
    return f"/portal/antraege/{case.application.uuid}/"


def answer(client: Client, case: Case, request: CaseMessage, body: str = "", *files: SimpleUploadedFile) -> Any:
    data: dict[str, Any] = {"request": str(request.uuid), "body": body}
    if files:
        data["files"] = list(files)
    return client.post(detail(case), data)


def test_citizen_sees_status_and_the_citys_messages(
    login: Any, citizen: Any, case: Case, waiting: CaseMessage, owner: Any
) -> None:
    client = login(english_client(), citizen)
    # "My applications" shows the case status in plain words and links the application page.
    overview = client.get("/portal/antraege/").content.decode()
    assert "Query – please answer" in overview and "1 new message" in overview
    assert detail(case) in overview
    # The application page shows the request, marked new on this first visit, with an answer form.
    actions.add_note(case, owner, "Interne Notiz: bitte genau prüfen")
    response = client.get(detail(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert case.reference in html and "Familienzuschuss" in html
    assert "Nachweis fehlt" in html and "Bitte senden Sie uns den Einkommensnachweis." in html
    assert 'enctype="multipart/form-data"' in html and f'value="{waiting.uuid}"' in html
    assert ">New</span>" in html
    assert "Interne Notiz" not in html  # internal notes never reach the citizen
    assert "no-store" in response["Cache-Control"]
    # Reading marks the messages read (in the history too); the next visit shows nothing new.
    waiting.refresh_from_db()
    assert waiting.read_at is not None
    assert case.events.filter(kind="messages_read").count() == 1
    assert ">New</span>" not in client.get(detail(case)).content.decode()
    assert case.events.filter(kind="messages_read").count() == 1
    assert "new message" not in client.get("/portal/antraege/").content.decode()


def test_answer_with_a_pdf_returns_the_case_to_open(login: Any, citizen: Any, case: Case, waiting: CaseMessage) -> None:
    client = login(english_client(), citizen)
    upload = SimpleUploadedFile("einkommensnachweis.pdf", PDF, content_type="application/pdf")
    response = answer(client, case, waiting, "Anbei der Nachweis.", upload)
    assert response.status_code == 302 and response["Location"] == detail(case)
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    waiting.refresh_from_db()
    reply = waiting.answered_by
    assert reply is not None and reply.direction == "from_citizen" and reply.body == "Anbei der Nachweis."
    document = case.documents.get(kind=CaseDocument.Kind.ATTACHMENT, file_name="einkommensnachweis.pdf")
    assert document.content_type == "application/pdf" and document.file.read() == PDF
    assert not document.visible_to_citizen
    html = client.get(detail(case)).content.decode()
    assert "Anbei der Nachweis." in html
    assert 'name="request"' not in html  # nothing left to answer
    assert "In processing" in html and "Thank you. Your answer has been sent to the city" in html
    # Answering the same request again is refused with a clear message.
    again = answer(client, case, waiting, "Nochmal.")
    assert again.status_code == 400 and "This request has already been answered." in again.content.decode()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        # A PNG that claims to be a PDF: the extension lies.
        ("nachweis.pdf", PNG, "Die Dateiendung passt nicht zum Inhalt der Datei."),
        ("notiz.txt", b"just some text", "Dieser Dateityp ist nicht erlaubt oder wurde nicht erkannt."),
        ("leer.pdf", b"", "Die Datei ist leer."),
        ("virus.pdf", b"%PDF-1.4\n" + EICAR, "Die Datei ist die EICAR-Testdatei für Virenscanner und wurde abgelehnt."),
        ("gross.pdf", PDF + b"0" * 5000, "Die Datei ist zu groß (höchstens"),
    ],
)
def test_unacceptable_files_are_refused_with_a_german_message(
    client: Client,
    login: Any,
    citizen: Any,
    case: Case,
    waiting: CaseMessage,
    settings: Any,
    name: str,
    content: bytes,
    message: str,
) -> None:
    settings.DIKOM_UPLOAD_SCANNER = f"{__name__}.EicarScanner"
    settings.DIKOM_PORTAL_MAX_UPLOAD_BYTES = 4096
    login(client, citizen)
    response = answer(client, case, waiting, "Anbei.", SimpleUploadedFile(name, content))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert name in html and "Anbei." in html  # the file is named and the text is kept
    assert 'role="alert"' in html
    case.refresh_from_db()
    waiting.refresh_from_db()
    assert case.status == Case.Status.WAITING and waiting.answered_by is None
    assert not case.documents.filter(kind=CaseDocument.Kind.ATTACHMENT).exists()


def test_an_empty_answer_is_refused(login: Any, citizen: Any, case: Case, waiting: CaseMessage) -> None:
    client = login(english_client(), citizen)
    response = answer(client, case, waiting, "   ")
    assert response.status_code == 400
    assert "Please write an answer or attach a file." in response.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING


def test_nobody_else_sees_or_answers(
    client: Client, login: Any, case: Case, waiting: CaseMessage, owner: Any, colleague: Any
) -> None:
    other_citizen = UserFactory(username="other-citizen")
    upload = SimpleUploadedFile("nachweis.pdf", PDF)
    # Anonymous visitors.
    assert client.get(detail(case)).status_code == 404
    assert answer(client, case, waiting, "Fremd.", upload).status_code == 404
    # Another citizen, and the city's own staff: the portal page does not exist for them.
    for user in (other_citizen, owner, colleague):
        login(client, user)
        assert client.get(detail(case)).status_code == 404, user
        assert answer(client, case, waiting, "Fremd.").status_code == 404, user
        client.logout()
    assert client.get("/portal/antraege/not-a-uuid/").status_code == 404
    case.refresh_from_db()
    waiting.refresh_from_db()
    assert case.status == Case.Status.WAITING and waiting.answered_by is None and waiting.read_at is None
    with pytest.raises(actions.CaseActionError):
        actions.mark_messages_read(case, other_citizen)


def test_a_request_of_another_case_cannot_be_answered(
    client: Client, login: Any, citizen: Any, adoption: Any, case: Case, owner: Any
) -> None:
    other_case = Case.objects.get(application=submit(adoption, UserFactory(username="someone-else")))
    foreign = actions.request_information(other_case, owner, subject="Frage", body="Bitte antworten.")
    login(client, citizen)
    assert answer(client, case, foreign, "Hineingeschmuggelt.").status_code == 404
    foreign.refresh_from_db()
    assert foreign.answered_by is None


def test_applications_without_account_have_no_mailbox(login: Any, citizen: Any, adoption: Any) -> None:
    client = english_client()
    anonymous_case = Case.objects.get(application=submit(adoption))
    assert anonymous_case.application.citizen is None
    assert client.get(detail(anonymous_case)).status_code == 404
    login(client, citizen)
    assert client.get(detail(anonymous_case)).status_code == 404
    page = client.get("/portal/antraege/").content.decode()
    assert "If you submitted an application without signing in, it cannot be followed here" in page


def test_decision_letter_downloads_only_for_the_owner(
    login: Any, citizen: Any, case: Case, owner: Any, colleague: Any
) -> None:
    client = english_client()
    task = case.tasks.get()
    actions.complete_task(task, owner, expected_version=task.lock_version, result="Vollständig.")
    actions.decide(case, owner, outcome="approved", reasons="Alle Voraussetzungen liegen vor.")
    case.refresh_from_db()
    letter = case.documents.get(kind=CaseDocument.Kind.LETTER)
    url = f"/portal/antraege/{case.application.uuid}/dokumente/{letter.uuid}/"

    login(client, citizen)
    html = client.get(detail(case)).content.decode()
    assert url in html and "Alle Voraussetzungen liegen vor." in html
    assert "Decided" in html and "Documents from the city" in html
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"Bescheid-{case.reference}.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    # A document the city did not release (the citizen's own application PDF or attachments) is not served.
    hidden = CaseDocument.objects.create(
        case=case, kind=CaseDocument.Kind.OTHER, title="Intern", file_name="intern.pdf",
        content_type="application/pdf", sha256="0" * 64,
    )  # fmt: skip
    hidden.file.name = letter.file.name
    hidden.save()
    assert client.get(f"/portal/antraege/{case.application.uuid}/dokumente/{hidden.uuid}/").status_code == 404
    client.logout()

    assert client.get(url).status_code == 404
    for user in (UserFactory(username="nosy"), owner, colleague):
        login(client, user)
        assert client.get(url).status_code == 404, user
        client.logout()


def test_my_applications_needs_no_query_per_case(client: Client, login: Any, citizen: Any, adoption: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    submit(adoption, citizen)
    login(client, citizen)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/portal/antraege/").status_code == 200
    for _ in range(3):
        submit(adoption, citizen)
    with CaptureQueriesContext(connection) as four:
        page = client.get("/portal/antraege/").content.decode()
    assert page.count("/portal/antraege/") >= 8  # each row links its application page
    assert len(four.captured_queries) == len(one.captured_queries)
