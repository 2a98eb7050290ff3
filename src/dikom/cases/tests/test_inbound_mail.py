"""Inbound e-mail: a mail to a case's reply address reaches that case, and only that case.

The mails are real MIME messages built with Python's ``email`` package (multipart with attachments,
charsets, RFC 2047 headers, HTML only, nested messages) and go in the ways an operator wires them: the
pipe command with sendmail's exit codes and the Maildir poller. A process waiting in a receive task for
``dikom:e-mail-eingegangen`` (``tests/bpmn/platform/e-mail.bpmn``, written here) continues.
"""

from __future__ import annotations

import io
import logging
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dikom.accounts.models import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import actions
from dikom.cases.bpmn.checks import inspect
from dikom.cases.mail import addressing, parsing, service
from dikom.cases.models import Case, CaseDocument, CaseMessage, Task
from dikom.cases.tests.test_case_lifecycle import adopt, submit
from dikom.lib.testing import run_task_worker
from dikom.municipalities.tests.factories import OrgUnitFactory
from dikom.scanning.eicar import SIGNATURE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_media")]

DOMAIN = "post.dikom.example"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def inbound(settings: Any) -> None:
    settings.DIKOM_INBOUND_MAIL_DOMAIN = DOMAIN
    settings.DIKOM_UPLOAD_SCANNER = "none"


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def unit_a(city_a: Any) -> Any:
    return OrgUnitFactory(municipality=city_a, name="Bürgerbüro", short_name="BB", email="bb@fulda.example")


@pytest.fixture
def unit_b(city_b: Any) -> Any:
    return OrgUnitFactory(municipality=city_b, name="Bürgerbüro Gießen")


def new_case(city: Any, unit: Any, model: str | None = None) -> Case:
    return actions.open_case(submit(adopt(city, unit, f"platform/{model}" if model else None)))


def mail(to: str, *, text: str = "Anbei der Nachweis.", subject: str = "Nachweis", **extra: Any) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Erika Muster <erika@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = extra.pop("message_id", make_msgid(domain="example.org"))
    message.set_content(text)
    for name, content, maintype, subtype in extra.pop("files", []):
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def pipe(raw: bytes, *recipients: str) -> int:
    """The MTA's pipe transport: ``manage.py receive_mail`` with the mail on stdin; its exit code."""
    arguments = [f"--recipient={r}" for r in recipients]
    try:
        call_command("receive_mail", *arguments, stdin=io.BytesIO(raw), stdout=io.StringIO(), stderr=io.StringIO())
    except SystemExit as leaving:
        return int(leaving.code or 0)
    return 0


# --- addresses --------------------------------------------------------------------------------


def test_the_reply_address_verifies_only_for_its_own_case(city_a: Any, unit_a: Any) -> None:
    case, other = new_case(city_a, unit_a), new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    local = address.split("@")[0]
    assert address.endswith("@" + DOMAIN) and local.startswith("antwort+") and len(local) <= 64
    assert addressing.case_uuid_of(address) == case.uuid
    assert addressing.case_uuid_of(address.upper()) == case.uuid  # mail systems may change the case
    # The other case's uuid with this case's MAC, or one character changed: no case.
    forged = "antwort+" + addressing.token(other.uuid)[:26] + local[-20:] + "@" + DOMAIN
    assert addressing.case_uuid_of(forged) is None
    flipped = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + DOMAIN
    assert addressing.case_uuid_of(flipped) is None
    assert addressing.case_uuid_of(local + "@other.example") is None


def test_the_reply_address_survives_a_key_rotation(settings: Any, city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert addressing.case_uuid_of(address) == case.uuid
    settings.SECRET_KEY_FALLBACKS = []
    assert addressing.case_uuid_of(address) is None


def test_case_mails_to_the_citizen_carry_the_reply_address(
    city_a: Any, unit_a: Any, mailoutbox: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = new_case(city_a, unit_a)  # applied without an account: the e-mail carries the request itself
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_information(case, caseworker, subject="Nachweis fehlt", body="Bitte senden.")
    run_task_worker()
    [with_reply] = mailoutbox
    assert with_reply.reply_to == [addressing.reply_address(case)]
    assert addressing.reply_address(case) in with_reply.body  # "please answer by e-mail to …"
    settings.DIKOM_INBOUND_MAIL_DOMAIN = ""
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_information(case, caseworker, subject="Noch etwas", body="Bitte auch das.")
    run_task_worker()
    assert mailoutbox[1].reply_to == [] and "bb@fulda.example" in mailoutbox[1].body


# --- a mail reaches its case --------------------------------------------------------------------


def test_a_process_waiting_for_an_e_mail_continues_when_it_arrives(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a, "e-mail.bpmn")
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    actions.complete_task(case.tasks.get(name="Nachweis anfordern"), caseworker, expected_version=None)
    assert sorted(case.tasks.filter(status="open").values_list("name", flat=True)) == ["E-Mail abwarten"]
    reply = mail(
        addressing.reply_address(case),
        text="Guten Tag,\nanbei der Nachweis.\n\nAm 01.12.2026 schrieb Stadt Fulda:\n> Bitte senden Sie\n> den Nachweis.",
        files=[("nachweis.pdf", PDF, "application", "pdf"), ("foto.png", PNG, "image", "png")],
    )
    assert pipe(reply.as_bytes(), addressing.reply_address(case)) == service.EX_OK
    case.refresh_from_db()
    assert sorted(case.tasks.filter(status="open").values_list("name", flat=True)) == ["E-Mail prüfen"]
    waited = case.tasks.get(name="E-Mail abwarten")
    assert waited.status == Task.Status.DONE and waited.completed_automatically
    [entry] = case.events.filter(kind="platform_message")
    assert entry.data["event"] == "dikom:e-mail-eingegangen" and entry.data["outcome"] == "delivered"
    # The process has the mail: sender, subject, the new text without the quote, the attachments.
    state = str(case.workflow_state)
    assert "erika@example.org" in state and "anbei der Nachweis." in state and "Bitte senden Sie" not in state
    assert "nachweis.pdf" in state and "foto.png" in state
    # The caseworker sees it in the case file: a message from the citizen and two documents.
    [message] = case.messages.filter(direction=CaseMessage.Direction.FROM_CITIZEN)
    assert message.subject == "Nachweis" and "anbei der Nachweis." in message.body
    assert "erika@example.org" in message.body and "> " not in message.body
    documents = case.documents.filter(title__startswith="E-mail attachment")
    assert sorted(documents.values_list("file_name", "content_type")) == [
        ("foto.png", "image/png"),
        ("nachweis.pdf", "application/pdf"),
    ]
    assert documents.get(file_name="nachweis.pdf").file.read() == PDF
    [received] = case.events.filter(kind="mail_received")
    assert "erika@example.org" in received.text and "Nachweis" in received.text


def test_a_mail_answers_the_one_open_information_request(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a, "antwort.bpmn")  # waits for dikom:antwort-antragsteller
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    actions.complete_task(case.tasks.get(name="Fehlende Unterlagen anfordern"), caseworker, expected_version=None)
    request = actions.request_information(case, caseworker, subject="Nachweis fehlt", body="Bitte senden.")
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING
    raw = mail(addressing.reply_address(case), subject="Re: Neue Nachricht", text="Hier der Nachweis.").as_bytes()
    assert service.receive_mail(raw).status == service.ACCEPTED
    case.refresh_from_db()
    request.refresh_from_db()
    assert case.status == Case.Status.OPEN  # as after an answer in the portal
    assert request.answered_by is not None and "Hier der Nachweis." in request.answered_by.body
    assert sorted(case.tasks.filter(status="open").values_list("name", flat=True)) == ["Antwort prüfen"]
    [received] = case.events.filter(kind="mail_received")
    assert received.data["answered_request"] == str(request.uuid)


def test_with_two_open_requests_the_mail_answers_neither(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    actions.request_information(case, caseworker, subject="Erstens", body="a")
    actions.request_information(case, caseworker, subject="Zweitens", body="b")
    assert service.receive_mail(mail(addressing.reply_address(case)).as_bytes()).status == service.ACCEPTED
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING  # a caseworker decides which request it answers
    assert not case.messages.filter(kind="information_request", answered_by__isnull=False).exists()
    assert case.messages.filter(direction="from_citizen", kind="message").count() == 1


def test_the_same_mail_delivered_twice_counts_once(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a, "e-mail.bpmn")
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    actions.complete_task(case.tasks.get(name="Nachweis anfordern"), caseworker, expected_version=None)
    raw = mail(addressing.reply_address(case), files=[("n.pdf", PDF, "application", "pdf")]).as_bytes()
    first = service.receive_mail(raw, recipients=[addressing.reply_address(case)])
    again = service.receive_mail(raw, recipients=[addressing.reply_address(case)])
    assert (first.status, again.status) == (service.ACCEPTED, service.DUPLICATE)
    assert again.exit_code == 0  # the MTA must not retry
    assert case.events.filter(kind="mail_received").count() == 1
    assert case.events.filter(kind="platform_message").count() == 1
    assert case.messages.filter(direction="from_citizen").count() == 1
    assert case.documents.filter(file_name="n.pdf").count() == 1


def test_a_case_that_does_not_wait_keeps_the_mail(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)  # a process without the e-mail message
    outcome = service.receive_mail(mail(addressing.reply_address(case)).as_bytes())  # the To header decides
    assert outcome.status == service.ACCEPTED and outcome.delivery is None
    assert case.messages.filter(direction="from_citizen").count() == 1
    assert not case.events.filter(kind="platform_message").exists()


# --- refused: another case, another city, forged, closed --------------------------------------


def test_a_forged_or_foreign_address_reaches_no_case(
    city_a: Any, city_b: Any, unit_a: Any, unit_b: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="dikom.cases.mail.actions")
    ours, theirs = new_case(city_a, unit_a), new_case(city_b, unit_b)
    forged = "antwort+" + addressing.token(theirs.uuid)[:26] + addressing.token(ours.uuid)[26:] + "@" + DOMAIN
    before = CaseMessage.objects.count()
    for recipient in (forged, "antwort+nichts@" + DOMAIN, "bb@fulda.example", "antwort+x@" + DOMAIN.upper() + ".evil"):
        raw = mail(recipient, text="Geheimer Inhalt").as_bytes()
        assert pipe(raw, recipient) == service.EX_NOUSER, recipient
    assert CaseMessage.objects.count() == before
    # Logged with the rule that refused it, without addresses or content.
    assert "token-invalid" in caplog.text and "not-a-reply-address" in caplog.text
    assert "Geheimer Inhalt" not in caplog.text and "erika" not in caplog.text and forged not in caplog.text
    # The envelope decides, not a header naming another case: a header with Gießen's address does not help.
    raw = mail(addressing.reply_address(theirs)).as_bytes()
    assert pipe(raw, forged) == service.EX_NOUSER
    assert not theirs.messages.filter(direction="from_citizen").exists()
    # Gießen's own address reaches Gießen's case, never Fulda's.
    assert pipe(raw, addressing.reply_address(theirs)) == service.EX_OK
    assert theirs.messages.filter(direction="from_citizen").count() == 1
    assert not ours.messages.filter(direction="from_citizen").exists()


def test_a_closed_case_takes_no_mail(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED)
    assert pipe(mail(addressing.reply_address(case)).as_bytes(), addressing.reply_address(case)) == 67
    assert not case.messages.filter(direction="from_citizen").exists()


def test_without_an_inbound_domain_no_mail_is_taken(settings: Any, city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    settings.DIKOM_INBOUND_MAIL_DOMAIN = ""
    assert addressing.reply_address(case) == ""
    assert pipe(mail(address).as_bytes(), address) == service.EX_NOUSER


# --- hostile and odd mail -------------------------------------------------------------------


def test_bad_data_too_large_empty_and_no_mail(settings: Any, city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    settings.DIKOM_INBOUND_MAIL_MAX_BYTES = 4096
    big = mail(address, files=[("gross.pdf", PDF + b"0" * 8000, "application", "pdf")]).as_bytes()
    assert pipe(big, address) == service.EX_DATAERR
    assert pipe(b"", address) == service.EX_DATAERR
    assert pipe(b"\x00\xff\xfe just bytes \x00", address) == service.EX_DATAERR
    assert not case.messages.filter(direction="from_citizen").exists()


def test_malformed_mime_is_read_as_far_as_it_goes(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    raw = (
        f"From: erika@example.org\r\nTo: {address}\r\nSubject: kaputt\r\nMessage-ID: <k@example.org>\r\n"
        'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        "--XX\r\nContent-Type: text/plain; charset=does-not-exist\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n!!!not base64\r\n"  # no closing boundary
    ).encode()
    assert pipe(raw, address) == service.EX_OK
    [message] = case.messages.filter(direction="from_citizen")
    assert message.subject == "kaputt"


def test_charsets_quoted_printable_and_rfc2047_headers(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    body = MIMEText("Grüße aus Fulda, Straße 5 €", "plain", "iso-8859-15")
    message = MIMEMultipart()
    message["From"] = "=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>"
    message["To"] = address
    message["Subject"] = "=?iso-8859-1?q?Unterlagen_f=FCr_den_Antrag?="
    message["Message-ID"] = "<qp@example.org>"
    message.attach(body)
    assert service.receive_mail(message.as_bytes()).status == service.ACCEPTED
    [received] = case.messages.filter(direction="from_citizen")
    assert received.subject == "Unterlagen für den Antrag"
    assert "Grüße aus Fulda, Straße 5 €" in received.body and "juergen@example.org" in received.body
    qp = EmailMessage()
    qp["From"], qp["To"], qp["Subject"], qp["Message-ID"] = "a@example.org", address, "QP", "<qp2@example.org>"
    qp.set_content("Überweisung erledigt, Kassenzeichen 4711.", cte="quoted-printable")
    assert b"=C3=9Cberweisung" in qp.as_bytes()
    assert service.receive_mail(qp.as_bytes()).status == service.ACCEPTED
    assert case.messages.filter(body__contains="Überweisung erledigt").exists()


def test_raw_8_bit_headers_are_read(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    raw = (
        f"From: J\xfcrgen <j@example.org>\r\nTo: {address}\r\nSubject: Gr\xfc\xdfe aus Fulda\r\n"
        "Content-Disposition: inline\r\n\r\nText\r\n"
    ).encode("latin-1")  # not RFC 2047: 8-bit Latin-1 bytes as old mail programs send them
    assert service.receive_mail(raw).status == service.ACCEPTED
    [message] = case.messages.filter(direction="from_citizen")
    assert message.subject == "Grüße aus Fulda"
    utf8 = raw.replace(b"Gr\xfc\xdfe", "Grüße".encode()).replace(b"Fulda", b"Kassel")
    assert service.receive_mail(utf8).status == service.ACCEPTED
    assert case.messages.filter(subject="Grüße aus Kassel").exists()


def test_header_injection_stays_one_line(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    raw = (
        f"From: eri\x00ka@example.org\r\nTo: {address}\r\nMessage-ID: <inj\x00@example.org>\r\n"
        "Subject: =?utf-8?q?Hallo=0D=0ABcc=3A_victim=40example.org=00?=\r\n\r\nText\x00\r\n"
    ).encode()  # line breaks and NUL characters (which PostgreSQL cannot store in text or JSON)
    assert service.receive_mail(raw).status == service.ACCEPTED
    [message] = case.messages.filter(direction="from_citizen")
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.subject == "Hallo Bcc: victim@example.org"
    assert "\x00" not in message.body and "erika@example.org" in message.body


def test_an_html_only_mail_becomes_plain_text(city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "erika@example.org", address, "HTML"
    message.set_content(
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>Hallo &amp; guten Tag,</p><p>anbei <b>alles</b>.</p>"
        "<blockquote>Alter Text der Stadt</blockquote><img src=x onerror=alert(1)></body></html>",
        subtype="html",
    )
    assert service.receive_mail(message.as_bytes()).status == service.ACCEPTED
    [received] = case.messages.filter(direction="from_citizen")
    assert "Hallo & guten Tag," in received.body and "anbei alles." in received.body
    assert "<" not in received.body and "alert" not in received.body and "color" not in received.body
    assert "Alter Text" not in received.body


def test_attachments_are_checked_like_every_upload(settings: Any, city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    settings.DIKOM_INBOUND_MAIL_MAX_ATTACHMENTS = 2
    forwarded = mail("someone@example.org", subject="Weitergeleitet", text="Innen")
    message = mail(
        address,
        files=[
            ("virus.pdf", PDF + SIGNATURE, "application", "pdf"),
            ("tarnung.pdf", b"MZ\x90\x00 executable", "application", "pdf"),
            ("drei.pdf", PDF, "application", "pdf"),
        ],
    )
    message.add_attachment(forwarded)  # a nested message/rfc822
    outcome = service.receive_mail(message.as_bytes())
    assert outcome.status == service.ACCEPTED and outcome.documents == []
    [event] = case.events.filter(kind="mail_received")
    listed = {item["name"]: item for item in event.data["attachments"]}
    assert set(listed) == {"virus.pdf", "tarnung.pdf", "drei.pdf", "nachricht-4.eml"}
    assert not any(item["stored"] for item in listed.values())
    assert "EICAR" in listed["virus.pdf"]["reason"]
    assert "more than 2 attachments" in listed["drei.pdf"]["reason"]
    assert not CaseDocument.objects.filter(case=case, title__startswith="E-mail attachment").exists()
    [received] = case.messages.filter(direction="from_citizen")
    assert "Attachments not stored:" in received.body and "virus.pdf" in received.body


def test_a_scanner_that_does_not_answer_is_a_temporary_failure(settings: Any, city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    address = addressing.reply_address(case)
    settings.DIKOM_UPLOAD_SCANNER = "clamd"
    settings.DIKOM_CLAMD_ADDRESS = "tcp://127.0.0.1:9"  # nothing listens there
    settings.DIKOM_CLAMD_TIMEOUT = 1
    raw = mail(address, files=[("n.pdf", PDF, "application", "pdf")]).as_bytes()
    assert pipe(raw, address) == service.EX_TEMPFAIL
    assert not case.messages.filter(direction="from_citizen").exists()
    settings.DIKOM_UPLOAD_SCANNER = "none"
    assert pipe(raw, address) == service.EX_OK  # the MTA's retry


def test_deeply_nested_parts_are_bounded() -> None:
    inner = MIMEText("tief")
    for _ in range(parsing.MAX_DEPTH + 5):
        outer = MIMEMultipart()
        outer.attach(inner)
        inner = outer
    inner["From"] = "a@example.org"
    parsed = parsing.parse(inner.as_bytes(), max_bytes=10**6)
    assert parsed.skipped == 1 and parsed.text == ""


def test_quoted_text_is_stripped() -> None:
    text = "Danke!\n\nOn Mon, Dec 7, 2026 at 9:00 AM Stadt <x@y> wrote:\n> alt\n> alt"
    assert parsing.strip_quoted(text) == "Danke!"
    assert parsing.strip_quoted("Neu\n-----Ursprüngliche Nachricht-----\nVon: Stadt") == "Neu"
    assert parsing.strip_quoted("> nur Zitat") == "> nur Zitat"  # nothing new: keep what there is


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.builds(
            lambda headers, body: (headers + "\r\n\r\n" + body).encode("utf-8", "surrogatepass"),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=400),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=400),
        ),
        st.builds(
            lambda ctype, cte, payload: (
                "From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                f'Content-Type: {ctype}; boundary="b"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'
                f"--b\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{payload}\r\n--b--"
            ).encode("utf-8", "replace"),
            st.sampled_from(
                [
                    "multipart/mixed",
                    "text/plain; charset=x-unknown",
                    "text/html",
                    "message/rfc822",
                    "multipart/alternative",
                    "application/pdf; name==?utf-8?b?w7w=?=",
                ]
            ),
            st.sampled_from(["base64", "quoted-printable", "8bit", "x-bogus"]),
            st.text(max_size=300),
        ),
    )
)
def test_any_input_is_read_or_refused_as_bad_data(raw: bytes) -> None:
    """Whatever arrives: a parsed mail with bounded, single-line headers, or BadMail — never another error."""
    try:
        parsed = parsing.parse(raw, max_bytes=10**6)
    except parsing.BadMail:
        return
    assert "\n" not in parsed.subject and "\r" not in parsed.subject and len(parsed.subject) <= 200
    assert "\n" not in parsed.sender and len(parsed.text) <= parsing.MAX_TEXT
    assert all("/" not in a.name and "\n" not in a.name for a in parsed.attachments)
    # Storable: no lone surrogates (raw 8-bit headers) and no NUL in anything kept.
    for value in (parsed.subject, parsed.sender, parsed.text, parsed.message_id, *(a.name for a in parsed.attachments)):
        value.encode("utf-8")
        assert "\x00" not in value


# --- the Maildir poller -----------------------------------------------------------------------


def test_the_maildir_poller_moves_what_it_processed(tmp_path: Path, city_a: Any, unit_a: Any) -> None:
    case = new_case(city_a, unit_a)
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    good = mail(addressing.reply_address(case)).as_bytes()
    (maildir / "new" / "1.host").write_bytes(good)
    (maildir / "new" / "2.host").write_bytes(good)  # the same mail twice (a retry of the MTA)
    (maildir / "new" / "3.host").write_bytes(mail("antwort+falsch@" + DOMAIN).as_bytes())
    out = io.StringIO()
    call_command("fetch_mail", maildir=str(maildir), stdout=out)
    assert out.getvalue().strip() == "accepted: 1, duplicate: 1, unknown_recipient: 1"
    assert not list((maildir / "new").iterdir())
    assert sorted(p.name for p in (maildir / "cur").iterdir()) == ["1.host:2,S", "2.host:2,S", "3.host:2,T"]
    assert case.messages.filter(direction="from_citizen").count() == 1
    # Run again: nothing new, nothing twice.
    call_command("fetch_mail", maildir=str(maildir), stdout=io.StringIO())
    assert case.messages.filter(direction="from_citizen").count() == 1


def test_the_maildir_poller_leaves_temporary_failures_for_the_next_run(
    tmp_path: Path, settings: Any, city_a: Any, unit_a: Any
) -> None:
    case = new_case(city_a, unit_a)
    for sub in ("new", "cur", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "1.host").write_bytes(
        mail(addressing.reply_address(case), files=[("n.pdf", PDF, "application", "pdf")]).as_bytes()
    )
    settings.DIKOM_UPLOAD_SCANNER, settings.DIKOM_CLAMD_ADDRESS = "clamd", "tcp://127.0.0.1:9"
    settings.DIKOM_CLAMD_TIMEOUT = 1
    assert service.fetch_maildir(tmp_path) == {"temporary": 1}
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["1.host"]
    settings.DIKOM_UPLOAD_SCANNER = "none"
    assert service.fetch_maildir(tmp_path) == {"accepted": 1}


def test_fetch_mail_refuses_a_path_that_is_no_maildir(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a Maildir"):
        call_command("fetch_mail", maildir=str(tmp_path / "nichts"))


# --- the import check -----------------------------------------------------------------------


def test_the_import_check_knows_the_e_mail_event() -> None:
    xml = (Path(__file__).parent / "bpmn" / "platform" / "e-mail.bpmn").read_text(encoding="utf-8")
    report = inspect(xml)
    assert report.ok, [str(f) for f in report.errors]
    assert any(f.code == "platform-message" and f.element_id == "mail_abwarten" for f in report.notes)
    thrown = xml.replace('<bpmn:receiveTask id="mail_abwarten" name="E-Mail abwarten" messageRef="m_mail">',
                         '<bpmn:sendTask id="mail_abwarten" name="E-Mail abwarten" messageRef="m_mail">')\
        .replace("</bpmn:receiveTask>", "</bpmn:sendTask>")  # fmt: skip
    assert not inspect(thrown).ok


# --- the API endpoint -----------------------------------------------------------------------


def post_mail(client: Any, raw: bytes, **query: str) -> Any:
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return client.generic("POST", "/api/v1/mail/inbound/" + suffix, raw, content_type="message/rfc822")


@pytest.mark.usefixtures("api_cache")
def test_a_city_mail_gateway_hands_over_mail_over_the_api(city_a: Any, city_b: Any, unit_a: Any, unit_b: Any) -> None:
    from dikom.cases.scopes import CASES_WRITE, MAIL_INBOUND
    from dikom.cases.tests.conftest import client_for, key

    ours, theirs = new_case(city_a, unit_a, "e-mail.bpmn"), new_case(city_b, unit_b)
    gateway = client_for(key(city_a, MAIL_INBOUND, name="Mail-Gateway"))
    raw = mail(addressing.reply_address(ours), files=[("n.pdf", PDF, "application", "pdf")]).as_bytes()
    response = post_mail(gateway, raw)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "accepted", "case": str(ours.uuid), "delivered": False, "documents": 1}
    again = post_mail(gateway, raw)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    # Gießen's case with a genuine address: Fulda's gateway reaches it not (404 problem).
    foreign = post_mail(gateway, mail(addressing.reply_address(theirs)).as_bytes())
    assert foreign.status_code == 404 and foreign["Content-Type"] == "application/problem+json"
    assert not theirs.messages.filter(direction="from_citizen").exists()
    # No e-mail at all: 400 problem with errors; a wrong content type: 415; another scope: 403.
    bad = post_mail(gateway, b"")
    assert bad.status_code == 400 and "message" in str(bad.json().get("errors"))
    wrong_type = gateway.post("/api/v1/mail/inbound/", {"a": 1}, format="json")
    assert wrong_type.status_code == 415
    writer = client_for(key(city_a, CASES_WRITE))
    assert post_mail(writer, raw).status_code == 403
    assert ours.messages.filter(direction="from_citizen").count() == 1


def test_the_caseworker_sees_the_e_mail_on_the_case_page(city_a: Any, unit_a: Any, login: Any) -> None:
    from django.test import Client

    case = new_case(city_a, unit_a)
    raw = mail(addressing.reply_address(case), subject="Mein Nachweis", text="Hier ist er.",
               files=[("nachweis.pdf", PDF, "application", "pdf")]).as_bytes()  # fmt: skip
    assert pipe(raw, addressing.reply_address(case)) == 0
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit_a).user
    client = Client()
    login(client, caseworker)
    html = client.get(f"/vorgaenge/{city_a.slug}/{case.uuid}/").content.decode()
    assert "Mein Nachweis" in html and "Hier ist er." in html and "erika@example.org" in html
    assert "E-mail attachment: nachweis.pdf" in html
