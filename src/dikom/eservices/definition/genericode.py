"""Reading code lists in OASIS genericode 1.0, the format of XRepository (XÖV and FIM code lists).

A code list has an identification (``CanonicalUri``, ``Version``,
``CanonicalVersionUri``), a column set with at least one key, and rows. The
code is the column of the key (XÖV marks the recommended one); the label is the
column FIM names in ``nameKey``, else the first column called like a
description (Beschreibung, Name, Wert, Bezeichnung …), else the first column
that is not the code. The same parser guards as for FIM schemas apply (no DTD
or entities, a size limit), and at most ``MAX_VALUES`` rows.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from .fim import FimImportError, _local, _parse

NAMESPACE = "http://docs.oasis-open.org/codelist/ns/genericode/1.0/"
MAX_VALUES = 10_000
LABEL_COLUMNS = ("beschreibung", "name", "wert", "bezeichnung", "description", "value", "label", "langname")


@dataclass
class CodeListData:
    canonical_uri: str
    version: str
    canonical_version_uri: str
    short_name: str
    long_name: str
    agency: str
    code_column: str
    label_column: str
    values: list[dict[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)

    def options(self, code_key: str = "", name_key: str = "") -> list[dict[str, Any]]:
        """Select options; ``code_key``/``name_key`` (FIM's column names) choose other columns when they exist."""
        code = code_key if code_key in self.columns else self.code_column
        label = name_key if name_key in self.columns else self.label_column
        seen: set[str] = set()
        options = []
        for row in self.rows:
            value = row.get(code, "")
            if not value or value in seen:
                continue
            seen.add(value)
            options.append({"value": value, "label": {"de": row.get(label) or value}})
        return options


def _children(element: ET.Element | None, name: str) -> list[ET.Element]:
    if element is None:
        return []
    return [child for child in element if isinstance(child.tag, str) and _local(child.tag) == name]


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _text(element: ET.Element | None, name: str) -> str:
    found = _child(element, name)
    return " ".join((found.text or "").split()) if found is not None else ""


def _pick_key_column(column_set: ET.Element, columns: list[str]) -> str:
    keys = _children(column_set, "Key")
    recommended = [k for k in keys if k.find(".//{*}recommendedKeyColumn") is not None]
    for key in recommended + keys:
        ref = _child(key, "ColumnRef")
        if ref is not None and ref.get("Ref") in columns:
            return str(ref.get("Ref"))
    return columns[0]


def _pick_label_column(column_set: ET.Element, columns: list[str], code: str) -> str:
    recommended = [
        str(c.get("Id")) for c in _children(column_set, "Column") if c.find(".//{*}recommendedValueColumn") is not None
    ]
    if recommended and recommended[0] in columns:
        return recommended[0]
    others = [c for c in columns if c != code]
    for wanted in LABEL_COLUMNS:
        for column in others:
            if column.lower().replace("-", "").replace("_", "") == wanted:
                return column
    return others[0] if others else code


def parse_genericode(xml_bytes: bytes) -> CodeListData:
    """The code list in ``xml_bytes``; FimImportError (with a code) for anything that is not a usable code list."""
    root = _parse(xml_bytes)
    if _local(root.tag) != "CodeList" or not root.tag.startswith(f"{{{NAMESPACE}}}"):
        raise FimImportError(_("This is not a genericode 1.0 code list."), "not_genericode")
    ident = _child(root, "Identification")
    uri = _text(ident, "CanonicalUri")
    version = _text(ident, "Version")
    if not uri or not version:
        raise FimImportError(
            _("The code list has no “CanonicalUri” or no “Version” in its identification."), "missing_element"
        )
    version_uri = _text(ident, "CanonicalVersionUri") or f"{uri}_{version}"
    column_set = _child(root, "ColumnSet")
    columns = [str(c.get("Id") or "") for c in _children(column_set, "Column")]
    if column_set is None or not columns or not all(columns):
        raise FimImportError(_("The code list has no columns with ids."), "missing_element")
    code = _pick_key_column(column_set, columns)
    label = _pick_label_column(column_set, columns, code)
    simple = _child(root, "SimpleCodeList")
    rows_xml = _children(simple, "Row")
    if len(rows_xml) > MAX_VALUES:
        raise FimImportError(
            _("The code list has more than %(n)d rows, too many for a selection.") % {"n": MAX_VALUES}, "too_large"
        )
    rows: list[dict[str, str]] = []
    for row in rows_xml:
        values: dict[str, str] = {}
        position = 0
        for value in _children(row, "Value"):
            ref = value.get("ColumnRef")
            if ref is None:  # genericode: without ColumnRef a value belongs to the next column
                ref = columns[position] if position < len(columns) else ""
            if ref in columns:
                values[ref] = _text(value, "SimpleValue")
                position = columns.index(ref) + 1
        rows.append(values)
    data = CodeListData(
        canonical_uri=uri[:300],
        version=version[:100],
        canonical_version_uri=version_uri[:400],
        short_name=_text(ident, "ShortName")[:200],
        long_name=_text(ident, "LongName")[:300],
        agency=_text(_child(ident, "Agency"), "LongName")[:300] or _text(_child(ident, "Agency"), "ShortName")[:300],
        code_column=code,
        label_column=label,
        columns=columns,
        rows=rows,
    )
    data.values = [{"value": o["value"], "label": o["label"]["de"]} for o in data.options()]
    if not data.values:
        raise FimImportError(_("The code list has no codes."), "empty_element")
    return data
