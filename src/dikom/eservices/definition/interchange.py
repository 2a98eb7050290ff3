"""Export and import of a service definition as a ZIP file that round-trips exactly.

Layout::

    definition.json   canonical JSON (sorted keys, UTF-8, 2-space indent, final newline)
    metadata.json     {"format", "exported_at", "source_ags", "version", "definition_sha256", …}
    assets/<name>     images and documents the definition refers to

Entries are written in sorted order with a fixed timestamp, so the same input
gives the same bytes. Imports are defensive: path traversal, absolute paths,
symlinks, too many or too large entries, suspicious compression ratios and a
missing or invalid ``definition.json`` are rejected with :class:`InterchangeError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import zipfile
import zlib
from typing import Any

from django.utils.translation import gettext as _

from dikom.lib.jsonparse import loads_limited

from .schema import FORMAT
from .structure import structure_problems

ARCHIVE_FORMAT = "dikom.service-archive/1"
MAX_ARCHIVE_BYTES = 60 * 1024 * 1024
MAX_ENTRIES = 200
MAX_ENTRY_BYTES = 25 * 1024 * 1024
MAX_TOTAL_BYTES = 100 * 1024 * 1024
MAX_DEFINITION_BYTES = 5 * 1024 * 1024
MAX_METADATA_BYTES = 64 * 1024
MAX_NAME_LENGTH = 200
MAX_RATIO = 100  # uncompressed / compressed, above this an entry is treated as a zip bomb
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class InterchangeError(ValueError):
    """The archive cannot be imported (or the input cannot be exported)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def canonical_json(value: Any) -> bytes:
    """Sorted keys, UTF-8, 2-space indent, final newline."""
    try:
        return (json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode()
    except (TypeError, ValueError) as error:
        raise InterchangeError(f"value is not plain JSON: {error}", "not_json") from error


def checksum(definition: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(definition)).hexdigest()


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    info.create_system = 3  # Unix, so the permission bits mean the same everywhere
    archive.writestr(info, data)


def export_zip(definition: dict[str, Any], assets: dict[str, bytes], metadata: dict[str, Any]) -> bytes:
    """Build the archive. ``metadata`` should carry ``exported_at`` (ISO), ``source_ags`` and ``version``.

    ``format`` and ``definition_sha256`` are set here; other metadata keys are kept.
    """
    if not isinstance(definition, dict):
        raise InterchangeError("the definition must be a JSON object", "invalid_definition")
    for name, content in assets.items():
        if not isinstance(name, str) or not ASSET_NAME.match(name):
            raise InterchangeError(f"invalid asset name {name!r}", "invalid_asset_name")
        if not isinstance(content, bytes) or len(content) > MAX_ENTRY_BYTES:
            raise InterchangeError(
                f"asset {name!r} must be bytes of at most {MAX_ENTRY_BYTES} bytes", "asset_too_large"
            )
    if len(assets) + 2 > MAX_ENTRIES:
        raise InterchangeError("too many assets", "too_many_entries")
    meta = dict(metadata)
    meta["format"] = ARCHIVE_FORMAT
    meta["definition_format"] = definition.get("format", FORMAT)
    meta["definition_sha256"] = checksum(definition)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _write(archive, "definition.json", canonical_json(definition))
        _write(archive, "metadata.json", canonical_json(meta))
        for name in sorted(assets):
            _write(archive, f"assets/{name}", assets[name])
    return buffer.getvalue()


def _shown(value: Any) -> str:
    """A name from the archive as it may be shown: quoted, control characters escaped, shortened."""
    return repr(str(value)[:100])


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if len(name) > MAX_NAME_LENGTH or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise InterchangeError(
            _("entry name too long or with control characters: %(name)s") % {"name": _shown(name)}, "unsafe_path"
        )
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\\" in name:
        raise InterchangeError(
            _("absolute or Windows path in the archive: %(name)s") % {"name": _shown(name)}, "unsafe_path"
        )
    if any(part in ("..", "") for part in name.rstrip("/").split("/")):
        raise InterchangeError(_("path leading out of the archive: %(name)s") % {"name": _shown(name)}, "unsafe_path")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise InterchangeError(_("symbolic link in the archive: %(name)s") % {"name": _shown(name)}, "symlink")
    if info.flag_bits & 0x1:
        raise InterchangeError(_("encrypted entry in the archive: %(name)s") % {"name": _shown(name)}, "encrypted")
    if info.file_size > MAX_ENTRY_BYTES:
        raise InterchangeError(_("entry too large: %(name)s") % {"name": _shown(name)}, "entry_too_large")
    if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise InterchangeError(
            _("suspicious compression ratio: %(name)s") % {"name": _shown(name)}, "compression_ratio"
        )


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read an entry without trusting its declared size."""
    with archive.open(info) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InterchangeError(_("entry too large: %(name)s") % {"name": _shown(info.filename)}, "entry_too_large")
    return data


def _json(data: bytes, name: str) -> Any:
    try:
        return loads_limited(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise InterchangeError(
            _("%(name)s is not valid UTF-8 JSON: %(error)s") % {"name": name, "error": error}, "invalid_json"
        ) from error


def _metadata(data: bytes) -> dict[str, Any]:
    """metadata.json, with the fields an import relies on checked."""
    metadata = _json(data, "metadata.json")
    if not isinstance(metadata, dict):
        raise InterchangeError(_("metadata.json must hold a JSON object"), "invalid_metadata")
    if metadata.get("format") != ARCHIVE_FORMAT:
        raise InterchangeError(
            _("metadata.json must name the format “%(format)s”") % {"format": ARCHIVE_FORMAT}, "invalid_metadata"
        )
    if not isinstance(metadata.get("definition_sha256"), str):
        raise InterchangeError(_("metadata.json must carry the definition's checksum"), "invalid_metadata")
    for name, kind in (("exported_at", str), ("source_ags", str), ("version", int), ("definition_format", str)):
        value = metadata.get(name)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise InterchangeError(
                _("metadata.json: “%(name)s” has the wrong type") % {"name": name}, "invalid_metadata"
            )
    return metadata


def import_zip(data: bytes) -> tuple[dict[str, Any], dict[str, bytes], dict[str, Any]]:
    """Read an archive made by :func:`export_zip`: (definition, assets, metadata).

    The definition is not validated for release here; call ``validate_definition``.
    """
    if len(data) > MAX_ARCHIVE_BYTES:
        raise InterchangeError(_("the archive is too large"), "archive_too_large")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise InterchangeError(_("not a ZIP archive: %(error)s") % {"error": error}, "not_a_zip") from error
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise InterchangeError(_("the archive has too many entries"), "too_many_entries")
        seen: set[str] = set()
        for info in infos:
            _check_entry(info)
            if info.filename in seen:
                raise InterchangeError(
                    _("duplicate entry %(name)s") % {"name": _shown(info.filename)}, "duplicate_entry"
                )
            seen.add(info.filename)
        if sum(info.file_size for info in infos) > MAX_TOTAL_BYTES:
            raise InterchangeError(_("the archive's content is too large"), "archive_too_large")
        by_name = {info.filename: info for info in infos}
        if "definition.json" not in by_name:
            raise InterchangeError(_("definition.json is missing"), "missing_definition")
        try:
            definition = _json(_read(archive, by_name["definition.json"], MAX_DEFINITION_BYTES), "definition.json")
            if not isinstance(definition, dict):
                raise InterchangeError(_("definition.json must hold a JSON object"), "invalid_definition")
            if definition.get("format") != FORMAT:
                raise InterchangeError(
                    _("definition.json has the format %(found)s, expected “%(format)s”")
                    % {"found": _shown(definition.get("format")), "format": FORMAT},
                    "invalid_definition",
                )
            problems = structure_problems(definition)
            if problems:
                raise InterchangeError(
                    _("definition.json cannot be read: %(problems)s") % {"problems": "; ".join(problems)},
                    "invalid_definition",
                )
            assets: dict[str, bytes] = {}
            for name, info in sorted(by_name.items()):
                if name in ("definition.json", "metadata.json") or info.is_dir():
                    continue
                asset_name = name.removeprefix("assets/")
                if asset_name == name or not ASSET_NAME.match(asset_name):
                    raise InterchangeError(_("unexpected entry %(name)s") % {"name": _shown(name)}, "unexpected_entry")
                assets[asset_name] = _read(archive, info, MAX_ENTRY_BYTES)
            if "metadata.json" not in by_name:
                raise InterchangeError(_("metadata.json is missing"), "missing_metadata")
            metadata = _metadata(_read(archive, by_name["metadata.json"], MAX_METADATA_BYTES))
            if metadata["definition_sha256"] != checksum(definition):
                raise InterchangeError(_("definition.json does not match the checksum in metadata.json"), "checksum")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, zlib.error) as error:
            raise InterchangeError(_("the archive is damaged: %(error)s") % {"error": error}, "damaged") from error
    return definition, assets, metadata
