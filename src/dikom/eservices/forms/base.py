"""What every form of the designer shares: labels, keys, the concurrency check, rules and their variables."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dikom.lib.jsonparse import loads_limited
from dikom.lib.slugs import german_slugify as slugify

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

FIELD_TYPE_LABELS = {
    "text": _("Text"),
    "long_text": _("Long text"),
    "number": _("Number"),
    "date": _("Date"),
    "email": _("E-mail address"),
    "phone": _("Phone number"),
    "iban": _("IBAN"),
    "postcode": _("German postcode"),
    "address": _("Address"),
    "select": _("Selection (one)"),
    "multi_select": _("Selection (several)"),
    "checkbox": _("Checkbox"),
    "yes_no": _("Yes/no question"),
    "file": _("File upload"),
    "repeating_group": _("Repeating group"),
    "info": _("Info text"),
}
TRUST_LEVEL_LABELS = {
    "none": _("None (anonymous)"),
    "low": _("Low"),
    "substantial": _("Substantial"),
    "high": _("High"),
}
AUTH_METHOD_LABELS = {
    "bundid": _("BundID"),
    "elster": _("ELSTER certificate"),
    "eid": _("Online ID card (eID)"),
    "eu_wallet": _("EU digital identity wallet"),
    "organisation_account": _("Organisation account (Mein Unternehmenskonto)"),
    "none": _("None (anonymous use)"),
}
DOCUMENT_KIND_LABELS = {"receipt": _("Receipt"), "decision": _("Decision letter")}


def translated(de: str, en: str) -> dict[str, str]:
    value = {"de": de.strip()}
    if en.strip():
        value["en"] = en.strip()
    return value


def lang(value: Any, language: str) -> str:
    if isinstance(value, dict):
        text = value.get(language)
        return text if isinstance(text, str) else ""
    return value if isinstance(value, str) and language == "de" else ""


def unique_key(base: str, taken: set[Any], fallback: str) -> str:
    key = slugify(base).replace("-", "_")
    key = re.sub(r"[^a-z0-9_]", "", key)[:50] or fallback
    if not key[0].isalpha():
        key = f"{fallback}_{key}"
    candidate, counter = key, 2
    while candidate in taken:
        candidate = f"{key}_{counter}"
        counter += 1
    return candidate


def decimal_input() -> forms.TextInput:
    """A text input for decimal numbers, read in the page's language ("30,00" in German).

    Not ``type="number"``: browsers read a comma there by their own locale, not the page's,
    so "30,00" could arrive as 3000."""
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


class ConcurrencyMixin(forms.Form):
    """Every editor form carries the hash of the content it was shown with: a change made
    meanwhile by a colleague is not silently overwritten."""

    content_hash = forms.CharField(widget=forms.HiddenInput)


def parse_rule(raw: str, label: str, known_variables: set[str] | None) -> Any:
    """A JSON-Logic rule from its text; empty → None. Raises ``ValidationError`` with a clear message."""
    from dikom.eservices.definition import logic

    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        rule = loads_limited(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("%(label)s is not valid JSON (line %(line)s, column %(column)s: %(error)s).")
            % {"label": label, "line": exc.lineno, "column": exc.colno, "error": exc.msg}
        ) from exc
    try:
        names = logic.variables(rule)
    except logic.LogicError as exc:
        raise ValidationError(_("%(label)s is not a valid rule: %(error)s.") % {"label": label, "error": exc}) from exc
    if known_variables is not None:
        unknown = sorted(name for name in names if name not in known_variables)
        if unknown:
            raise ValidationError(
                _("%(label)s refers to fields that do not exist: %(names)s. Use “step.field” keys.")
                % {"label": label, "names": ", ".join(unknown)}
            )
    return rule


def rule_text(rule: Any) -> str:
    return "" if rule is None else json.dumps(rule, ensure_ascii=False, indent=1)


def variables_of(content: Any) -> set[str]:
    from dikom.eservices.definition.schema import iter_fields

    return {ref.variable for ref in iter_fields(content)}


def rename_variables(content: dict[str, Any], old: str, new: str) -> None:
    """After a key changed, rewrite ``{"var": "old…"}`` to ``{"var": "new…"}`` in every rule
    (``old`` is a variable name such as ``step`` or ``step.field``; names below it move along)."""

    def rename_rule(node: Any) -> Any:
        if isinstance(node, list):
            return [rename_rule(item) for item in node]
        if isinstance(node, dict):
            if len(node) == 1 and "var" in node:
                args = node["var"]
                name = args[0] if isinstance(args, list) and args else args
                if isinstance(name, str) and (name == old or name.startswith(old + ".")):
                    renamed = new + name[len(old) :]
                    return {"var": [renamed, *args[1:]] if isinstance(args, list) else renamed}
                return node
            return {key: rename_rule(value) for key, value in node.items()}
        return node

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in RULE_KEYS:
                    node[key] = rename_rule(value)
                else:
                    walk(value)

    walk(content.get("steps"))
    walk(content.get("fees"))


RULE_KEYS = {"visible_if", "required_if", "amount_rule"}
