"""Timer values: ISO 8601 durations (``P14D``), dates (``2025-03-01T09:00``) and cycles (``R3/P2D``), and cron
expressions as cycles (``0 0 9 ? * MON-FRI``, see ``cron``).

Dates without a time zone are read as German local time (Europe/Berlin), the
time zone of the municipalities, not the server's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .cron import CronExpression, looks_like_cron

LOCAL_TZ = ZoneInfo("Europe/Berlin")

DURATION, DATE, CYCLE = "timeDuration", "timeDate", "timeCycle"


def parse_duration(text: str) -> dict[str, Any]:
    """Parse an ISO 8601 duration into its parts; raise ``ValueError``."""
    text = text.strip()
    if not text.upper().startswith("P") or len(text) < 3:
        raise ValueError(f"{text!r} is not an ISO 8601 duration")
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # SpiffWorkflow raises a bare Exception
        raise ValueError(f"{text!r} is not an ISO 8601 duration") from None
    if not parsed:
        raise ValueError(f"{text!r} is not an ISO 8601 duration")
    return parsed


def add_duration(start: datetime, text: str) -> datetime:
    """``start`` plus the ISO 8601 duration ``text`` (months and years by the calendar)."""
    parsed = parse_duration(text)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time; naive values are Europe/Berlin. Returns UTC."""
    text = text.strip()
    try:
        if "W" in text.upper() and not text.upper().startswith("P"):
            value = datetime.fromisoformat(text.upper())
        else:
            value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC)


def parse_cycle(text: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """Parse ``R[n]/start/duration``, ``R[n]/duration/end`` or ``R[n]/duration``.

    Returns (repetitions or -1 for unbounded, first firing, interval).
    """
    text = text.strip().upper()
    if not text.startswith("R") or "/" not in text:
        raise ValueError(f"{text!r} is not an ISO 8601 repeating interval")
    parts = text.split("/")
    count_text = parts[0][1:]
    if count_text and not count_text.isdigit():
        raise ValueError(f"{text!r} is not an ISO 8601 repeating interval")
    cycles = int(count_text) if count_text else -1
    if len(parts) == 2:
        interval = add_duration(now, parts[1]) - now
        return cycles, now + interval, interval
    if len(parts) == 3:
        if parts[1].startswith("P"):
            end = parse_datetime(parts[2])
            interval = TimerEventDefinition.get_timedelta_from_end(parse_duration(parts[1]), end)
            return cycles, end - interval, interval
        start = parse_datetime(parts[1])
        return cycles, start, add_duration(start, parts[2]) - start
    raise ValueError(f"{text!r} is not an ISO 8601 repeating interval")


def check_literal(kind: str, text: str) -> None:
    """Raise ``ValueError`` unless ``text`` is a valid literal for a timer of ``kind``."""
    if kind == DURATION:
        parse_duration(text)
    elif kind == DATE:
        parse_datetime(text)
    elif kind == CYCLE and looks_like_cron(text):
        CronExpression.parse(text)
    elif kind == CYCLE:
        parse_cycle(text, datetime(2000, 1, 1, tzinfo=UTC))
    else:
        raise ValueError(f"unknown timer kind {kind}")


def literal_value(kind: str, expression: str | None) -> str | None:
    """The ISO literal in ``expression`` (plain, or quoted as in SpiffWorkflow files), else None."""
    if expression is None:
        return None
    text = expression.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    try:
        check_literal(kind, text)
    except ValueError:
        return None
    return text
