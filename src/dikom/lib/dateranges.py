"""Dates and times from outside, limited to a range the platform can compute with.

``date(2, 1, 1)`` parses fine, but the first ``- timedelta(...)`` (the period
before, a week's Monday, a time zone's offset) raises ``OverflowError``, and
the database may store years the code cannot read back. Every date or time
that arrives in a query parameter, a form or a request body is read through
one of these fields, so anything outside ``EARLIEST``..``LATEST`` is a
validation error (400 in the API, a form error on pages) before it is used.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from rest_framework import serializers

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)


def out_of_range_message() -> str:
    return _("Only dates from %(earliest)s to %(latest)s are accepted.") % {
        "earliest": EARLIEST.isoformat(),
        "latest": LATEST.isoformat(),
    }


def in_range(value: dt.date | dt.datetime) -> bool:
    """Whether ``value`` (a date, or the calendar day of a datetime) lies within the accepted range."""
    day = value.date() if isinstance(value, dt.datetime) else value
    return EARLIEST <= day <= LATEST


def parse_day(text: str) -> dt.date | None:
    """An ISO date (``YYYY-MM-DD``) in the accepted range, or None for anything else."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except (ValueError, TypeError, AttributeError):
        return None
    return day if in_range(day) else None


class DayField(forms.DateField):
    """A form's date field that refuses dates outside the accepted range."""

    def to_python(self, value: Any) -> dt.date | None:
        day = super().to_python(value)
        if day is not None and not in_range(day):
            raise forms.ValidationError(out_of_range_message(), code="date_out_of_range")
        return day


class ApiDayField(serializers.DateField):
    """DRF's date field, refusing dates outside the accepted range."""

    def to_internal_value(self, value: Any) -> dt.date:
        day = super().to_internal_value(value)
        if not in_range(day):
            raise serializers.ValidationError(out_of_range_message(), code="date_out_of_range")
        return day


class ApiMomentField(serializers.DateTimeField):
    """DRF's date-time field, refusing days outside the accepted range."""

    def to_internal_value(self, value: Any) -> dt.datetime:
        # Checked before the time zone is applied: 0001-01-01T00:00 would overflow on the way.
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None and not in_range(parsed):
                raise serializers.ValidationError(out_of_range_message(), code="date_out_of_range")
        moment = super().to_internal_value(value)
        if not in_range(moment):
            raise serializers.ValidationError(out_of_range_message(), code="date_out_of_range")
        return moment
