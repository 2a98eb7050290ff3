"""Vocabulary of the ``dikom.service/1`` format and helpers to walk a definition."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

FORMAT = "dikom.service/1"

FIELD_TYPES = (
    "text",
    "long_text",
    "number",
    "date",
    "email",
    "phone",
    "iban",
    "postcode",
    "address",
    "select",
    "multi_select",
    "checkbox",
    "yes_no",
    "file",
    "repeating_group",
    "info",
)
#: Field types that collect no answer.
DISPLAY_ONLY_TYPES = frozenset({"info"})
TRUST_LEVELS = ("none", "low", "substantial", "high")
AUTH_METHODS = ("bundid", "elster", "eid", "eu_wallet", "organisation_account", "none")
#: The highest trust level (eIDAS) each authentication method can reach.
AUTH_METHOD_TRUST = {
    "none": "none",
    "bundid": "high",  # BundID with the online ID card; username/password reaches only "low"
    "elster": "substantial",
    "eid": "high",
    "eu_wallet": "high",
    "organisation_account": "substantial",
}
DOCUMENT_KINDS = ("receipt", "decision")
LEIKA_PATTERN = r"^99\d{12}$"
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
#: Hard upper limit for one uploaded file.
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_PATTERN_LENGTH = 500
LANGUAGES = ("de", "en")


def text(value: Any, language: str = "de") -> str:
    """The text of a translated value (``{"de": …, "en": …}``), falling back to German."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        chosen = value.get(language) or value.get("de") or ""
        return chosen if isinstance(chosen, str) else ""
    return ""


@dataclass(frozen=True)
class FieldRef:
    """A field found while walking a definition."""

    step_index: int
    step: dict[str, Any]
    field: dict[str, Any]
    path: str  # e.g. "steps[0].fields[2].fields[1]"
    variable: str  # e.g. "antragsteller.kinder.vorname"
    group: dict[str, Any] | None  # the enclosing repeating group, if any


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def iter_steps(data: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    steps = data.get("steps") if isinstance(data, dict) else None
    for index, step in enumerate(_as_list(steps)):
        if isinstance(step, dict):
            yield index, step


def iter_fields(data: Any) -> Iterator[FieldRef]:
    """Every field of every step, depth-first, including fields inside repeating groups."""
    for step_index, step in iter_steps(data):
        step_key = str(step.get("key", ""))
        yield from _walk_fields(step_index, step, step.get("fields"), f"steps[{step_index}]", step_key, None)


def _walk_fields(
    step_index: int,
    step: dict[str, Any],
    fields: Any,
    prefix: str,
    variable_prefix: str,
    group: dict[str, Any] | None,
) -> Iterator[FieldRef]:
    for index, field in enumerate(_as_list(fields)):
        if not isinstance(field, dict):
            continue
        path = f"{prefix}.fields[{index}]"
        variable = f"{variable_prefix}.{field.get('key', '')}"
        yield FieldRef(step_index, step, field, path, variable, group)
        if field.get("type") == "repeating_group":
            yield from _walk_fields(step_index, step, field.get("fields"), path, variable, field)
