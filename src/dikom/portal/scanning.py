"""Pluggable virus scanning of uploads.

``DIKOM_PORTAL_VIRUS_SCANNER`` names a scanner class (dotted path). The default,
``NoScanner``, scans nothing and says so: files are marked ``unscanned``, never
``clean``. ``ClamdScanner`` talks to a ClamAV daemon (INSTREAM over TCP).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import IO, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

CLEAN = "clean"
INFECTED = "infected"
UNSCANNED = "unscanned"
FAILED = "failed"


@dataclass(frozen=True)
class ScanResult:
    status: str  # clean, infected, unscanned, failed
    detail: str = ""


class Scanner(Protocol):
    def scan(self, stream: IO[bytes]) -> ScanResult: ...


class NoScanner:
    """No virus scanner configured: every file is ``unscanned``."""

    def scan(self, stream: IO[bytes]) -> ScanResult:
        return ScanResult(UNSCANNED)


class ClamdScanner:
    """ClamAV's clamd over TCP (``DIKOM_PORTAL_CLAMD_HOST``/``_PORT``), INSTREAM command."""

    chunk = 64 * 1024

    def __init__(self, host: str | None = None, port: int | None = None, timeout: float = 30) -> None:
        self.host = host or getattr(settings, "DIKOM_PORTAL_CLAMD_HOST", "127.0.0.1")
        self.port = port or getattr(settings, "DIKOM_PORTAL_CLAMD_PORT", 3310)
        self.timeout = timeout

    def scan(self, stream: IO[bytes]) -> ScanResult:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as conn:
                conn.sendall(b"zINSTREAM\0")
                while data := stream.read(self.chunk):
                    conn.sendall(struct.pack("!L", len(data)) + data)
                conn.sendall(struct.pack("!L", 0))
                reply = b""
                while not reply.endswith(b"\0"):
                    part = conn.recv(4096)
                    if not part:
                        break
                    reply += part
        except OSError as exc:
            return ScanResult(FAILED, str(exc))
        answer = reply.rstrip(b"\0").decode("utf-8", "replace")
        if answer.endswith("OK"):
            return ScanResult(CLEAN)
        if answer.endswith("FOUND"):
            return ScanResult(INFECTED, answer.split(":", 1)[-1].strip())
        return ScanResult(FAILED, answer)


def get_scanner() -> Scanner:
    path = getattr(settings, "DIKOM_PORTAL_VIRUS_SCANNER", "") or "dikom.portal.scanning.NoScanner"
    return import_string(path)()


def scan(stream: IO[bytes]) -> ScanResult:
    stream.seek(0)
    try:
        return get_scanner().scan(stream)
    finally:
        stream.seek(0)
