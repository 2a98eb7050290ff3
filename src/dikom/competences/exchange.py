"""Competence frameworks as JSON and CSV: parsing (validated, hostile-input safe) and writing.

The JSON document (format ``dikom-competence-framework/1``) is what a framework
version stores as its content. CSV carries the same data in rows
(``kind,code,parent,value,title_de,title_en,descriptor_de,descriptor_en``):
one ``meta`` row per field of the header, ``level`` rows, ``area`` rows and
``competence`` rows naming their area in ``parent``.

Untrusted input is bounded before it is parsed: at most ``MAX_BYTES`` bytes,
JSON nested no deeper than ``MAX_DEPTH`` (checked on the raw text, so the
parser never recurses deeply), at most ``MAX_COMPETENCES`` competences and
``MAX_LEVELS`` levels. Every refusal is a ``FrameworkFormatError`` with a
German message for the person who uploaded the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from django.utils.translation import gettext as _

from dikom.lib.spreadsheet_safety import csv_writer

FORMAT = "dikom-competence-framework/1"
MAX_BYTES = 1_000_000
MAX_DEPTH = 8
MAX_COMPETENCES = 500
MAX_LEVELS = 12
MAX_TEXT = 2000
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$")
KEY = re.compile(r"^[a-z0-9][a-z0-9.-]{0,59}$")
CSV_FIELDS = ["kind", "code", "parent", "value", "title_de", "title_en", "descriptor_de", "descriptor_en"]
META_FIELDS = ["key", "name_de", "name_en", "version_label", "source", "licence", "licence_url", "notice"]


class FrameworkFormatError(ValueError):
    """The file is not a valid framework; the message says why (translated)."""


def _nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside strings, without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise FrameworkFormatError(_("The file is too large (at most %(limit)d KB).") % {"limit": MAX_BYTES // 1000})
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FrameworkFormatError(_("The file is not UTF-8 encoded text.")) from exc


def _text(value: Any, where: str, *, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FrameworkFormatError(_("%(where)s must be text.") % {"where": where})
    if "\x00" in value:  # PostgreSQL cannot store NUL, not even in JSON
        raise FrameworkFormatError(_("%(where)s contains a NUL character.") % {"where": where})
    value = value.strip()
    if required and not value:
        raise FrameworkFormatError(_("%(where)s is missing.") % {"where": where})
    if len(value) > MAX_TEXT:
        raise FrameworkFormatError(
            _("%(where)s is too long (at most %(n)d characters).") % {"where": where, "n": MAX_TEXT}
        )
    return value


def _bilingual(value: Any, where: str, *, required: bool = True) -> dict[str, str]:
    if not isinstance(value, dict):
        raise FrameworkFormatError(_("%(where)s needs a German and an English text.") % {"where": where})
    german = _text(value.get("de"), f"{where} (de)", required=required)
    english = _text(value.get("en"), f"{where} (en)", required=False) or german
    return {"de": german, "en": english}


def validate_document(doc: Any) -> dict[str, Any]:
    """Check a parsed document and return it normalised (only known fields)."""
    if not isinstance(doc, dict):
        raise FrameworkFormatError(_("The file must contain one framework object."))
    if doc.get("format") != FORMAT:
        raise FrameworkFormatError(_("Unknown format; expected %(format)s.") % {"format": FORMAT})
    key = _text(doc.get("key"), _("The key"))
    if not KEY.match(key):
        raise FrameworkFormatError(
            _("The key may only contain lower-case letters, digits, dots and hyphens (at most 60).")
        )
    levels_in = doc.get("levels") or []
    areas_in = doc.get("areas")
    if not isinstance(levels_in, list) or len(levels_in) > MAX_LEVELS:
        raise FrameworkFormatError(_("At most %(n)d levels are allowed.") % {"n": MAX_LEVELS})
    levels = []
    for index, level in enumerate(levels_in, start=1):
        if not isinstance(level, dict) or level.get("value") != index:
            raise FrameworkFormatError(
                _("Levels must be numbered 1, 2, 3 … in order (level %(n)d is wrong).") % {"n": index}
            )
        where = _("Level %(n)d") % {"n": index}
        levels.append(
            {
                "value": index,
                "title": _bilingual(level.get("title"), where),
                "descriptor": _bilingual(level.get("descriptor"), where, required=False),
            }
        )
    if not isinstance(areas_in, list) or not areas_in:
        raise FrameworkFormatError(_("The framework needs at least one area with competences."))
    areas = []
    codes: set[str] = set()
    for area in areas_in:
        if not isinstance(area, dict):
            raise FrameworkFormatError(_("Every area must be an object."))
        area_code = _text(area.get("code"), _("An area code"))
        competences_in = area.get("competences")
        if not isinstance(competences_in, list) or not competences_in:
            raise FrameworkFormatError(_("Area %(code)s has no competences.") % {"code": area_code})
        competences = []
        for competence in competences_in:
            if not isinstance(competence, dict):
                raise FrameworkFormatError(_("Every competence must be an object."))
            code = _text(competence.get("code"), _("A competence code"))
            if not CODE.match(code):
                raise FrameworkFormatError(_("The competence code %(code)s is not allowed.") % {"code": code[:40]})
            if code in codes:
                raise FrameworkFormatError(_("The competence code %(code)s occurs twice.") % {"code": code})
            codes.add(code)
            competences.append(
                {"code": code, "title": _bilingual(competence.get("title"), _("Competence %(code)s") % {"code": code})}
            )
        areas.append(
            {
                "code": area_code,
                "title": _bilingual(area.get("title"), _("Area %(code)s") % {"code": area_code}),
                "competences": competences,
            }
        )
    if len(codes) > MAX_COMPETENCES:
        raise FrameworkFormatError(_("At most %(n)d competences are allowed.") % {"n": MAX_COMPETENCES})
    return {
        "format": FORMAT,
        "key": key,
        "name": _bilingual(doc.get("name"), _("The name")),
        "version_label": _text(doc.get("version_label"), _("The version label"), required=False)[:60],
        "source": _text(doc.get("source"), _("The source"), required=False),
        "licence": _text(doc.get("licence"), _("The licence"), required=False)[:60],
        "licence_url": _text(doc.get("licence_url"), _("The licence address"), required=False)[:300],
        "notice": _text(doc.get("notice"), _("The notice"), required=False),
        "levels": levels,
        "areas": areas,
    }


def parse_json(raw: bytes) -> dict[str, Any]:
    text = _decode(raw)
    if _nesting_depth(text) > MAX_DEPTH:
        raise FrameworkFormatError(_("The JSON is nested too deeply."))
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise FrameworkFormatError(_("The file is not valid JSON.")) from exc
    return validate_document(doc)


def parse_csv(raw: bytes) -> dict[str, Any]:
    text = _decode(raw)
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise FrameworkFormatError(_("The file is not valid CSV.")) from exc
    if not rows or set(CSV_FIELDS) - set(rows[0].keys()):
        raise FrameworkFormatError(_("The CSV needs the columns %(columns)s.") % {"columns": ", ".join(CSV_FIELDS)})
    doc: dict[str, Any] = {"format": FORMAT, "name": {}, "levels": [], "areas": []}
    areas: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(rows, start=2):
        kind = (row.get("kind") or "").strip()
        title = {"de": row.get("title_de") or "", "en": row.get("title_en") or ""}
        if kind == "meta":
            field = (row.get("code") or "").strip()
            if field == "name_de":
                doc["name"]["de"] = row.get("title_de") or ""
            elif field == "name_en":
                doc["name"]["en"] = row.get("title_de") or ""
            elif field in META_FIELDS:
                doc[field] = row.get("title_de") or ""
        elif kind == "level":
            try:
                value = int(row.get("value") or "")
            except ValueError as exc:
                raise FrameworkFormatError(_("Row %(n)d: the level needs a number.") % {"n": number}) from exc
            descriptor = {"de": row.get("descriptor_de") or "", "en": row.get("descriptor_en") or ""}
            doc["levels"].append({"value": value, "title": title, "descriptor": descriptor})
        elif kind == "area":
            code = (row.get("code") or "").strip()
            areas[code] = {"code": code, "title": title, "competences": []}
            doc["areas"].append(areas[code])
        elif kind == "competence":
            parent = (row.get("parent") or "").strip()
            if parent not in areas:
                raise FrameworkFormatError(
                    _("Row %(n)d: the area %(code)s is not defined above.") % {"n": number, "code": parent[:30]}
                )
            areas[parent]["competences"].append({"code": row.get("code") or "", "title": title})
        else:
            raise FrameworkFormatError(_("Row %(n)d: unknown kind of row.") % {"n": number})
    return validate_document(doc)


def parse_upload(name: str, raw: bytes) -> dict[str, Any]:
    """Parse an uploaded file by its extension (.json or .csv)."""
    lowered = name.lower()
    if lowered.endswith(".json"):
        return parse_json(raw)
    if lowered.endswith(".csv"):
        return parse_csv(raw)
    raise FrameworkFormatError(_("Please upload a .json or .csv file."))


def to_json(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, indent=1)


def to_csv(content: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv_writer(out)  # every cell, area codes too, is kept from running as a formula
    writer.writerow(CSV_FIELDS)

    def row(kind: str, code: str = "", parent: str = "", value: str = "", **texts: str) -> None:
        cells = [texts.get(k, "") for k in ("title_de", "title_en", "descriptor_de", "descriptor_en")]
        writer.writerow([kind, code, parent, value, *cells])

    row("meta", "key", title_de=content["key"])
    row("meta", "name_de", title_de=content["name"]["de"])
    row("meta", "name_en", title_de=content["name"]["en"])
    for field in ("version_label", "source", "licence", "licence_url", "notice"):
        row("meta", field, title_de=content.get(field, ""))
    for level in content["levels"]:
        row(
            "level",
            value=str(level["value"]),
            title_de=level["title"]["de"],
            title_en=level["title"]["en"],
            descriptor_de=level["descriptor"]["de"],
            descriptor_en=level["descriptor"]["en"],
        )
    for area in content["areas"]:
        row("area", area["code"], title_de=area["title"]["de"], title_en=area["title"]["en"])
        for competence in area["competences"]:
            row(
                "competence",
                competence["code"],
                area["code"],
                title_de=competence["title"]["de"],
                title_en=competence["title"]["en"],
            )
    return out.getvalue()
