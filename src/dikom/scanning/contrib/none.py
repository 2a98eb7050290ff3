"""No virus scanner: every file is ``unscanned`` (never ``clean``)."""

from __future__ import annotations

from typing import IO

from dikom.scanning.base import UNSCANNED, ScanResult, UploadScanner


class NoScanner(UploadScanner):
    key = "none"
    label = "no virus scanner"

    def scan(self, stream: IO[bytes]) -> ScanResult:
        return ScanResult(UNSCANNED)
