"""ClamAV's daemon, clamd, over its INSTREAM protocol (TCP or a unix socket).

``DIKOM_CLAMD_ADDRESS`` is ``tcp://host:port`` or ``unix:///path/to/clamd.ctl``
(a bare absolute path means a unix socket). The protocol, as clamd documents
it: send ``zINSTREAM\\0``, then the file in chunks, each prefixed with its
length as a 4-byte big-endian number, then a zero-length chunk; clamd answers
``stream: OK``, ``stream: <signature> FOUND`` or ``… ERROR`` (e.g. when the
file exceeds its ``StreamMaxLength``), terminated by ``\\0``. No client
library is needed for that, so none is pinned.
"""

from __future__ import annotations

import socket
import struct
from typing import IO
from urllib.parse import urlsplit

from django.conf import settings

from dikom.scanning.base import CLEAN, FAILED, INFECTED, ScanResult, UploadScanner

CHUNK = 64 * 1024
MAX_REPLY = 64 * 1024


def parse_address(address: str) -> tuple[int, str | tuple[str, int]]:
    """(socket family, address) for ``tcp://host:port``, ``unix:///path`` or ``/path``; ValueError if neither."""
    address = address.strip()
    if address.startswith("/"):
        return socket.AF_UNIX, address
    parts = urlsplit(address)
    if parts.scheme == "unix" and parts.path:
        return socket.AF_UNIX, parts.path
    if parts.scheme == "tcp" and parts.hostname:
        return socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET, (parts.hostname, parts.port or 3310)
    raise ValueError(f"not a clamd address: {address!r} (use tcp://host:port or unix:///path)")


class ClamdScanner(UploadScanner):
    key = "clamd"
    label = "ClamAV (clamd)"

    def __init__(self, address: str | None = None, timeout: float | None = None) -> None:
        self.address = address or str(getattr(settings, "DIKOM_CLAMD_ADDRESS", "") or "")
        self.timeout = float(timeout if timeout is not None else getattr(settings, "DIKOM_CLAMD_TIMEOUT", 30))

    def scan(self, stream: IO[bytes]) -> ScanResult:
        try:
            family, target = parse_address(self.address)
        except ValueError as exc:
            return ScanResult(FAILED, str(exc))
        try:
            with socket.socket(family, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(target)
                conn.sendall(b"zINSTREAM\0")
                while data := stream.read(CHUNK):
                    conn.sendall(struct.pack("!L", len(data)) + data)
                conn.sendall(struct.pack("!L", 0))
                reply = b""
                while not reply.endswith(b"\0") and len(reply) < MAX_REPLY:
                    part = conn.recv(4096)
                    if not part:
                        break
                    reply += part
        except OSError as exc:
            # clamd closes the connection when a file exceeds StreamMaxLength; the send then fails.
            return ScanResult(FAILED, f"clamd: {exc}")
        answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
        if answer.endswith(" FOUND"):
            return ScanResult(INFECTED, answer.removeprefix("stream:").removesuffix(" FOUND").strip())
        if answer.endswith(": OK") or answer == "OK":
            return ScanResult(CLEAN)
        return ScanResult(FAILED, f"clamd: {answer[:200] or 'no answer'}")
