"""What other apps use of upload scanning: one call to scan, one to look into PDFs, the verdicts.

Every place that stores a file a person uploaded calls ``scan`` before it
stores anything and refuses ``infected`` and ``failed``; PDFs are also run
through ``pdf_active_content`` and the markers kept with the file.
"""

from __future__ import annotations

from typing import IO

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dikom.scanning import eicar
from dikom.scanning.base import CLEAN, FAILED, INFECTED, UNSCANNED, ScanResult
from dikom.scanning.pdf import active_content
from dikom.scanning.registry import scan

__all__ = [
    "CLEAN",
    "FAILED",
    "INFECTED",
    "MARKER_LABELS",
    "UNSCANNED",
    "ScanResult",
    "active_content_labels",
    "check_upload",
    "pdf_active_content",
    "refusal_message",
    "scan",
]

PDF = "application/pdf"

MARKER_LABELS = {
    "javascript": _("JavaScript"),
    "open_action": _("an action when opened"),
    "automatic_action": _("automatic actions"),
    "launch": _("starting programs"),
    "embedded_file": _("embedded files"),
    "rich_media": _("multimedia content"),
    "xfa": _("an XFA form"),
    "encrypted": _("encryption (the content could not be checked)"),
}


def refusal_message(result: ScanResult) -> str | None:
    """Why an upload with this scan result is refused (translated), or None when it may be kept."""
    if result.status == INFECTED:
        if result.detail == eicar.NAME:
            return gettext("The file is the EICAR anti-virus test file and was rejected.")
        return gettext("The file contains a virus and was rejected.")
    if result.status == FAILED:
        return gettext("The file could not be checked for viruses. Please try again later.")
    return None


def check_upload(stream: IO[bytes]) -> str | None:
    """Scan an upload that is not kept as a file but read (imports); the refusal message or None."""
    return refusal_message(scan(stream))


def active_content_labels(markers: list[str] | None) -> list[str]:
    """Readable (translated) names of the markers, for the caseworker's warning."""
    return [str(MARKER_LABELS.get(marker, marker)) for marker in markers or []]


def pdf_active_content(stream: IO[bytes], content_type: str) -> list[str]:
    """Markers of active content for a PDF (by its detected type), [] for anything else; stream left at 0."""
    if content_type != PDF:
        return []
    stream.seek(0)
    try:
        return active_content(stream)
    finally:
        stream.seek(0)
