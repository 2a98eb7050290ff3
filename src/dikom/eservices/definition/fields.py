"""Server-side validation of a citizen's answers to one step.

The portal posts the raw values of a step (strings from an HTML form, or JSON
values) and gets back the cleaned values and the messages to show next to each
field. Visibility is respected: hidden fields are never required and their
values are discarded.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from . import logic
from .schema import DISPLAY_ONLY_TYPES, text

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{2,63}$")
# Lenient international phone numbers: optional +, digits, spaces, slashes, dashes, dots, one pair of brackets.
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()/.\-]{5,30}$")
POSTCODE_PATTERN = re.compile(r"^\d{5}$")
IBAN_PATTERN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
# Length of the IBAN per country for the countries of the SEPA area most often seen here.
IBAN_LENGTHS = {
    "DE": 22, "AT": 20, "CH": 21, "NL": 18, "BE": 16, "FR": 27, "LU": 20, "IT": 27, "ES": 24,
    "PL": 28, "DK": 18, "CZ": 24, "GB": 22, "IE": 22, "PT": 25, "SE": 24, "NO": 15, "FI": 18,
}  # fmt: skip
TRUE_VALUES = {True, "true", "on", "1", "yes", "ja"}
FALSE_VALUES = {False, "false", "off", "0", "no", "nein", "", None}
MAX_TEXT = 10_000
DATE_BOUND = re.compile(r"^today(?:([+-])(\d{1,5}))?$")


@dataclass
class CleanResult:
    """Cleaned values (hidden fields removed) and the messages per field key."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not value
    if isinstance(value, dict):
        return all(is_empty(v) for v in value.values())
    return False


def iban_is_valid(value: str) -> bool:
    """Format, country length and ISO 13616 mod-97 checksum."""
    iban = re.sub(r"\s+", "", value).upper()
    if not IBAN_PATTERN.match(iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(digits) % 97 == 1


def resolve_date_bound(bound: str, today: dt.date) -> dt.date | None:
    match = DATE_BOUND.match(bound)
    if match:
        sign, days = match.groups()
        offset = int(days or 0) * (-1 if sign == "-" else 1)
        return today + dt.timedelta(days=offset)
    try:
        return dt.date.fromisoformat(bound)
    except ValueError:
        return None


def parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    value = value.strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, pattern).date()  # noqa: DTZ007 - a date, no time of day
        except ValueError:
            continue
    return None


def parse_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    cleaned = value.strip().replace(" ", "")
    if "," in cleaned:  # German notation: 1.234,5
        cleaned = cleaned.replace(".", "").replace(",", ".")
    if not re.match(r"^[+-]?\d{1,15}(\.\d{1,6})?$", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def _rule_true(rule: Any, context: dict[str, Any], today: dt.date, default: bool) -> bool:
    if rule is None:
        return default
    try:
        return logic.truthy(logic.evaluate(rule, context, today=today))
    except logic.LogicError:
        # a rule that cannot be evaluated on incomplete answers counts as not met
        return False


class _Cleaner:
    def __init__(self, step_key: str, today: dt.date) -> None:
        self.step_key = step_key
        self.today = today

    def clean_fields(
        self, fields: list[dict[str, Any]], answers: dict[str, Any], scope: dict[str, Any], prefix: str
    ) -> CleanResult:
        result = CleanResult()
        for spec in fields:
            if not isinstance(spec, dict) or spec.get("type") in DISPLAY_ONLY_TYPES:
                continue
            key = str(spec.get("key"))
            if not _rule_true(spec.get("visible_if"), scope, self.today, True):
                continue  # hidden: not required, value discarded
            value = answers.get(key)
            required = spec.get("required") is True or (
                spec.get("required_if") is not None and _rule_true(spec.get("required_if"), scope, self.today, False)
            )
            messages: list[str] = []
            if spec.get("type") == "repeating_group":
                cleaned, nested = self.clean_group(spec, value, required, scope)
                messages.extend(nested.pop("", []))
                for nested_key, nested_messages in nested.items():
                    result.errors[f"{prefix}{key}{nested_key}"] = nested_messages
                result.values[key] = cleaned
            elif is_empty(value) and spec.get("type") != "checkbox":
                if required:
                    messages.append(_("This field is required."))
            else:
                cleaned_value, problems = clean_value(spec, value, self.today)
                messages.extend(problems)
                if required and spec.get("type") == "checkbox" and cleaned_value is not True:
                    messages.append(_("Please tick this box to continue."))
                result.values[key] = cleaned_value
            if messages:
                result.errors[f"{prefix}{key}"] = messages
        return result

    def clean_group(
        self, spec: dict[str, Any], value: Any, required: bool, scope: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
        errors: dict[str, list[str]] = {}
        items = value if isinstance(value, list) else []
        items = [item for item in items if isinstance(item, dict) and not is_empty(item)]
        minimum = spec.get("min_items") or (1 if required else 0)
        maximum = spec.get("max_items")
        if len(items) < minimum:
            errors[""] = [_("Please add at least %(count)s entries.") % {"count": minimum}]
        if isinstance(maximum, int) and len(items) > maximum:
            errors[""] = [_("Please add at most %(count)s entries.") % {"count": maximum}]
        cleaned_items: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            # rules inside the group see the current entry under the group's variable name
            step_values = scope.get(self.step_key)
            step_values = dict(step_values) if isinstance(step_values, dict) else {}
            step_values[str(spec.get("key"))] = item
            item_scope = {**scope, self.step_key: step_values}
            nested = self.clean_fields(spec.get("fields") or [], item, item_scope, "")
            cleaned_items.append(nested.values)
            for key, messages in nested.errors.items():
                errors[f"[{index}].{key}"] = messages
        return cleaned_items, errors


def clean_value(spec: dict[str, Any], value: Any, today: dt.date) -> tuple[Any, list[str]]:
    """Clean one non-empty value according to its field spec; return (value, messages)."""
    kind = spec.get("type")
    rules = spec.get("validation") if isinstance(spec.get("validation"), dict) else {}
    assert isinstance(rules, dict)  # noqa: S101 - narrowing for mypy
    if kind in ("text", "long_text", "email", "phone", "iban", "postcode"):
        if not isinstance(value, str):
            return None, [_("Please enter a text.")]
        value = value.strip()
        if len(value) > MAX_TEXT:
            return None, [_("The text is too long.")]
    if kind in ("text", "long_text"):
        messages = []
        if isinstance(rules.get("min_length"), int) and len(value) < rules["min_length"]:
            messages.append(_("Please enter at least %(count)s characters.") % {"count": rules["min_length"]})
        if isinstance(rules.get("max_length"), int) and len(value) > rules["max_length"]:
            messages.append(_("Please enter at most %(count)s characters.") % {"count": rules["max_length"]})
        pattern = rules.get("pattern")
        if isinstance(pattern, str) and len(value) <= 1000:
            try:
                if not re.fullmatch(pattern, value):
                    messages.append(
                        text(rules.get("pattern_message")) or _("The input does not have the expected form.")
                    )
            except re.error:
                pass  # an invalid pattern is caught by validate_definition before release
        return value, messages
    if kind == "email":
        if not EMAIL_PATTERN.match(value):
            return value, [_("Please enter a valid e-mail address.")]
        return value, []
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        if not PHONE_PATTERN.match(value) or not 5 <= len(digits) <= 15 or value.count("+") > 1:
            return value, [_("Please enter a valid phone number.")]
        return value, []
    if kind == "iban":
        iban = re.sub(r"\s+", "", value).upper()
        if not iban_is_valid(iban):
            return value, [_("Please enter a valid IBAN.")]
        return iban, []
    if kind == "postcode":
        if not POSTCODE_PATTERN.match(value):
            return value, [_("Please enter a valid German postcode (5 digits).")]
        return value, []
    if kind == "number":
        number = parse_number(value)
        if number is None:
            return None, [_("Please enter a number.")]
        messages = []
        if isinstance(rules.get("min"), int | float) and number < Decimal(str(rules["min"])):
            messages.append(_("Please enter a number of at least %(min)s.") % {"min": rules["min"]})
        if isinstance(rules.get("max"), int | float) and number > Decimal(str(rules["max"])):
            messages.append(_("Please enter a number of at most %(max)s.") % {"max": rules["max"]})
        as_int = int(number) if number == number.to_integral_value() else float(number)
        return as_int, messages
    if kind == "date":
        day = parse_date(value)
        if day is None:
            return None, [_("Please enter a valid date (DD.MM.YYYY).")]
        messages = []
        low = resolve_date_bound(rules["min_date"], today) if isinstance(rules.get("min_date"), str) else None
        high = resolve_date_bound(rules["max_date"], today) if isinstance(rules.get("max_date"), str) else None
        if low and day < low:
            messages.append(_("The date must not be before %(date)s.") % {"date": low.strftime("%d.%m.%Y")})
        if high and day > high:
            messages.append(_("The date must not be after %(date)s.") % {"date": high.strftime("%d.%m.%Y")})
        return day.isoformat(), messages
    if kind == "select":
        allowed = [o.get("value") for o in spec.get("options") or [] if isinstance(o, dict)]
        if value not in allowed:
            return None, [_("Please choose one of the offered options.")]
        return value, []
    if kind == "multi_select":
        allowed = [o.get("value") for o in spec.get("options") or [] if isinstance(o, dict)]
        chosen = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) and v in allowed for v in chosen):
            return None, [_("Please choose only offered options.")]
        return [v for v in allowed if v in chosen], []  # option order, no duplicates
    if kind == "checkbox":
        if value in TRUE_VALUES:
            return True, []
        if value in FALSE_VALUES:
            return False, []
        return None, [_("Invalid value.")]
    if kind == "yes_no":
        if value in (True, "yes", "ja"):
            return "yes", []
        if value in (False, "no", "nein"):
            return "no", []
        return None, [_("Please answer yes or no.")]
    if kind == "address":
        return clean_address(value)
    if kind == "file":
        return clean_file(spec, value)
    return None, [_("Invalid value.")]


def clean_address(value: Any) -> tuple[Any, list[str]]:
    if not isinstance(value, dict):
        return None, [_("Please enter a complete address.")]
    cleaned = {
        name: str(value.get(name) or "").strip()[:200] for name in ("street", "house_number", "postcode", "city")
    }
    messages = []
    if not cleaned["street"] or not cleaned["city"] or not cleaned["postcode"]:
        messages.append(_("Please enter street, postcode and city."))
    if cleaned["postcode"] and not POSTCODE_PATTERN.match(cleaned["postcode"]):
        messages.append(_("Please enter a valid German postcode (5 digits)."))
    return cleaned, messages


def clean_file(spec: dict[str, Any], value: Any) -> tuple[Any, list[str]]:
    """Check the metadata of an uploaded file: ``{"name", "size", "content_type"}``.

    The portal determines ``content_type`` from the file's content (not its
    name) before calling this, and runs the virus-scan hook.
    """
    if not isinstance(value, dict) or not isinstance(value.get("size"), int):
        return None, [_("Please upload a file.")]
    messages = []
    accept = spec.get("accept") or []
    if accept and value.get("content_type") not in accept:
        messages.append(_("This file type is not allowed. Allowed: %(types)s.") % {"types": ", ".join(accept)})
    max_bytes = spec.get("max_bytes")
    if isinstance(max_bytes, int) and value["size"] > max_bytes:
        messages.append(
            _("The file is too large (at most %(size)s MB).") % {"size": round(max_bytes / (1024 * 1024), 1)}
        )
    return value, messages


def clean_answers(
    step: dict[str, Any],
    answers: dict[str, Any],
    *,
    all_answers: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> CleanResult:
    """Validate and clean the answers of one step.

    ``all_answers`` holds the answers of the other steps (``{step_key: {field: value}}``)
    so rules can refer to earlier steps; this step's answers are put in under
    its key. Errors of fields inside repeating groups are keyed ``group[0].field``.
    """
    if today is None:
        today = dt.datetime.now(tz=logic.TIMEZONE).date()
    answers = answers if isinstance(answers, dict) else {}
    context = dict(all_answers or {})
    context[str(step.get("key"))] = answers
    cleaner = _Cleaner(str(step.get("key")), today)
    return cleaner.clean_fields(step.get("fields") or [], answers, context, "")


def validate_answers(
    step: dict[str, Any],
    answers: dict[str, Any],
    *,
    all_answers: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> dict[str, list[str]]:
    """Messages per field key for the answers of one step; empty dict = all fine."""
    return clean_answers(step, answers, all_answers=all_answers, today=today).errors


__all__ = ["CleanResult", "clean_answers", "iban_is_valid", "validate_answers"]
