"""Active content in PDF files: scripts, automatic actions, embedded files, forms that run code.

Such a PDF is not refused (legitimate forms use some of these features), but
marked, so that the caseworker sees a warning before opening it. The check
reads PDF *names* (``/JavaScript``, ``/OpenAction`` …) as the PDF syntax
defines them: a name may spell any character as ``#xx`` (``/J#61vaScript``
is ``/JavaScript``), so names are decoded before they are compared.
Dictionaries may also hide inside compressed object streams (``/Type
/ObjStm``, PDF 1.5); those streams are inflated, within a size budget, and
read the same way. An encrypted PDF cannot be looked into and is marked as
such.

This is a marker for a human, not a parser that proves a PDF harmless.
"""

from __future__ import annotations

import re
import zlib
from typing import IO

# Name (as decoded) → marker stored with the file.
ACTIVE_NAMES = {
    "JavaScript": "javascript",
    "JS": "javascript",
    "OpenAction": "open_action",
    "AA": "automatic_action",
    "Launch": "launch",
    "EmbeddedFile": "embedded_file",
    "EmbeddedFiles": "embedded_file",
    "RichMedia": "rich_media",
    "XFA": "xfa",
    "Encrypt": "encrypted",
}
MAX_READ = 64 * 1024 * 1024  # bytes of the file read at most (uploads are smaller anyway)
MAX_INFLATED = 32 * 1024 * 1024  # bytes inflated from object streams in all
# A name: "/" followed by regular characters (anything but white-space and delimiters).
_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n")


def _decode(raw: bytes) -> str:
    return _HEX.sub(lambda match: bytes([int(match[1], 16)]), raw).decode("latin-1")


def _names(data: bytes) -> set[str]:
    return {_decode(match[1]) for match in _NAME.finditer(data)}


def _object_streams(data: bytes) -> list[bytes]:
    """The inflated contents of compressed object streams, within ``MAX_INFLATED`` bytes in all."""
    found: list[bytes] = []
    budget = MAX_INFLATED
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - 400) : match.start()]
        dictionary = head[head.rfind(b"<<") :] if b"<<" in head else head
        names = _names(dictionary)
        if "ObjStm" not in names or "FlateDecode" not in names:
            continue
        end = data.find(b"endstream", match.end())
        body = data[match.end() : end if end != -1 else len(data)]
        try:
            inflated = zlib.decompressobj().decompress(body, budget)
        except zlib.error:
            continue
        found.append(inflated)
        budget -= len(inflated)
        if budget <= 0:
            break
    return found


def active_content(stream: IO[bytes]) -> list[str]:
    """The sorted markers of active content found in a PDF (empty when none)."""
    data = stream.read(MAX_READ)
    names = _names(data)
    for inflated in _object_streams(data):
        names |= _names(inflated)
    return sorted({ACTIVE_NAMES[name] for name in names if name in ACTIVE_NAMES})
