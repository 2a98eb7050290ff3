"""iCalendar files: escaping, UTC times, folding at 75 octets without breaking UTF-8."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from dikom.lib.icalendar import Appointment, calendar

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime.datetime(2026, 12, 14, 9, 0, tzinfo=BERLIN)


def _unfold(data: bytes) -> list[str]:
    return data.decode().replace("\r\n ", "").split("\r\n")


def test_times_are_utc_and_text_is_escaped() -> None:
    data = calendar(
        Appointment(
            uid="training-1@dikom",
            title="Datenschutz; Teil 1, kompakt",
            starts_at=START,
            ends_at=START + datetime.timedelta(hours=2),
            location="Rathaus\\Saal",
            description="Zeile 1\nZeile 2",
        ),
        now=START,
    )
    lines = _unfold(data)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert "DTSTART:20261214T080000Z" in lines and "DTEND:20261214T100000Z" in lines
    assert "SUMMARY:Datenschutz\\; Teil 1\\, kompakt" in lines
    assert "LOCATION:Rathaus\\\\Saal" in lines and "DESCRIPTION:Zeile 1\\nZeile 2" in lines


@given(st.text(min_size=0, max_size=400))
def test_every_line_is_at_most_75_octets_and_unfolds_to_the_text(title: str) -> None:
    data = calendar(Appointment("u@dikom", title, START, START + datetime.timedelta(hours=1)), now=START)
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    summary = next(line for line in _unfold(data) if line.startswith("SUMMARY:"))
    assert "\n" not in summary and "\r" not in summary
