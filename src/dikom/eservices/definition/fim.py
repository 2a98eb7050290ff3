"""Import of FIM XDatenfelder schemas (versions 1, 2 and 3) into a draft definition.

Mapping (see docs/eservices-definition.md):

- Stammdatenschema (or a Datenfeldgruppe message) → one definition;
- its top-level Datenfeldgruppen → steps; top-level Datenfelder → a step
  "Weitere Angaben" (consecutive ones share a step);
- nested groups → a repeating group when their ``anzahl`` allows more than one
  entry, otherwise flattened with the group's label as prefix;
- Datenfelder → fields by ``feldart``/``datentyp``; ``praezisierung`` →
  validation; ``anzahl`` minimum ≥ 1 → required (unless an enclosing group is
  optional);
- Regeln are not executable: each becomes a warning for the designer.

The parser forbids DTDs and entity declarations and limits input size; the
schema is checked strictly enough that the invalid samples of the FIM test
suite are rejected with :class:`FimImportError` naming the problem.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from dikom.lib.jsonparse import loads_limited

from .schema import FORMAT, KEY_PATTERN
from .validation import pattern_problem

MAX_XML_BYTES = 10 * 1024 * 1024
# Looks up an imported code list: (canonical URI, version, canonical version URI, FIM codeKey, FIM nameKey)
# → (select options, canonical version URI of the version used), or None when none is imported.
CodeListLookup = Callable[[str, str, str, str, str], "tuple[list[dict[str, Any]], str] | None"]
MAX_DEPTH = 12
NAMESPACES = {
    "urn:xoev-de:fim:standard:xdatenfelder_1": 1,
    "urn:xoev-de:fim:standard:xdatenfelder_2": 2,
    "urn:xoev-de:fim:standard:xdatenfelder_3.0.0": 3,
}
# Elements that may occur at most once in a schema, group or field.
SINGLE_ELEMENTS = (
    "identifikation",
    "id",
    "name",
    "bezeichnungEingabe",
    "bezeichnungAusgabe",
    "beschreibung",
    "definition",
    "status",
    "freigabestatus",
    "versionshinweis",
    "fachlicherErsteller",
    "gueltigAb",
    "gueltigBis",
    "schemaelementart",
    "hilfetextEingabe",
    "hilfetextAusgabe",
    "feldart",
    "datentyp",
    "praezisierung",
    "codelisteReferenz",
    "werte",
)
IDENTIFICATION_CHILDREN = {"id", "version"}
STATUS_CODES_V2 = {"aktiv", "inaktiv", "inVorbereitung"}
FREIGABESTATUS_CODES_V3 = {str(n) for n in range(1, 9)}  # 1 "in Planung" … 8 "vorgesehen zum Löschen"
DEFAULT_ACCEPT = ["application/pdf", "image/jpeg", "image/png"]
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# The largest file the portal takes (``portal.actions.PLATFORM_MAX_UPLOAD``); a FIM limit above it is cut.
PLATFORM_MAX_BYTES = 25 * 1024 * 1024
# Below this a file limit is probably meant in kilobytes: the import warns (the limit still applies).
SMALL_LIMIT_BYTES = 100_000
# Types the portal recognises from a file's first bytes (``portal.sniffing``); only these can be accepted.
RECOGNISED_MEDIA_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/tiff",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/zip",
        "text/plain",
    }
)


class FimImportError(ValueError):
    """The XML is not a supported, well-formed XDatenfelder schema."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class ImportResult:
    definition: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Importer:
    def __init__(self, namespace: str, version: int, code_lists: CodeListLookup | None = None) -> None:
        self.ns = namespace
        self.version = version
        self.warnings: list[str] = []
        self.code_lists = code_lists

    # --- XML helpers ----------------------------------------------------------------------------

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def child(self, element: ET.Element, name: str) -> ET.Element | None:
        return element.find(self.q(name))

    def text_of(self, element: ET.Element, name: str) -> str:
        found = self.child(element, name)
        return " ".join((found.text or "").split()) if found is not None else ""

    def code_of(self, element: ET.Element, name: str) -> str:
        found = self.child(element, name)
        if found is None:
            return ""
        code = found.find("code")
        if code is None:
            code = found.find(self.q("code"))
        return (code.text or "").strip() if code is not None else ""

    def identifier(self, element: ET.Element) -> str:
        kind = _local(element.tag)
        if self.version == 1:
            identifier = self.text_of(element, "id")
            if not identifier:
                raise FimImportError(_("%(kind)s without an id.") % {"kind": kind.capitalize()}, "missing_element")
            return identifier
        ident = self.child(element, "identifikation")
        if ident is None:
            raise FimImportError(
                _("%(kind)s “%(name)s” has no element “identifikation”.")
                % {"kind": kind.capitalize(), "name": self.text_of(element, "name")},
                "missing_element",
            )
        for item in ident:
            if _local(item.tag) not in IDENTIFICATION_CHILDREN or not item.tag.startswith(f"{{{self.ns}}}"):
                raise FimImportError(
                    _("Unexpected element “%(element)s” in the identification of %(kind)s “%(name)s”.")
                    % {"element": _local(item.tag), "kind": kind, "name": self.text_of(element, "name")},
                    "unexpected_element",
                )
        ids = ident.findall(self.q("id"))
        if not ids:
            raise FimImportError(
                _("The identification of %(kind)s “%(name)s” has no element “id”.")
                % {"kind": kind, "name": self.text_of(element, "name")},
                "missing_element",
            )
        if len(ids) > 1:
            raise FimImportError(
                _("The identification of %(kind)s “%(name)s” has the element “id” more than once.")
                % {"kind": kind, "name": self.text_of(element, "name")},
                "duplicate_element",
            )
        identifier = (ids[0].text or "").strip()
        if not identifier:
            raise FimImportError(
                _("The element “id” of %(kind)s “%(name)s” is empty.")
                % {"kind": kind, "name": self.text_of(element, "name")},
                "empty_element",
            )
        return identifier

    def check_element(self, element: ET.Element) -> str:
        """Structural checks shared by schema, group, field and rule; returns the FIM id."""
        identifier = self.identifier(element)
        kind = _local(element.tag)
        counts: dict[str, int] = {}
        for item in element:
            if isinstance(item.tag, str):
                counts[_local(item.tag)] = counts.get(_local(item.tag), 0) + 1
        for name in SINGLE_ELEMENTS:
            if counts.get(name, 0) > 1:
                raise FimImportError(
                    _("%(kind)s %(id)s has the element “%(element)s” more than once.")
                    % {"kind": kind.capitalize(), "id": identifier, "element": name},
                    "duplicate_element",
                )
        if kind != "regel" and not self.text_of(element, "name"):
            raise FimImportError(
                _("%(kind)s %(id)s has no name.") % {"kind": kind.capitalize(), "id": identifier}, "missing_element"
            )
        if self.version == 3 and self.child(element, "freigabestatus") is not None:
            code = self.code_of(element, "freigabestatus")
            if code not in FREIGABESTATUS_CODES_V3:
                raise FimImportError(
                    _("%(kind)s %(id)s has the invalid release status (freigabestatus) “%(code)s”.")
                    % {"kind": kind.capitalize(), "id": identifier, "code": code},
                    "invalid_code",
                )
        if self.version in (1, 2) and self.child(element, "status") is not None:
            code = self.code_of(element, "status")
            if code not in STATUS_CODES_V2:
                raise FimImportError(
                    _("%(kind)s %(id)s has the invalid status “%(code)s”.")
                    % {"kind": kind.capitalize(), "id": identifier, "code": code},
                    "invalid_code",
                )
        for rule in element.findall(self.q("regel")):
            self.note_rule(rule, identifier)
        return identifier

    def note_rule(self, rule: ET.Element, owner: str) -> None:
        rule_id = self.identifier(rule)
        description = (
            self.text_of(rule, "freitextRegel")
            or self.text_of(rule, "definition")
            or self.text_of(rule, "beschreibung")
            or self.text_of(rule, "script")
            or self.text_of(rule, "skript")
        )
        message = _("Rule %(id)s “%(name)s” (at %(owner)s) was not imported; model it as a condition: %(text)s") % {
            "id": rule_id,
            "name": self.text_of(rule, "name"),
            "owner": owner,
            "text": description[:300],
        }
        if message not in self.warnings:
            self.warnings.append(message)

    def entries(self, element: ET.Element) -> list[tuple[ET.Element, int, int | None]]:
        """(child, min, max) of every struktur entry; max None = unbounded."""
        result = []
        for struktur in element.findall(self.q("struktur")):
            low, high = self.cardinality(self.text_of(struktur, "anzahl"))
            enthaelt = self.child(struktur, "enthaelt")
            if enthaelt is None:
                continue
            for item in enthaelt:
                if isinstance(item.tag, str) and _local(item.tag) in ("datenfeld", "datenfeldgruppe"):
                    result.append((item, low, high))
        return result

    @staticmethod
    def cardinality(value: str) -> tuple[int, int | None]:
        match = re.match(r"^\s*(\d+)\s*:\s*(\d+|\*)\s*$", value or "")
        if not match:
            return 0, 1
        low = int(match.group(1))
        high = None if match.group(2) == "*" else int(match.group(2))
        return low, high

    # --- conversion -----------------------------------------------------------------------------

    def label(self, element: ET.Element) -> str:
        return self.text_of(element, "bezeichnungEingabe") or self.text_of(element, "name")

    def unique_key(self, base: str, used: set[str]) -> str:
        key = re.sub(r"[^a-z0-9_]", "_", base.lower())
        if not re.fullmatch(KEY_PATTERN, key):
            key = ("k_" + key)[:60]
        candidate, number = key, 2
        while candidate in used:
            candidate = f"{key}_{number}"
            number += 1
        used.add(candidate)
        return candidate

    def convert(self, root: ET.Element) -> dict[str, Any]:
        self.check_element(root)
        title = self.label(root)
        steps: list[dict[str, Any]] = []
        step_keys: set[str] = set()
        loose: dict[str, Any] | None = None
        for item, low, high in self.entries(root):
            if _local(item.tag) == "datenfeldgruppe":
                loose = None
                step_fields: list[dict[str, Any]] = []
                group_id = self.check_element(item)
                used: set[str] = set()
                if high is None or high > 1:
                    step_fields.append(self.repeating_group(item, group_id, low, high, used, 1))
                else:
                    step_fields.extend(self.flatten(item, "", low == 0, used, 1))
                steps.append(
                    {
                        "key": self.unique_key(group_id, step_keys),
                        "title": {"de": self.label(item)},
                        "fields": step_fields,
                    }
                )
            else:
                if loose is None:
                    number = sum(1 for step in steps if step["key"].startswith("weitere_angaben")) + 1
                    title_text = "Weitere Angaben" if number == 1 else f"Weitere Angaben ({number})"
                    loose = {"key": self.unique_key("weitere_angaben", step_keys), "title": {"de": title_text}}
                    loose["fields"] = []
                    loose_keys: set[str] = set()
                    steps.append(loose)
                loose["fields"].extend(self.field_entry(item, "", low, high, False, loose_keys))
        if not steps:
            self.warnings.append(_("The schema contains no data fields; the draft starts with an empty step."))
            steps.append(
                {
                    "key": "start",
                    "title": {"de": "Start"},
                    "fields": [{"key": "hinweis", "type": "info", "label": {"de": "Hinweis"}, "text": {"de": title}}],
                }
            )
        keywords = [
            " ".join((k.text or "").split()) for k in root.findall(self.q("stichwort")) if (k.text or "").strip()
        ]
        self.warnings.append(
            _("Check the trust level, the authentication methods, fees and documents: FIM does not describe them.")
        )
        return {
            "format": FORMAT,
            "identity": {
                "title": {"de": title},
                "description": {"de": self.text_of(root, "beschreibung") or self.text_of(root, "definition")},
                "leika_key": "",
                "ozg_topic": "",
                "keywords": keywords,
                "fim_id": self.identifier(root),
                "fim_version": self.fim_version(root),
            },
            "steps": steps,
            "fees": [],
            "summary_step": True,
            "trust_level": "none",
            "auth_methods": ["none"],
            "payment_required": False,
            "documents": [{"key": "eingangsbestaetigung", "title": {"de": "Eingangsbestätigung"}, "kind": "receipt"}],
        }

    def fim_version(self, element: ET.Element) -> str:
        if self.version == 1:
            return self.text_of(element, "version")
        ident = self.child(element, "identifikation")
        return self.text_of(ident, "version") if ident is not None else ""

    def flatten(
        self, group: ET.Element, prefix: str, optional: bool, used: set[str], depth: int
    ) -> list[dict[str, Any]]:
        if depth > MAX_DEPTH:
            raise FimImportError(_("The groups are nested too deeply."), "too_deep")
        fields: list[dict[str, Any]] = []
        for item, low, high in self.entries(group):
            if _local(item.tag) == "datenfeldgruppe":
                group_id = self.check_element(item)
                if high is None or high > 1:
                    fields.append(self.repeating_group(item, group_id, low, high, used, depth + 1, prefix))
                else:
                    fields.extend(
                        self.flatten(item, f"{prefix}{self.label(item)} – ", optional or low == 0, used, depth + 1)
                    )
            else:
                fields.extend(self.field_entry(item, prefix, low, high, optional, used))
        return fields

    def repeating_group(
        self,
        group: ET.Element,
        group_id: str,
        low: int,
        high: int | None,
        used: set[str],
        depth: int,
        prefix: str = "",
    ) -> dict[str, Any]:
        inner_keys: set[str] = set()
        return {
            "key": self.unique_key(group_id, used),
            "type": "repeating_group",
            "label": {"de": prefix + self.label(group)},
            "required": low >= 1,
            "min_items": low,
            "max_items": high,
            "fields": self.flatten(group, "", False, inner_keys, depth + 1),
        }

    def field_entry(
        self, element: ET.Element, prefix: str, low: int, high: int | None, optional: bool, used: set[str]
    ) -> list[dict[str, Any]]:
        field_id = self.check_element(element)
        converted = self.field(element, field_id, prefix, low >= 1 and not optional, used)
        if converted is None:
            return []
        if (high is None or high > 1) and converted.get("type") != "info":
            # A field that may occur several times becomes a repeating group holding that one field.
            inner = {**converted, "key": "wert", "required": True}
            return [
                {
                    "key": converted["key"],
                    "type": "repeating_group",
                    "label": converted["label"],
                    "required": low >= 1 and not optional,
                    "min_items": low,
                    "max_items": high,
                    "fields": [inner],
                }
            ]
        return [converted]

    def field(
        self, element: ET.Element, field_id: str, prefix: str, required: bool, used: set[str]
    ) -> dict[str, Any] | None:
        feldart = self.code_of(element, "feldart") or "input"
        datentyp = self.code_of(element, "datentyp") or "text"
        label = prefix + self.label(element)
        result: dict[str, Any] = {"key": self.unique_key(field_id, used), "label": {"de": label}}
        help_text = self.text_of(element, "hilfetextEingabe")
        if help_text:
            result["help"] = {"de": help_text}
        if feldart == "hidden":
            used.discard(result["key"])
            self.warnings.append(_("Hidden field %(id)s “%(name)s” was left out.") % {"id": field_id, "name": label})
            return None
        if feldart in ("label", "locked"):
            result["type"] = "info"
            result["text"] = {"de": self.text_of(element, "inhalt") or label}
            return result
        result["required"] = required
        if feldart == "select":
            options = self.options(element)
            if options:
                result["type"] = "select"
                result["options"] = options
            else:
                self.code_list_field(element, field_id, label, result)
        elif datentyp == "bool":
            result["type"] = "checkbox" if feldart == "checkbox" else "yes_no"
        elif datentyp == "date":
            result["type"] = "date"
        elif datentyp in ("num", "num_int", "num_currency"):
            result["type"] = "number"
        elif datentyp in ("file", "obj"):
            result["type"] = "file"
            result["accept"] = self.media_types(element, field_id, label)
            result["max_bytes"] = self.max_size(element, field_id, label)
        elif datentyp in ("text", "string", "text_latin"):
            result["type"] = "long_text" if feldart == "textarea" else "text"
        else:
            self.warnings.append(
                _("Field %(id)s “%(name)s” has the data type “%(type)s”; it was imported as a text field.")
                % {"id": field_id, "name": label, "type": datentyp}
            )
            result["type"] = "text"
        validation = self.precision(element, result["type"], field_id)
        if datentyp == "num_int" and result["type"] == "number":
            validation["integer"] = True
        if validation:
            result["validation"] = validation
        return result

    def code_list_reference(self, element: ET.Element) -> tuple[str, str, str]:
        """(canonical URI, version, canonical version URI) of the field's code list reference (2 and 3)."""
        reference = self.child(element, "codelisteReferenz")

        def find(name: str) -> str:
            found = reference.find(f".//{self.q(name)}") if reference is not None else None
            return " ".join((found.text or "").split()) if found is not None else ""

        uri = find("canonicalIdentification") or find("canonicalUri")
        return uri, find("version"), find("canonicalVersionUri")

    def code_list_field(self, element: ET.Element, field_id: str, label: str, result: dict[str, Any]) -> None:
        """A select whose values are a code list: a real select when the list has been imported, else text."""
        uri, version, version_uri = self.code_list_reference(element)
        found = (
            self.code_lists(
                uri, version, version_uri, self.text_of(element, "codeKey"), self.text_of(element, "nameKey")
            )
            if uri and self.code_lists is not None
            else None
        )
        if found is not None and found[0]:
            options, used = found
            result["type"] = "select"
            result["options"] = options
            result["code_list"] = used
            wanted = version_uri or (f"{uri}_{version}" if version else "")
            if wanted and used != wanted:
                self.warnings.append(
                    _("Field %(id)s “%(name)s” refers to %(wanted)s; the imported version %(used)s was used.")
                    % {"id": field_id, "name": label, "wanted": wanted[:150], "used": used[:150]}
                )
            return
        reference = uri or self.text_of(element, "codelisteReferenz") or "?"
        self.warnings.append(
            _(
                "Field %(id)s “%(name)s” uses the code list %(list)s, whose values are not in the file; "
                "it was imported as a text field. Add the options by hand."
            )
            % {"id": field_id, "name": label, "list": reference[:120]}
        )
        result["type"] = "text"
        # Visible in the designer and the form until someone imports the list or adds options.
        # The definition's texts are German ({"de": …}) whatever language the designer uses.
        with translation.override("de"):
            note = _("Note: the code list %(list)s is not available; please enter the value as text.") % {
                "list": reference[:150]
            }
        help_text = (result.get("help") or {}).get("de", "")
        result["help"] = {"de": f"{help_text}\n{note}".strip()}

    def media_types(self, element: ET.Element, field_id: str, label: str) -> list[str]:
        """XDatenfelder 3 ``mediaType`` (may repeat) → the accepted types; the default set when none is given.

        Only types whose content the portal recognises can be accepted (an upload's type is read
        from its bytes); others are named in a warning, and when none is left the default set applies.
        """
        declared = [" ".join((node.text or "").split()).lower() for node in element.findall(self.q("mediaType"))]
        declared = [value for value in dict.fromkeys(declared) if value]
        if not declared:
            return list(DEFAULT_ACCEPT)
        known = [value for value in declared if value in RECOGNISED_MEDIA_TYPES]
        unknown = [value for value in declared if value not in RECOGNISED_MEDIA_TYPES]
        if unknown:
            self.warnings.append(
                _(
                    "Upload field %(id)s “%(name)s”: the file types %(types)s cannot be recognised by their content "
                    "and are not accepted."
                )
                % {"id": field_id, "name": label, "types": ", ".join(unknown)[:200]}
            )
        return known or list(DEFAULT_ACCEPT)

    def max_size(self, element: ET.Element, field_id: str, label: str) -> int:
        """XDatenfelder 3 ``maxSize`` (bytes) → ``max_bytes``; above the platform's limit it is cut, with a warning."""
        raw = self.text_of(element, "maxSize")
        if not raw:
            return DEFAULT_MAX_BYTES
        if not raw.isdigit() or int(raw) < 1:
            self.warnings.append(
                _("Upload field %(id)s “%(name)s” has the size limit “%(value)s”, which is not a number of bytes; "
                  "%(mb)s MB apply.")
                % {"id": field_id, "name": label, "value": raw[:40], "mb": DEFAULT_MAX_BYTES // (1024 * 1024)}
            )  # fmt: skip
            return DEFAULT_MAX_BYTES
        value = int(raw)
        if value > PLATFORM_MAX_BYTES:
            self.warnings.append(
                _("Upload field %(id)s “%(name)s” allows %(size)s MB; the portal accepts at most %(max)s MB per file.")
                % {
                    "id": field_id,
                    "name": label,
                    "size": round(value / (1024 * 1024), 1),
                    "max": round(PLATFORM_MAX_BYTES / (1024 * 1024), 1),
                }
            )
            return PLATFORM_MAX_BYTES
        if value < SMALL_LIMIT_BYTES:
            # XDatenfelder gives bytes (the FIM editors' style sheets show maxSize / 1 000 000 as MB); a
            # limit this small usually means the schema's author thought in kilobytes.
            self.warnings.append(
                _("Upload field %(id)s “%(name)s” allows only %(bytes)s bytes per file (XDatenfelder gives "
                  "maxSize in bytes); check whether the schema meant kilobytes.")
                % {"id": field_id, "name": label, "bytes": value}
            )  # fmt: skip
        return value

    def options(self, element: ET.Element) -> list[dict[str, Any]]:
        options: list[dict[str, Any]] = []
        seen: set[str] = set()
        werte = self.child(element, "werte")
        if werte is None:
            return options
        for wert in werte.findall(self.q("wert")):
            value = self.text_of(wert, "code")
            if not value or value in seen:
                continue
            seen.add(value)
            option: dict[str, Any] = {"value": value, "label": {"de": self.text_of(wert, "name") or value}}
            options.append(option)
        return options

    def precision(self, element: ET.Element, kind: str, field_id: str) -> dict[str, Any]:
        node = self.child(element, "praezisierung")
        if node is None:
            return {}
        raw: dict[str, Any] = dict(node.attrib)
        content = (node.text or "").strip()
        if content.startswith("{") and len(content) < 5000:
            try:
                parsed = loads_limited(content)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                raw.update(parsed)
            else:
                self.warnings.append(
                    _("The precision of field %(id)s could not be read and was ignored.") % {"id": field_id}
                )
        validation: dict[str, Any] = {}

        def number(name: str) -> float | int | None:
            value = raw.get(name)
            try:
                parsed = float(str(value).replace(",", "."))
            except ValueError:
                return None
            if parsed != parsed or parsed in (float("inf"), float("-inf")):
                return None
            return int(parsed) if parsed.is_integer() else parsed

        if kind in ("text", "long_text"):
            for source, target in (("minLength", "min_length"), ("maxLength", "max_length")):
                value = number(source) if source in raw else None
                if isinstance(value, int) and value >= 0:
                    validation[target] = value
            pattern = raw.get("pattern")
            if isinstance(pattern, str) and pattern:
                problem = pattern_problem(pattern)
                if problem is None:
                    validation["pattern"] = pattern
                else:
                    self.warnings.append(
                        _("The pattern of field %(id)s was left out: %(reason)s") % {"id": field_id, "reason": problem}
                    )
        if kind == "number":
            for source, target in (("minValue", "min"), ("maxValue", "max")):
                value = number(source) if source in raw else None
                if value is not None:
                    validation[target] = value
        if (
            "min_length" in validation
            and "max_length" in validation
            and validation["min_length"] > validation["max_length"]
        ) or ("min" in validation and "max" in validation and validation["min"] > validation["max"]):
            self.warnings.append(_("Contradictory bounds of field %(id)s were left out.") % {"id": field_id})
            return {}
        return validation


def _parse(xml_bytes: bytes) -> ET.Element:
    if not isinstance(xml_bytes, bytes | bytearray):
        raise FimImportError(_("The FIM schema must be given as bytes."), "not_xml")
    if len(xml_bytes) > MAX_XML_BYTES:
        raise FimImportError(
            _("The file is larger than %(size)s MB.") % {"size": MAX_XML_BYTES // (1024 * 1024)}, "too_large"
        )
    upper = bytes(xml_bytes).upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise FimImportError(_("Files with a DTD or entity declarations are not accepted."), "forbidden_dtd")
    try:
        return ET.fromstring(bytes(xml_bytes))  # noqa: S314 - DTDs and entities are rejected above
    except ET.ParseError as error:
        raise FimImportError(_("The file is not well-formed XML: %(error)s") % {"error": error}, "not_xml") from error


def import_xdatenfelder(xml_bytes: bytes, code_lists: CodeListLookup | None = None) -> ImportResult:
    """Convert an XDatenfelder 1, 2 or 3 schema into a draft definition plus warnings.

    Raises :class:`FimImportError` (with ``code``) for anything that is not a
    well-formed, supported schema.
    """
    root = _parse(xml_bytes)
    match = re.match(r"^\{([^}]*)\}(.*)$", root.tag)
    namespace, name = (match.group(1), match.group(2)) if match else ("", root.tag)
    version = NAMESPACES.get(namespace)
    if version is None:
        raise FimImportError(
            _("Unknown namespace “%(namespace)s”: this is not an XDatenfelder 1, 2 or 3 schema.")
            % {"namespace": namespace or "–"},
            "unknown_namespace",
        )
    importer = _Importer(namespace, version, code_lists)
    if name.startswith("xdatenfelder.stammdatenschema."):
        element = importer.child(root, "stammdatenschema")
    elif name.startswith("xdatenfelder.datenfeldgruppe."):
        element = importer.child(root, "datenfeldgruppe")
    else:
        raise FimImportError(
            _("The message type “%(name)s” cannot be imported; expected a Stammdatenschema or a Datenfeldgruppe.")
            % {"name": name},
            "unsupported_message",
        )
    if element is None:
        raise FimImportError(_("The message “%(name)s” contains no schema.") % {"name": name}, "missing_element")
    definition = importer.convert(element)
    if version == 1:
        importer.warnings.insert(0, _("Imported from XDatenfelder 1; check the result carefully."))
    return ImportResult(definition=definition, warnings=importer.warnings)
