"""Validation of usage events: a hand-written validator instead of a DRF serializer per item.

A batch holds up to 10 000 events and must be checked in milliseconds.
``validate_event`` turns one decoded JSON value into a clean dict or a list of
field errors (``{"field", "message", "code"}``, the shape of the API's problem
details); ``fast_event`` accepts the common well-formed event with fewer checks
per field and returns ``None`` for anything it is not sure of (then
``validate_event`` decides and explains). Storage is in ``ingest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.translation import gettext

from dikom.analytics.models import (
    AuthMethod,
    Channel,
    DeviceClass,
    EventType,
    PaymentMethod,
)
from dikom.lib.identifiers import CONTROL_MESSAGE, NUL_MESSAGE, has_nul, is_identifier_text

EVENT_TYPES = frozenset(EventType.values)
AUTH_METHODS = frozenset(AuthMethod.values)
PAYMENT_METHODS = frozenset(PaymentMethod.values)
CHANNELS = frozenset(Channel.values)
DEVICE_CLASSES = frozenset(DeviceClass.values)
STEP_TYPES = frozenset({EventType.STEP_VIEWED, EventType.STEP_COMPLETED})
AUTH_TYPES = frozenset({EventType.AUTH_CHOSEN, EventType.AUTH_COMPLETED})
PAYMENT_TYPES = frozenset({EventType.PAYMENT_CHOSEN, EventType.PAYMENT_COMPLETED, EventType.PAYMENT_FAILED})

MAX_KEY_LENGTH = 100
MAX_COMMENT_LENGTH = 2000
MAX_STEP_POSITION = 1000

FIELDS = frozenset(
    {
        "event_id",
        "type",
        "service",
        "occurred_at",
        "visit_id",
        "step_key",
        "step_position",
        "auth_method",
        "payment_method",
        "channel",
        "device_class",
        "rating",
        "comment",
    }
)

FieldError = dict[str, str]


@dataclass(frozen=True)
class Limits:
    """The time window events must fall into, fixed once per batch."""

    earliest: datetime
    latest: datetime

    @classmethod
    def around(cls, now: datetime) -> Limits:
        return cls(
            earliest=now - timedelta(days=settings.DIKOM_ANALYTICS_MAX_EVENT_AGE_DAYS),
            latest=now + timedelta(seconds=settings.DIKOM_ANALYTICS_MAX_FUTURE_SECONDS),
        )


def _error(field: str, message: str, code: str) -> FieldError:
    return {"field": field, "message": message, "code": code}


def _string(
    data: dict[str, Any], name: str, errors: list[FieldError], max_length: int = MAX_KEY_LENGTH, free_text: bool = False
) -> str:
    """An identifier (printable characters only) or, with ``free_text``, text without NUL."""
    value = data.get(name)
    if value is None:
        return ""
    if type(value) is not str:
        errors.append(_error(name, gettext("Must be a string."), "invalid_type"))
        return ""
    if len(value) > max_length:
        errors.append(_error(name, gettext("At most %(n)d characters.") % {"n": max_length}, "max_length"))
        return ""
    if free_text and has_nul(value):
        errors.append(_error(name, str(NUL_MESSAGE), "null_characters_not_allowed"))
        return ""
    if not free_text and not is_identifier_text(value):
        errors.append(_error(name, str(CONTROL_MESSAGE), "control_characters"))
        return ""
    return value


def _choice(data: dict[str, Any], name: str, choices: frozenset[str], errors: list[FieldError]) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if type(value) is not str:
        errors.append(_error(name, gettext("Must be a string."), "invalid_type"))
        return ""
    if value not in choices:
        errors.append(
            _error(
                name,
                gettext("“%(value)s” is not one of: %(choices)s.")
                % {"value": value[:50], "choices": ", ".join(sorted(choices))},
                "invalid_choice",
            )
        )
        return ""
    return value


def _integer(data: dict[str, Any], name: str, low: int, high: int, errors: list[FieldError]) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if type(value) is not int:  # bool is a subclass of int: excluded on purpose
        errors.append(_error(name, gettext("Must be an integer."), "invalid_type"))
        return None
    if not low <= value <= high:
        errors.append(
            _error(name, gettext("Must be between %(low)d and %(high)d.") % {"low": low, "high": high}, "out_of_range")
        )
        return None
    return value


def _timestamp(data: dict[str, Any], limits: Limits, errors: list[FieldError]) -> datetime | None:
    value = data.get("occurred_at")
    if value is None:
        errors.append(_error("occurred_at", gettext("This field is required."), "required"))
        return None
    if type(value) is not str:
        errors.append(_error("occurred_at", gettext("Must be an ISO 8601 string."), "invalid_type"))
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or len(value) < 16:  # a date alone is not a point in time
        errors.append(
            _error("occurred_at", gettext("Not an ISO 8601 date and time, e.g. 2025-03-01T09:30:00+01:00."), "invalid")
        )
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        errors.append(_error("occurred_at", gettext("Give a time zone, e.g. +01:00 or Z."), "timezone_required"))
        return None
    if parsed > limits.latest:
        errors.append(_error("occurred_at", gettext("Lies in the future."), "in_future"))
        return None
    if parsed < limits.earliest:
        errors.append(
            _error(
                "occurred_at",
                gettext("Older than %(days)d days.") % {"days": settings.DIKOM_ANALYTICS_MAX_EVENT_AGE_DAYS},
                "too_old",
            )
        )
        return None
    return parsed


def _optional_string(value: Any, max_length: int = MAX_KEY_LENGTH) -> bool:
    """An optional identifier: printable characters only (see ``dikom.lib.identifiers``)."""
    return value is None or (type(value) is str and len(value) <= max_length and value.isprintable())


def _optional_text(value: Any, max_length: int) -> bool:
    """Optional free text: line breaks allowed, NUL never (PostgreSQL cannot store it)."""
    return value is None or (type(value) is str and len(value) <= max_length and "\x00" not in value)


def _optional_choice(value: Any, choices: frozenset[str]) -> bool:
    return value is None or (type(value) is str and value in choices)


def _optional_integer(value: Any, low: int, high: int) -> bool:
    return value is None or (type(value) is int and low <= value <= high)


def fast_event(data: Any, limits: Limits) -> dict[str, Any] | None:
    """The clean event if ``data`` is plainly valid, else None (then ``validate_event`` finds the errors).

    Most events of a batch are valid: this checks them with a few type and set
    tests and no error bookkeeping. It accepts nothing the full check below
    rejects and returns exactly what it would return; anything unusual (empty
    strings where a value is required, a missing conditional field) goes the
    slow way.
    """
    if type(data) is not dict or not data.keys() <= FIELDS:
        return None
    get = data.get
    event_type = get("type")
    service = get("service")
    value = get("occurred_at")
    if (
        type(event_type) is not str
        or event_type not in EVENT_TYPES
        or type(service) is not str
        or not 0 < len(service) <= MAX_KEY_LENGTH
        or not service.isprintable()
        or type(value) is not str
        or len(value) < 16
    ):
        return None
    try:
        occurred_at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if (
        occurred_at.tzinfo is None
        or occurred_at.utcoffset() is None
        or not limits.earliest <= occurred_at <= limits.latest
    ):
        return None
    event_id = get("event_id")
    visit_id = get("visit_id")
    step_key = get("step_key")
    step_position = get("step_position")
    auth_method = get("auth_method")
    payment_method = get("payment_method")
    channel = get("channel")
    device_class = get("device_class")
    rating = get("rating")
    comment = get("comment")
    if not (
        _optional_string(event_id)
        and _optional_string(visit_id)
        and _optional_string(step_key)
        and _optional_integer(step_position, 1, MAX_STEP_POSITION)
        and _optional_choice(auth_method, AUTH_METHODS)
        and _optional_choice(payment_method, PAYMENT_METHODS)
        and _optional_choice(channel, CHANNELS)
        and _optional_choice(device_class, DEVICE_CLASSES)
    ):
        return None
    if event_type == EventType.FEEDBACK:
        if not _optional_integer(rating, 1, 5) or not _optional_text(comment, MAX_COMMENT_LENGTH):
            return None
        if rating is None and not comment:
            return None
    elif rating is not None or comment is not None:
        return None
    if (
        (event_type in STEP_TYPES and not step_key)
        or (event_type in AUTH_TYPES and not auth_method)
        or (event_type in PAYMENT_TYPES and not payment_method)
    ):
        return None
    return {
        "event_id": event_id or None,
        "type": event_type,
        "service": service,
        "occurred_at": occurred_at,
        "visit_id": visit_id or "",
        "step_key": step_key or "",
        "step_position": step_position,
        "auth_method": auth_method or "",
        "payment_method": payment_method or "",
        "channel": channel or "",
        "device_class": device_class or "",
        "rating": rating,
        "comment": comment or "",
    }


def validate_event(data: Any, limits: Limits) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """Check one event. Returns (clean event, []) or (None, errors).

    The clean event has every field of ``FIELDS``; absent optional strings are
    ``""``, absent optional numbers ``None``. The comment is not yet scrubbed.
    """
    event = fast_event(data, limits)
    if event is not None:
        return event, []
    if type(data) is not dict:
        return None, [_error("", gettext("An event must be a JSON object."), "invalid_type")]
    errors: list[FieldError] = []
    errors.extend(
        _error(str(name)[:100], gettext("Unknown field."), "unknown_field") for name in data if name not in FIELDS
    )

    event_type = _choice(data, "type", EVENT_TYPES, errors)
    if "type" not in data or data["type"] is None:
        errors.append(_error("type", gettext("This field is required."), "required"))
    service = _string(data, "service", errors)
    if not service and not any(e["field"] == "service" for e in errors):
        errors.append(_error("service", gettext("This field is required."), "required"))
    occurred_at = _timestamp(data, limits, errors)
    event_id = _string(data, "event_id", errors) or None
    visit_id = _string(data, "visit_id", errors)
    step_key = _string(data, "step_key", errors)
    step_position = _integer(data, "step_position", 1, MAX_STEP_POSITION, errors)
    auth_method = _choice(data, "auth_method", AUTH_METHODS, errors)
    payment_method = _choice(data, "payment_method", PAYMENT_METHODS, errors)
    channel = _choice(data, "channel", CHANNELS, errors)
    device_class = _choice(data, "device_class", DEVICE_CLASSES, errors)
    rating = _integer(data, "rating", 1, 5, errors)
    comment = _string(data, "comment", errors, MAX_COMMENT_LENGTH, free_text=True)

    if event_type:
        if event_type in STEP_TYPES and not step_key and data.get("step_key") is None:
            errors.append(_error("step_key", gettext("Step events need a step_key."), "required"))
        if event_type in AUTH_TYPES and not auth_method and data.get("auth_method") is None:
            errors.append(_error("auth_method", gettext("Authentication events need an auth_method."), "required"))
        if event_type in PAYMENT_TYPES and not payment_method and data.get("payment_method") is None:
            errors.append(_error("payment_method", gettext("Payment events need a payment_method."), "required"))
        if event_type == EventType.FEEDBACK:
            if rating is None and not comment and data.get("rating") is None and data.get("comment") is None:
                errors.append(_error("rating", gettext("Feedback needs a rating or a comment."), "required"))
        else:
            for name in ("rating", "comment"):
                if data.get(name) is not None:
                    errors.append(_error(name, gettext("Only feedback events carry this field."), "not_allowed"))

    if errors:
        return None, errors
    return {
        "event_id": event_id,
        "type": event_type,
        "service": service,
        "occurred_at": occurred_at,
        "visit_id": visit_id,
        "step_key": step_key,
        "step_position": step_position,
        "auth_method": auth_method,
        "payment_method": payment_method,
        "channel": channel,
        "device_class": device_class,
        "rating": rating,
        "comment": comment,
    }, []
