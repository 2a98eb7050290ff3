"""Actions: documents that staff or a specialist procedure (through the case API) add to a case file.

Kept apart from ``actions.py`` (which is long enough). The same rules as every
other upload: the real type from the file's first bytes (never its name or the
declared type), the name's extension must match it, the virus scanner of
``dikom.scanning`` runs before anything is stored and refuses infected and
unscannable files, PDFs are searched for active content (kept as markers and
shown as a warning), and a size limit. Recorded in the case history and the
audit log; ``document.added`` webhooks follow from the stored document.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from dikom.cases.actions import CaseActionError, _locked, record_event
from dikom.cases.models import Case, CaseDocument
from dikom.portal import sniffing
from dikom.scanning import service as scanning

# What a case file takes: documents and scans, office files. No archives (nothing looks inside them).
DOCUMENT_TYPES = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/tiff": "TIFF",
    sniffing.DOCX: "DOCX",
    sniffing.XLSX: "XLSX",
    sniffing.ODT: "ODT",
    sniffing.ODS: "ODS",
    "text/plain": "TXT",
}


def max_document_bytes() -> int:
    """The largest document accepted: the portal's upload limit, and never more than a request may carry."""
    return min(int(settings.DIKOM_PORTAL_MAX_UPLOAD_BYTES), int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))


def check_document(upload: Any, *, scanned: scanning.ScanResult | None = None) -> tuple[str, list[str]]:
    """The detected type and the active-content markers of ``upload``; CaseActionError saying why it is refused.
    ``scanned``: the virus scanner's verdict on these bytes when the caller has it already (not scanned twice)."""
    limit = max_document_bytes()
    size = int(getattr(upload, "size", 0) or 0)
    if size > limit:
        raise CaseActionError(
            _("The file is too large (at most %(size)s MB).") % {"size": round(limit / (1024 * 1024), 1)}
        )
    if size == 0:
        raise CaseActionError(_("The file is empty."))
    stream = upload.file if hasattr(upload, "file") else upload
    detected = sniffing.detect(stream)
    if detected not in DOCUMENT_TYPES:
        raise CaseActionError(
            _("This file type is not allowed or could not be recognised. Allowed: %(types)s.")
            % {"types": ", ".join(DOCUMENT_TYPES.values())}
        )
    if not sniffing.extension_matches(sniffing.safe_name(str(upload.name or "")), detected):
        raise CaseActionError(
            _("The file name extension does not match the file's content. Please upload the original file.")
        )
    refused = scanning.refusal_message(scanned if scanned is not None else scanning.scan(stream))
    if refused:
        raise CaseActionError(refused)
    markers = scanning.pdf_active_content(stream, detected)
    stream.seek(0)
    return detected, markers


def add_document(
    case: Case, by: Any, upload: Any, *, title: str = "", visible_to_citizen: bool = False
) -> CaseDocument:
    """Store ``upload`` in the case file (kind "other"), checked as described above."""
    detected, markers = check_document(upload)
    stream = upload.file if hasattr(upload, "file") else upload
    stream.seek(0)
    raw = stream.read()
    name = sniffing.safe_name(str(upload.name or "dokument"))[:200]
    with transaction.atomic():
        case = _locked(case)
        if case.status == Case.Status.CLOSED:
            raise CaseActionError(_("The case is closed; its file has gone to the e-file system."))
        document = CaseDocument(
            case=case,
            kind=CaseDocument.Kind.OTHER,
            title=(title.strip() or name)[:300],
            file_name=name,
            content_type=detected,
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            active_content=markers,
            visible_to_citizen=visible_to_citizen,
            created_by=by if getattr(by, "is_authenticated", False) and getattr(by, "pk", None) else None,
        )
        document.file.save(name, ContentFile(raw), save=False)
        document.save()
        record_event(case, "document_added", _("Document added: %(title)s") % {"title": document.title}, actor=by)
    return document
