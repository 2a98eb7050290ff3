"""What a file really is, from its first bytes (never from its name)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath
from typing import IO

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"

EXTENSIONS: dict[str, set[str]] = {
    "application/pdf": {".pdf"},
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg", ".jpe"},
    "image/gif": {".gif"},
    "image/tiff": {".tif", ".tiff"},
    DOCX: {".docx"},
    XLSX: {".xlsx"},
    PPTX: {".pptx"},
    ODT: {".odt"},
    ODS: {".ods"},
    "application/zip": {".zip"},
    "text/plain": {".txt", ".text", ".csv"},
}


def detect(stream: IO[bytes]) -> str | None:
    """The content type from the file's magic numbers, or None when unknown."""
    stream.seek(0)
    head = stream.read(8192)
    stream.seek(0)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(stream)
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the end of the sample is fine
            if exc.start < len(head) - 4:
                return None
        return "text/plain"
    return None


def _zip_kind(stream: IO[bytes]) -> str:
    try:
        data = stream.read()
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        if "mimetype" in names:
            # Read only the first bytes: read() would inflate the whole member, however large it claims to be.
            with archive.open("mimetype") as member:
                mimetype = member.read(100).decode("ascii", "replace").strip()
            if mimetype in (ODT, ODS):
                return mimetype
        if "[Content_Types].xml" in names:
            if any(n.startswith("word/") for n in names):
                return DOCX
            if any(n.startswith("xl/") for n in names):
                return XLSX
            if any(n.startswith("ppt/") for n in names):
                return PPTX
    except (zipfile.BadZipFile, OSError, KeyError):
        pass
    finally:
        stream.seek(0)
    return "application/zip"


def extension_matches(name: str, content_type: str) -> bool:
    return PurePath(name).suffix.lower() in EXTENSIONS.get(content_type, set())


def safe_name(name: str) -> str:
    """The base name, without path parts or control characters, at most 150 characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".")
    base = re.sub(r"[^\w.\- ()]", "_", base)
    if len(base) > 150:
        suffix = PurePath(base).suffix[:10]
        base = base[: 150 - len(suffix)] + suffix
    return base or "datei"
