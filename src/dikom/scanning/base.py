"""The interface of an upload scanner, and what a scan can say.

A scanner reads a file's bytes and answers a ``ScanResult``. Its verdict is
one of four: ``clean`` (a real scanner looked and found nothing),
``infected`` (refuse the file), ``unscanned`` (no scanner is configured: the
file is kept, and never called clean) and ``failed`` (the scanner could not
answer: the file is refused, since nobody knows what it holds).

Adapters live in ``contrib/`` and are registered by key in ``registry.py``;
``DIKOM_UPLOAD_SCANNER`` picks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, ClassVar

CLEAN = "clean"
INFECTED = "infected"
UNSCANNED = "unscanned"
FAILED = "failed"


@dataclass(frozen=True)
class ScanResult:
    status: str  # clean, infected, unscanned, failed
    detail: str = ""  # the signature found, or why the scan failed (for logs and staff, not for citizens)


class UploadScanner:
    """A virus scanner adapter. ``scan`` gets a binary stream at position 0 and must not close it."""

    key: ClassVar[str]
    label: ClassVar[str]

    def scan(self, stream: IO[bytes]) -> ScanResult:
        raise NotImplementedError
