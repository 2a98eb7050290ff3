"""Reading a step's fields from an HTML form and preparing them for the template."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils import timezone

from dikom.eservices.definition import logic
from dikom.eservices.definition.schema import text


def today() -> dt.date:
    return timezone.localdate()


def steps_of(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in content.get("steps") or [] if isinstance(s, dict)]


def step_visible(step: dict[str, Any], answers: dict[str, Any]) -> bool:
    rule = step.get("visible_if")
    if rule is None:
        return True
    try:
        return logic.truthy(logic.evaluate(rule, answers, today=today()))
    except logic.LogicError:
        return False  # a rule that fails on incomplete answers counts as not met


def visible_numbers(content: dict[str, Any], answers: dict[str, Any]) -> list[int]:
    """1-based numbers of the steps currently visible."""
    return [n for n, step in enumerate(steps_of(content), start=1) if step_visible(step, answers)]


def html_name(prefix: str, key: str) -> str:
    return f"{prefix}{key}"


def _field_visible(spec: dict[str, Any], scope: dict[str, Any]) -> bool:
    rule = spec.get("visible_if")
    if rule is None:
        return True
    try:
        return logic.truthy(logic.evaluate(rule, scope, today=today()))
    except logic.LogicError:
        return False


def parse_fields(
    fields: list[dict[str, Any]], data: QueryDict, prefix: str, previous: dict[str, Any]
) -> dict[str, Any]:
    """The raw answers of ``fields`` from form data (files are merged in by the view)."""
    values: dict[str, Any] = {}
    for spec in fields:
        kind = spec.get("type")
        key = str(spec.get("key"))
        name = html_name(prefix, key)
        if kind == "info":
            continue
        if kind == "multi_select":
            values[key] = data.getlist(name)
        elif kind == "checkbox":
            values[key] = data.get(name) == "on"
        elif kind == "address":
            values[key] = {
                part: data.get(f"{name}-{part}", "") for part in ("street", "house_number", "postcode", "city")
            }
        elif kind == "file":
            if previous.get(key) and data.get(f"{name}-remove") != "on":
                values[key] = previous[key]  # keep the earlier upload unless a new one arrives
        elif kind == "repeating_group":
            try:
                count = min(max(int(data.get(f"{name}-count", "0")), 0), 200)
            except ValueError:
                count = 0
            earlier = previous.get(key)
            before: list[Any] = earlier if isinstance(earlier, list) else []
            items = []
            for index in range(count):
                old = before[index] if index < len(before) and isinstance(before[index], dict) else {}
                items.append(parse_fields(spec.get("fields") or [], data, f"{name}-{index}-", old))
            values[key] = items
        else:
            raw = data.get(name)
            values[key] = raw if raw is not None else ""
    return values


@dataclass
class BoundField:
    """One field as the template shows it."""

    spec: dict[str, Any]
    name: str
    id: str
    label: str
    help: str
    required: bool
    value: Any
    errors: list[str]
    options: list[dict[str, str]] = field(default_factory=list)
    items: list[list[BoundField]] = field(default_factory=list)  # repeating groups
    item_errors: list[list[str]] = field(default_factory=list)
    can_add: bool = True
    file_name: str = ""

    @property
    def type(self) -> str:
        return str(self.spec.get("type"))

    @property
    def text(self) -> str:
        return text(self.spec.get("text"), self.language)

    language: str = "de"

    @property
    def described_by(self) -> str:
        ids = []
        if self.help:
            ids.append(f"{self.id}-help")
        if self.errors:
            ids.append(f"{self.id}-error")
        return " ".join(ids)

    @property
    def accept(self) -> str:
        return ",".join(self.spec.get("accept") or [])


def bind_fields(
    fields: list[dict[str, Any]],
    values: dict[str, Any],
    errors: dict[str, list[str]],
    scope: dict[str, Any],
    *,
    prefix: str,
    error_prefix: str,
    language: str,
) -> list[BoundField]:
    bound = []
    for spec in fields:
        key = str(spec.get("key"))
        if not _field_visible(spec, scope):
            continue
        name = html_name(prefix, key)
        value = values.get(key)
        kind = spec.get("type")
        item = BoundField(
            spec=spec,
            name=name,
            id=f"id-{name}",
            label=text(spec.get("label"), language),
            help=text(spec.get("help"), language),
            required=spec.get("required") is True,
            value=value,
            errors=errors.get(f"{error_prefix}{key}", []),
            language=language,
        )
        if kind in ("select", "multi_select"):
            item.options = [
                {"value": str(o.get("value")), "label": text(o.get("label"), language) or str(o.get("value"))}
                for o in spec.get("options") or []
                if isinstance(o, dict)
            ]
        if kind == "yes_no":
            item.options = [{"value": "yes", "label": "yes"}, {"value": "no", "label": "no"}]
        if kind == "file" and isinstance(value, dict):
            item.file_name = str(value.get("name") or "")
        if kind == "repeating_group":
            entries = value if isinstance(value, list) else []
            for index, entry in enumerate(entries):
                entry = entry if isinstance(entry, dict) else {}
                step_scope = dict(scope)
                item.items.append(
                    bind_fields(
                        spec.get("fields") or [],
                        entry,
                        errors,
                        step_scope,
                        prefix=f"{name}-{index}-",
                        error_prefix=f"{error_prefix}{key}[{index}].",
                        language=language,
                    )
                )
            maximum = spec.get("max_items")
            item.can_add = not (isinstance(maximum, int) and len(entries) >= maximum)
        bound.append(item)
    return bound


def flat_errors(bound: list[BoundField]) -> list[tuple[str, str, str]]:
    """(field id, label, message) for the error summary, in form order."""
    result = []
    for item in bound:
        for message in item.errors:
            result.append((item.id, item.label, message))
        for entry in item.items:
            for sub_id, sub_label, message in flat_errors(entry):
                result.append((sub_id, f"{item.label}: {sub_label}", message))
    return result


def display_value(spec: dict[str, Any], value: Any, language: str) -> str:
    """A readable answer for the summary and the receipt."""
    kind = spec.get("type")
    if value in (None, "", []):
        return "–"
    if kind in ("select", "multi_select"):
        labels = {str(o.get("value")): text(o.get("label"), language) for o in spec.get("options") or []}
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v)) or str(v) for v in chosen)
    if kind == "yes_no":
        return {"yes": "Ja", "no": "Nein"}.get(value, str(value)) if language == "de" else str(value)
    if kind == "checkbox":
        return ("Ja" if value else "Nein") if language == "de" else ("yes" if value else "no")
    if kind == "address" and isinstance(value, dict):
        return f"{value.get('street', '')} {value.get('house_number', '')}, {value.get('postcode', '')} {value.get('city', '')}".strip()
    if kind == "file" and isinstance(value, dict):
        return str(value.get("name") or "")
    if kind == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    return str(value)


def summary_rows(
    fields: list[dict[str, Any]], values: dict[str, Any], language: str, prefix: str = ""
) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for spec in fields:
        kind = spec.get("type")
        key = str(spec.get("key"))
        if kind == "info" or key not in values:
            continue
        label = prefix + text(spec.get("label"), language)
        if kind == "repeating_group":
            for index, entry in enumerate(values.get(key) or [], start=1):
                rows.extend(summary_rows(spec.get("fields") or [], entry or {}, language, f"{label} {index}: "))
        else:
            rows.append((label, display_value(spec, values.get(key), language)))
    return rows
