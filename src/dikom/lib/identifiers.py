"""Identifiers and text from outside: no control characters in identifiers, no NUL anywhere.

An identifier (a service key, an event or visit id, a step key, a source name,
a slug) is shown in tables, written into CSV files and log lines and compared
with others: a newline or a NUL in it breaks all of these. PostgreSQL cannot
store NUL at all, not even in free text or JSON, and answers with an error
the user would see as a 500. So:

- ``is_identifier_text`` / ``validate_identifier``: an identifier holds only
  printable characters (``str.isprintable``: no control characters of C0 or
  C1, no DEL, no line or paragraph separators, no invisible format characters).
- ``has_nul`` / ``validate_no_nul``: free text may hold line breaks, never NUL.

The ingestion path checks identifiers with ``str.isprintable`` directly (one C
call per value).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CONTROL_MESSAGE = _("Control characters (such as line breaks or NUL) are not allowed here.")
NUL_MESSAGE = _("The text contains a NUL character, which is not allowed.")


def is_identifier_text(value: str) -> bool:
    """Whether ``value`` holds only printable characters (the empty string does)."""
    return value.isprintable()


def has_nul(value: str) -> bool:
    return "\x00" in value


def validate_identifier(value: Any) -> None:
    """A Django/DRF validator: refuses text with control characters."""
    if isinstance(value, str) and not value.isprintable():
        raise ValidationError(CONTROL_MESSAGE, code="control_characters")


def validate_no_nul(value: Any) -> None:
    """A Django/DRF validator for free text: refuses NUL."""
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(NUL_MESSAGE, code="null_characters_not_allowed")
