"""Notes, media breaks and the exchange with the citizen: requests for information, answers, read receipts."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.cases.actions.core import CaseActionError, _bump, _locked, _notify_citizen, record_event
from dikom.cases.models import Case, CaseDocument, CaseMessage, CaseNote


def add_note(case: Case, by: Any, body: str) -> CaseNote:
    if not body.strip():
        raise CaseActionError(_("Please write a note."))
    with transaction.atomic():
        note = CaseNote.objects.create(case=case, author=by, body=body.strip()[:10000])
        record_event(case, "note", _("Internal note added."), actor=by)
    return note


def record_media_break(case: Case, by: Any, description: str) -> None:
    """A step done on paper or outside dikom: counted for the service's analytics."""
    if not description.strip():
        raise CaseActionError(_("Please describe the step done outside dikom."))
    with transaction.atomic():
        case = _locked(case)
        _bump(case, media_breaks=F("media_breaks") + 1)
        record_event(case, "media_break", _("Media break: %(what)s") % {"what": description.strip()[:300]}, actor=by)


def request_information(case: Case, by: Any, *, subject: str, body: str) -> CaseMessage:
    """Ask the citizen for missing information; the case waits until the answer arrives in the portal."""
    if not subject.strip() or not body.strip():
        raise CaseActionError(_("Please give the request a subject and say what is missing."))
    with transaction.atomic():
        case = _locked(case)
        if not case.is_open:
            raise CaseActionError(_("The case is no longer open."))
        message = CaseMessage.objects.create(
            case=case,
            direction=CaseMessage.Direction.TO_CITIZEN,
            kind=CaseMessage.Kind.INFORMATION_REQUEST,
            subject=subject.strip()[:200],
            body=body.strip()[:10000],
            sent_by=by if getattr(by, "is_authenticated", False) else None,
        )
        _bump(case, status=Case.Status.WAITING)
        record_event(
            case, "information_requested", _("Information requested: %(s)s") % {"s": message.subject}, actor=by
        )
        _notify_citizen(case, message)
    return message


def answer_information(case: Case, citizen: Any, request: CaseMessage, body: str, files: list[Any]) -> CaseMessage:
    """The citizen answers in the portal; the case continues."""
    from dikom.portal import sniffing
    from dikom.scanning import service as scanning

    if request.case_id != case.pk or request.kind != CaseMessage.Kind.INFORMATION_REQUEST:
        raise CaseActionError(_("This request does not belong to your application."))
    if not body.strip() and not files:
        raise CaseActionError(_("Please write an answer or attach a file."))
    with transaction.atomic():
        case = _locked(case)
        request = CaseMessage.objects.select_for_update().get(pk=request.pk)
        if request.answered_by_id is not None:
            raise CaseActionError(_("This request has already been answered."))
        answer = CaseMessage.objects.create(
            case=case,
            direction=CaseMessage.Direction.FROM_CITIZEN,
            kind=CaseMessage.Kind.ANSWER,
            subject=(_("Answer: %(s)s") % {"s": request.subject})[:200],
            body=body.strip()[:10000],
        )
        for upload in files:
            stream = upload.file if hasattr(upload, "file") else upload
            detected = sniffing.detect(stream)
            if detected is None:
                raise CaseActionError(_("The file “%(name)s” could not be recognised.") % {"name": upload.name})
            # The portal view checked the files (check_answer_files); scanned again here, so that no
            # caller of this action can store a file the scanner refuses.
            result = scanning.scan(stream)
            if result.status in (scanning.INFECTED, scanning.FAILED):
                raise CaseActionError(_("The file “%(name)s” was refused by the virus check.") % {"name": upload.name})
            active_content = scanning.pdf_active_content(stream, detected)
            stream.seek(0)
            raw = stream.read()
            document = CaseDocument(
                case=case,
                kind=CaseDocument.Kind.ATTACHMENT,
                title=str(upload.name)[:300],
                file_name=sniffing.safe_name(str(upload.name))[:200],
                content_type=detected,
                size=len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
                active_content=active_content,
            )
            document.file.save(document.file_name, ContentFile(raw), save=False)
            document.save()
        CaseMessage.objects.filter(pk=request.pk).update(answered_by=answer)
        still_waiting = case.messages.filter(
            kind=CaseMessage.Kind.INFORMATION_REQUEST, answered_by__isnull=True
        ).exclude(pk=request.pk)
        if case.status == Case.Status.WAITING and not still_waiting.exists():
            _bump(case, status=Case.Status.OPEN)
        record_event(case, "information_received", _("The citizen answered: %(s)s") % {"s": request.subject})
        from dikom.cases import platform_messages

        platform_messages.citizen_answered(case, request, answer, len(files))  # a process waiting for the answer
    return answer


# --- Portal mailbox: the citizen read the city's messages ------------------------------


def mark_messages_read(case: Case, citizen: Any) -> int:
    """Mark the city's unread messages of the case as read by its citizen; returns how many were marked.

    Only the citizen who owns the application may do this (anyone else: :class:`CaseActionError`).
    The history notes when the citizen first opened new messages (e.g. a decision letter).
    """
    from django.utils.translation import ngettext

    if citizen is None or case.application.citizen_id is None or case.application.citizen_id != citizen.pk:
        raise CaseActionError(_("This application is not yours."))
    with transaction.atomic():
        unread = case.messages.filter(direction=CaseMessage.Direction.TO_CITIZEN, read_at__isnull=True)
        count = unread.update(read_at=timezone.now())
        if count:
            record_event(
                case,
                "messages_read",
                ngettext(
                    "The citizen opened %(count)d new message in the portal.",
                    "The citizen opened %(count)d new messages in the portal.",
                    count,
                )
                % {"count": count},
            )
    return count
