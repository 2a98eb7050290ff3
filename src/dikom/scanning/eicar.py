"""The EICAR anti-virus test file, recognised without any scanner.

This is **not** virus protection: it recognises exactly one harmless string,
the one the industry agreed on for testing that scanning works (EICAR's
"Anti-Malware Testfile"). It runs before the configured scanner so that the
refusal path can be tried on every installation, and so that a test upload
never lands in a case file. Real protection needs a scanner such as clamd.
"""

from __future__ import annotations

from typing import IO

from dikom.scanning.base import INFECTED, ScanResult

# Split in two so that this source file itself is not taken for the test file by scanners.
SIGNATURE = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
NAME = "EICAR-Test-File"
CHUNK = 1024 * 1024


def scan(stream: IO[bytes]) -> ScanResult | None:
    """INFECTED when the stream contains the EICAR string anywhere (also across chunk borders), else None."""
    tail = b""
    while chunk := stream.read(CHUNK):
        if SIGNATURE in tail + chunk:
            return ScanResult(INFECTED, NAME)
        tail = (tail + chunk)[-(len(SIGNATURE) - 1) :]
    return None
