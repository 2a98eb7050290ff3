"""Calendar months in the platform's time zone: what the monthly table partitions are cut by."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def add_months(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_start(month: date) -> datetime:
    """Midnight of the first day of ``month`` in TIME_ZONE, as an aware datetime."""
    return datetime(month.year, month.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))


def month_of(moment: datetime) -> date:
    local = timezone.localtime(moment, ZoneInfo(settings.TIME_ZONE))
    return date(local.year, local.month, 1)
