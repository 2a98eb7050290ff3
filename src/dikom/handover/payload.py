"""The hand-over document: what a back office receives for one submitted application.

Format ``dikom.handover/1`` (documented field by field in ``docs/handover.md``).
It is built from the application's immutable submission snapshot, so every
attempt of a delivery sends the same content. Fields are only ever added
within one format version.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from dikom.handover.models import Delivery
from dikom.handover.transport import DeliveryError

FORMAT = "dikom.handover/1"
EVENT_TYPE = "application.submitted"


@dataclass(frozen=True)
class Attachment:
    field: str
    name: str
    content_type: str
    content: bytes


def file_entries(delivery: Delivery) -> list[dict[str, Any]]:
    return list((delivery.application.submission_data or {}).get("files") or [])


def attachments_fit(delivery: Delivery) -> bool:
    """Whether the files go along (their total size within ``DIKOM_HANDOVER_MAX_ATTACHMENT_BYTES``)."""
    files = file_entries(delivery)
    return bool(files) and sum(int(f.get("size") or 0) for f in files) <= settings.DIKOM_HANDOVER_MAX_ATTACHMENT_BYTES


def read_attachments(delivery: Delivery) -> list[Attachment]:
    """The uploaded files in snapshot order, each checked against the SHA-256 recorded at submission."""
    attachments = []
    for entry in file_entries(delivery):
        field = str(entry.get("field") or "")
        try:
            with default_storage.open(entry["path"], "rb") as handle:
                content = handle.read()
        except (OSError, KeyError) as exc:
            # Storage can be briefly unavailable (network file systems): worth another try.
            raise DeliveryError(
                _("An uploaded file (field %(field)s) could not be read.") % {"field": field}, retry=True
            ) from exc
        if hashlib.sha256(content).hexdigest() != entry.get("sha256"):
            raise DeliveryError(
                _("An uploaded file (field %(field)s) no longer matches its checksum; nothing was sent.")
                % {"field": field},
                retry=False,
            )
        attachments.append(
            Attachment(
                field=field,
                name=str(entry.get("name") or "file"),
                content_type=str(entry.get("content_type") or "application/octet-stream"),
                content=content,
            )
        )
    return attachments


def build(delivery: Delivery, *, mode: str, attachments: list[Attachment] | None = None) -> dict[str, Any]:
    """The document for ``delivery``.

    ``mode`` says where the file contents are: ``inline`` (base64 in the
    document, webhooks), ``mail`` (separate parts of the same e-mail) or
    ``metadata`` (not sent: too large or none).
    """
    application = delivery.application
    data = application.submission_data or {}
    municipality = delivery.municipality
    entries = file_entries(delivery)
    contents = [a.content for a in attachments] if attachments else [b""] * len(entries)
    files = []
    for entry, content in zip(entries, contents, strict=True):
        item: dict[str, Any] = {
            "field": entry.get("field"),
            "name": entry.get("name"),
            "content_type": entry.get("content_type"),
            "size": entry.get("size"),
            "sha256": entry.get("sha256"),
            "scan_status": entry.get("scan_status"),
        }
        if mode == "inline":
            item["content_base64"] = base64.b64encode(content).decode("ascii")
        files.append(item)
    return {
        "format": FORMAT,
        "type": EVENT_TYPE,
        "delivery_id": str(delivery.uuid),
        "municipality": {"ags": municipality.ags, "name": municipality.name, "slug": municipality.slug},
        "application": {
            "uuid": str(application.uuid),
            "reference": data.get("reference") or application.reference,
            "submitted_at": data.get("submitted_at"),
            "service": {"slug": data.get("service"), "title": data.get("title"), "version": data.get("version")},
            "answers": data.get("answers") or {},
            "fee_lines": data.get("fee_lines") or [],
            "fee_total_cents": data.get("fee_total_cents", 0),
            "payment_reference": data.get("payment_reference") or "",
            "auth_method": data.get("auth_method") or "",
            "trust_level": data.get("trust_level") or "",
        },
        "attachments": {
            "mode": mode if files else "metadata",
            "total_bytes": sum(int(f.get("size") or 0) for f in entries),
            "files": files,
        },
    }


def encode(document: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON with sorted keys: the same document gives the same bytes."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
