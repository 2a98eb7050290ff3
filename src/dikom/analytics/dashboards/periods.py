"""Periods and granularities of the dashboards: presets, the previous period and time buckets.

All dates are local dates in Europe/Berlin, the time zone of the daily rollups.
Weeks are ISO weeks (Monday to Sunday, numbered by their ISO year, so
30 December 2024 belongs to 2025-W01).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dikom.analytics.rollups import local_zone

PRESETS: dict[str, object] = {
    "today": _("Today (incomplete)"),
    "last_7": _("Last 7 days"),
    "last_30": _("Last 30 days"),
    "last_90": _("Last 90 days"),
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "this_quarter": _("This quarter"),
    "this_year": _("This year"),
    "custom": _("Custom period"),
}
GRANULARITIES: dict[str, object] = {
    "day": _("Day"),
    "week": _("Week"),
    "month": _("Month"),
    "quarter": _("Quarter"),
    "year": _("Year"),
}
DEFAULT_PRESET = "last_30"
MAX_DAYS = 3660  # ten years, as the core summary allows


def today() -> date:
    return timezone.now().astimezone(local_zone()).date()


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def last_complete_day() -> date:
    """Yesterday: today's figures grow until midnight, so presets end the day before."""
    return today() - timedelta(days=1)


def preset_range(preset: str, reference: date | None = None) -> tuple[date, date]:
    """First and last day (inclusive) of a preset, relative to ``reference``.

    ``reference`` defaults to the last complete day (yesterday), so that the
    change against the previous period compares whole days with whole days
    instead of showing a drop on every service for the day still running.
    Only "today" and a "this …" preset on its first day (which has no complete
    day yet) end today; such a period is ``incomplete``.
    """
    if preset == "today":
        return today(), today()
    end = reference or last_complete_day()
    if preset == "last_7":
        return end - timedelta(days=6), end
    if preset == "last_90":
        return end - timedelta(days=89), end
    if preset == "last_month":
        last = (reference or today()).replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    starts = {
        "this_month": lambda day: day.replace(day=1),
        "this_quarter": _quarter_start,
        "this_year": lambda day: date(day.year, 1, 1),
    }
    if preset in starts:
        current = reference or today()
        start = starts[preset](current)
        return (start, end) if end >= start else (start, current)
    return end - timedelta(days=29), end


@dataclass(frozen=True)
class Period:
    since: date
    until: date
    granularity: str = "day"
    preset: str = DEFAULT_PRESET

    @property
    def incomplete(self) -> bool:
        """Whether the period reaches today, whose figures are still growing (no fair comparison)."""
        return self.until >= today()

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        until = self.since - timedelta(days=1)
        return Period(until - timedelta(days=self.days - 1), until, self.granularity, "custom")


def bucket_start(day: date, granularity: str) -> date:
    """The first day of the bucket ``day`` falls into."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return _quarter_start(day)
    if granularity == "year":
        return date(day.year, 1, 1)
    return day


def bucket_label(start: date, granularity: str) -> str:
    """A stable, language-neutral label: 2025-01-31, 2025-W01, 2025-01, 2025-Q1, 2025."""
    if granularity == "week":
        year, week, _weekday = start.isocalendar()
        return f"{year}-W{week:02d}"
    if granularity == "month":
        return f"{start:%Y-%m}"
    if granularity == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if granularity == "year":
        return str(start.year)
    return start.isoformat()


def display_label(start: date, granularity: str) -> str:
    """The bucket as people read it in the active language (axes, tables, exports, PDF).

    German: 31.01.2025, KW 1/2025, Januar 2025, Q1/2025; English: 01/31/2025,
    week 1/2025, January 2025, Q1/2025. ``bucket_label`` stays the stable key of the API.
    """
    if granularity == "week":
        year, week, _weekday = start.isocalendar()
        return gettext("week %(week)s/%(year)s") % {"week": week, "year": year}
    if granularity == "month":
        return date_format(start, "YEAR_MONTH_FORMAT")
    if granularity == "quarter":
        return f"Q{(start.month - 1) // 3 + 1}/{start.year}"
    if granularity == "year":
        return str(start.year)
    return date_format(start, "SHORT_DATE_FORMAT")


def _next_bucket(start: date, granularity: str) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return (start + timedelta(days=32)).replace(day=1)
    if granularity == "quarter":
        return (start + timedelta(days=95)).replace(day=1)
    if granularity == "year":
        return date(start.year + 1, 1, 1)
    return start + timedelta(days=1)


def buckets(period: Period) -> list[date]:
    """Start days of every bucket the period touches, in order (empty buckets included)."""
    result = []
    current = bucket_start(period.since, period.granularity)
    while current <= period.until:
        result.append(current)
        current = _next_bucket(current, period.granularity)
    return result
