"""The citizen's view of a step as the designer and the review page show it (live preview),
and the language helpers of the service library's pages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

INPUT_TYPES = {
    "text": "text",
    "email": "email",
    "phone": "tel",
    "number": "text",
    "date": "date",
    "iban": "text",
    "postcode": "text",
}


def _t(value: Any, language: str | None = None) -> str:
    from dikom.eservices.definition.schema import text

    return text(value, language or _language())


def _language() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


@dataclass
class PreviewField:
    id: str
    path: str
    type: str
    label: str
    help: str = ""
    text: str = ""
    required: bool = False
    required_rule: str = ""
    visible_rule: str = ""
    input_type: str = "text"
    inputmode: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    accept: str = ""
    max_mb: str = ""
    hints: list[str] = field(default_factory=list)
    fields: list[PreviewField] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)
    comments: list[Any] = field(default_factory=list)
    edit_url: str = ""
    locator: str = ""


@dataclass
class PreviewStep:
    index: int
    path: str
    key: str
    title: str
    visible_rule: str
    fields: list[PreviewField]
    problems: list[Any] = field(default_factory=list)
    comments: list[Any] = field(default_factory=list)
    edit_url: str = ""


def _compact(rule: Any) -> str:
    return json.dumps(rule, ensure_ascii=False) if rule is not None else ""


def _preview_fields(fields: Any, path: str, id_prefix: str, language: str) -> list[PreviewField]:
    result = []
    for index, spec in enumerate(fields if isinstance(fields, list) else []):
        if not isinstance(spec, dict):
            continue
        field_path = f"{path}.fields[{index}]"
        kind = str(spec.get("type", "text"))
        validation: dict[str, Any] = spec["validation"] if isinstance(spec.get("validation"), dict) else {}
        hints = []
        if validation.get("min") is not None or validation.get("max") is not None:
            hints.append(
                _("From %(min)s to %(max)s") % {"min": validation.get("min", "…"), "max": validation.get("max", "…")}
            )
        if validation.get("max_length"):
            hints.append(_("At most %(n)s characters") % {"n": validation["max_length"]})
        if validation.get("min_date") or validation.get("max_date"):
            hints.append(
                _("Date between %(min)s and %(max)s")
                % {"min": validation.get("min_date", "…"), "max": validation.get("max_date", "…")}
            )
        max_bytes = spec.get("max_bytes")
        item = PreviewField(
            id=f"{id_prefix}-{spec.get('key', index)}",
            path=field_path,
            type=kind,
            label=_t(spec.get("label"), language),
            help=_t(spec.get("help"), language),
            text=_t(spec.get("text"), language),
            required=spec.get("required") is True,
            required_rule=_compact(spec.get("required_if")),
            visible_rule=_compact(spec.get("visible_if")),
            input_type=INPUT_TYPES.get(kind, "text"),
            inputmode={"number": "decimal", "postcode": "numeric"}.get(kind, ""),
            options=[
                (str(o.get("value", "")), _t(o.get("label"), language) or str(o.get("value", "")))
                for o in spec.get("options") or []
                if isinstance(o, dict)
            ],
            accept=",".join(a for a in spec.get("accept") or [] if isinstance(a, str)),
            max_mb=f"{max_bytes / (1024 * 1024):.1f}".replace(".0", "") if isinstance(max_bytes, int) else "",
            hints=hints,
        )
        if kind == "repeating_group":
            item.fields = _preview_fields(spec.get("fields"), field_path, item.id, language)
        result.append(item)
    return result


def preview_steps(content: Any, language: str | None = None) -> list[PreviewStep]:
    language = language or _language()
    steps = []
    for index, step in enumerate(content.get("steps") or [] if isinstance(content, dict) else []):
        if not isinstance(step, dict):
            continue
        path = f"steps[{index}]"
        steps.append(
            PreviewStep(
                index=index,
                path=path,
                key=str(step.get("key", "")),
                title=_t(step.get("title"), language) or str(step.get("key", "")),
                visible_rule=_compact(step.get("visible_if")),
                fields=_preview_fields(step.get("fields"), path, f"preview-{index}", language),
            )
        )
    return steps


def _walk_preview(fields: list[PreviewField]) -> list[PreviewField]:
    result = []
    for item in fields:
        result.append(item)
        result.extend(_walk_preview(item.fields))
    return result


def _attach(steps: list[PreviewStep], items: list[Any], attribute: str) -> list[Any]:
    """Put problems or comments (objects with ``path``) next to the step or field they concern;
    returns those that concern neither (the whole definition, identity, fees, settings)."""
    by_path: dict[str, Any] = {}
    for step in steps:
        by_path[step.path] = step
        for item in _walk_preview(step.fields):
            by_path[item.path] = item
    rest = []
    for item in items:
        path = item.path
        target = None
        while path and target is None:
            target = by_path.get(path)
            path = path.rsplit(".", 1)[0] if "." in path else ""
        if target is None:
            rest.append(item)
        else:
            getattr(target, attribute).append(item)
    return rest
