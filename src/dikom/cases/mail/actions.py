"""Actions: an inbound e-mail reaches its case — stored, its attachments scanned, its process told.

``receive_mail`` is the only code that changes state for an e-mail; the pipe command, the Maildir poller
and the API endpoint all call it with the raw message and get an ``Outcome`` whose ``exit_code`` follows
sendmail's ``EX_*`` conventions (so an MTA's pipe transport bounces, retries or accepts correctly):

- the recipient must be a case's reply address whose token verifies (``addressing``); a forged, altered
  or foreign address, or a closed case, is refused as an unknown recipient (67) and logged without any
  address or content — the mail reaches no case at all, never another one;
- a mail that is no mail, too large or empty is bad data (65);
- the virus scanner not answering, or the database failing, is a temporary failure (75): nothing is
  stored, the MTA (or the next poll) tries again;
- otherwise the mail is accepted (0): in one transaction under the case's row lock its text becomes a
  message from the citizen in the case file, each attachment that passes the same checks as every upload
  (type from the content, matching extension, virus scan, size) a case document, the history records it,
  and ``dikom:e-mail-eingegangen`` is delivered to the step of the case's process waiting for it. With
  exactly one information request open the mail is the citizen's answer to it (``answer_information``:
  the case stops waiting, ``dikom:antwort-antragsteller`` is delivered too).

The same mail again (the same Message-ID, or without one the same bytes) is a duplicate: accepted (0)
and nothing happens a second time.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from dikom.cases import platform_messages
from dikom.cases.actions import CaseActionError, _locked, answer_information, record_event
from dikom.cases.bpmn import platform_events
from dikom.cases.document_actions import check_document
from dikom.cases.mail import addressing
from dikom.cases.mail.parsing import Attachment, BadMail, ParsedMail, parse
from dikom.cases.models import Case, CaseDocument, CaseEvent, CaseMessage
from dikom.portal import sniffing
from dikom.scanning import service as scanning

logger = logging.getLogger(__name__)

#: The history entry of an inbound e-mail; ``data["key"]`` makes it once per Message-ID and case.
KIND = "mail_received"

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
UNKNOWN_RECIPIENT = "unknown_recipient"
BAD_DATA = "bad_data"
TEMPORARY = "temporary"

#: sendmail's exit codes (sysexits.h) for an MTA's pipe transport.
EX_OK, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 0, 65, 67, 75
EXIT_CODES = {ACCEPTED: EX_OK, DUPLICATE: EX_OK, UNKNOWN_RECIPIENT: EX_NOUSER, BAD_DATA: EX_DATAERR,
              TEMPORARY: EX_TEMPFAIL}  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """What became of one inbound e-mail; ``reason`` is a fixed word (for logs and the API), never content."""

    status: str
    reason: str = ""
    case: Case | None = None
    delivery: platform_messages.Delivery | None = None
    documents: list[CaseDocument] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def accepted(self) -> bool:
        return self.status in {ACCEPTED, DUPLICATE}


class _TemporaryFailure(Exception):
    pass


def _reject(status: str, reason: str) -> Outcome:
    # No address, subject or text in the log: only which rule refused the mail.
    logger.info("cases: inbound e-mail refused (%s: %s)", status, reason)
    return Outcome(status, reason)


def _case_for(recipients: list[str], municipality: Any) -> tuple[Case | None, str]:
    ours = [address for address in recipients if addressing.is_ours(address)]
    if not ours:
        return None, "not-a-reply-address"
    for address in ours:
        case_uuid = addressing.case_uuid_of(address)
        if case_uuid is None:
            continue
        cases = Case.objects.select_related("municipality").filter(uuid=case_uuid)
        if municipality is not None:  # a city's mail gateway (API key) reaches its own city's cases only
            cases = cases.filter(municipality_id=municipality.pk)
        case = cases.first()
        if case is not None:
            return case, ""
    return None, "token-invalid"


def _key(mail: ParsedMail) -> str:
    """Once per mail: its Message-ID (hashed, it may name hosts), or without one its bytes."""
    if mail.message_id:
        return "mail:" + hashlib.sha256(mail.message_id.encode("utf-8", "replace")).hexdigest()
    return "mail-bytes:" + mail.digest


@dataclass
class _Checked:
    attachment: Attachment
    name: str
    detected: str = ""
    markers: list[str] = field(default_factory=list)
    refused: str = ""


def _check(attachment: Attachment, index: int) -> _Checked:
    """The checks of every upload; a scanner that cannot answer is a temporary failure of the whole mail."""
    name = sniffing.safe_name(attachment.name or f"anhang-{index}")[:200]
    checked = _Checked(attachment, name)
    verdict = None
    if attachment.content:
        verdict = scanning.scan(io.BytesIO(attachment.content))
        if verdict.status == scanning.FAILED:
            raise _TemporaryFailure("scanner")
    try:
        upload = SimpleUploadedFile(name, attachment.content, content_type=attachment.content_type)
        checked.detected, checked.markers = check_document(upload, scanned=verdict)
    except CaseActionError as error:
        checked.refused = str(error)[:300]
    return checked


def _checked_attachments(mail: ParsedMail) -> list[_Checked]:
    limit = int(settings.DIKOM_INBOUND_MAIL_MAX_ATTACHMENTS)
    checked: list[_Checked] = []
    for index, attachment in enumerate(mail.attachments, start=1):
        if index > limit:
            name = sniffing.safe_name(attachment.name or f"anhang-{index}")[:200]
            refusal = _("Not stored: more than %(count)s attachments.") % {"count": limit}
            checked.append(_Checked(attachment, name, refused=refusal))
        else:
            checked.append(_check(attachment, index))
    return checked


def receive_mail(raw: bytes, *, recipients: list[str] | None = None, municipality: Any = None) -> Outcome:
    """Take one inbound e-mail (RFC 5322 bytes) for the case whose reply address it was sent to.

    ``recipients``: the envelope recipients when the MTA passes them (preferred: headers can be forged,
    the envelope is what the MTA delivered); otherwise ``Delivered-To``, ``X-Original-To``, ``To`` and
    ``Cc`` of the mail are looked at. Only the HMAC token decides the case; with ``municipality`` (the
    API key's city) a case of another city is an unknown recipient too.
    """
    try:
        mail = parse(raw, max_bytes=int(settings.DIKOM_INBOUND_MAIL_MAX_BYTES))
    except BadMail as error:
        return _reject(BAD_DATA, str(error))
    if not addressing.enabled():
        return _reject(UNKNOWN_RECIPIENT, "inbound-mail-off")
    try:
        case, reason = _case_for(
            [r.strip().lower() for r in recipients or [] if r.strip()] or mail.recipients, municipality
        )
        if case is None:
            return _reject(UNKNOWN_RECIPIENT, reason)
        if case.status == Case.Status.CLOSED:
            return _reject(UNKNOWN_RECIPIENT, "case-closed")
        key = _key(mail)
        if CaseEvent.objects.filter(case=case, kind=KIND, data__key=key).exists():
            return Outcome(DUPLICATE, "message-id", case=case)
        checked = _checked_attachments(mail)
        return _store(case, mail, key, checked)
    except _TemporaryFailure as error:
        return _reject(TEMPORARY, str(error))
    except DatabaseError as error:
        logger.warning("cases: inbound e-mail not stored, database error (%s)", type(error).__name__)
        return Outcome(TEMPORARY, "database")


def _store(case: Case, mail: ParsedMail, key: str, checked: list[_Checked]) -> Outcome:
    with transaction.atomic():
        case = _locked(case)
        if CaseEvent.objects.filter(case=case, kind=KIND, data__key=key).exists():
            return Outcome(DUPLICATE, "message-id", case=case)  # delivered twice at the same moment
        if case.status == Case.Status.CLOSED:
            return _reject(UNKNOWN_RECIPIENT, "case-closed")
        subject = mail.subject or _("E-mail without subject")
        documents: list[CaseDocument] = []
        listed: list[dict[str, Any]] = []
        for item in checked:
            if item.refused:
                listed.append({"name": item.name, "stored": False, "reason": item.refused})
                continue
            content = item.attachment.content
            document = CaseDocument(
                case=case,
                kind=CaseDocument.Kind.ATTACHMENT,  # as the files of an answer in the portal
                title=(_("E-mail attachment: %(name)s") % {"name": item.name})[:300],
                file_name=item.name,
                content_type=item.detected,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                active_content=item.markers,
                created_automatically=True,
            )
            document.file.save(item.name, ContentFile(content), save=False)
            document.save()
            documents.append(document)
            listed.append({"name": item.name, "stored": True, "document": str(document.uuid)})
        message, answered = _message(case, subject, _email_body(mail, listed))
        if documents:
            CaseMessage.objects.filter(pk=message.pk).update(document=documents[0])
        record_event(
            case,
            KIND,
            _("E-mail from %(sender)s received: “%(subject)s” (%(count)s attachments stored).")
            % {"sender": mail.sender or _("unknown sender"), "subject": subject[:150], "count": len(documents)},
            automatic_label=_("E-mail"),
            data={"key": key, "message": str(message.uuid), "sender": mail.sender, "attachments": listed,
                  **({"answered_request": str(answered.uuid)} if answered else {}),
                  **({"skipped_parts": mail.skipped} if mail.skipped else {})},
        )  # fmt: skip
        delivery = _deliver(case, mail, key, subject, listed)
    return Outcome(ACCEPTED, case=case, delivery=delivery, documents=documents)


def _message(case: Case, subject: str, body: str) -> tuple[CaseMessage, CaseMessage | None]:
    """The mail as a message from the citizen. With exactly one information request open it is the answer to
    it, as in the portal (the case stops waiting, a process waiting for ``dikom:antwort-antragsteller``
    continues); with several open nobody can tell which one it answers, so a caseworker decides."""
    open_requests = list(
        case.messages.filter(kind=CaseMessage.Kind.INFORMATION_REQUEST, answered_by__isnull=True).order_by("pk")[:2]
    )
    if len(open_requests) == 1:
        return answer_information(case, None, open_requests[0], body, []), open_requests[0]
    message = CaseMessage.objects.create(
        case=case,
        direction=CaseMessage.Direction.FROM_CITIZEN,
        kind=CaseMessage.Kind.MESSAGE,
        subject=subject[:200],
        body=body[:10000],
    )
    return message, None


def _email_body(mail: ParsedMail, listed: list[dict[str, Any]]) -> str:
    lines = [_("E-mail from %(sender)s:") % {"sender": mail.sender or _("unknown sender")}, "", mail.text]
    refused = [item for item in listed if not item["stored"]]
    if refused:
        lines += ["", _("Attachments not stored:")]
        lines += [f"- {item['name']}: {item['reason']}" for item in refused]
    return "\n".join(lines).strip()


def _deliver(
    case: Case, mail: ParsedMail, key: str, subject: str, listed: list[dict[str, Any]]
) -> platform_messages.Delivery | None:
    names = platform_messages.case_names_for(case, platform_events.MAIL_RECEIVED)
    if not names:
        return None
    data = {
        "email": {
            "sender": mail.sender,
            "subject": subject,
            "text": mail.text,
            "attachments": [{"name": item["name"], "stored": item["stored"]} for item in listed],
        }
    }
    return platform_messages.deliver(
        case,
        names,
        key=key,
        event=platform_events.MAIL_RECEIVED,
        data=data,
        text=_("E-mail “%(subject)s” received.") % {"subject": subject[:150]},
        source=_("E-mail"),
    )
