"""iCalendar (RFC 5545) files for single appointments: trainings and forum events.

Written by hand because an appointment needs only a few properties: text values are escaped
(backslash, semicolon, comma, line breaks), times are written in UTC, and content lines are
folded at 75 octets without splitting a UTF-8 character.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

PRODID = "-//dikom//roadMAP//DE"


@dataclass(frozen=True)
class Appointment:
    uid: str
    title: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    location: str = ""
    description: str = ""
    url: str = ""


def _text(value: str) -> str:
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    current = b""
    limit = 75
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > limit:
            parts.append(current.decode())
            current = b""
            limit = 74  # continuation lines start with a space
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def calendar(appointment: Appointment, *, now: datetime.datetime) -> bytes:
    """One VCALENDAR with one VEVENT, CRLF line endings as the standard requires."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{appointment.uid}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(appointment.starts_at)}",
        f"DTEND:{_utc(appointment.ends_at)}",
        f"SUMMARY:{_text(appointment.title)}",
    ]
    if appointment.location:
        lines.append(f"LOCATION:{_text(appointment.location)}")
    if appointment.description:
        lines.append(f"DESCRIPTION:{_text(appointment.description)}")
    if appointment.url:
        lines.append(f"URL:{appointment.url}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
