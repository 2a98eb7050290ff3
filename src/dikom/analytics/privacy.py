"""What keeps usage data anonymous: comment scrubbing and pseudonymous visit keys.

- Free-text feedback is scrubbed of e-mail addresses, phone numbers and IBANs
  before it is stored. The patterns err on the side of removing too much.
- A client's per-visit id is never stored. The stored visit key is
  ``sha256(salt || municipality id || ":" || visit_id)[:32]`` with the random
  salt of the event's local day; salts are deleted 48 hours after creation,
  after which no key can be linked to a visit id again.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

EMAIL_PLACEHOLDER = "[E-Mail entfernt]"
PHONE_PLACEHOLDER = "[Telefonnummer entfernt]"
IBAN_PLACEHOLDER = "[IBAN entfernt]"

# Local part: the RFC 5322 "atext" characters and dots; domain: labels of word characters and hyphens.
EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Compact (DE89370400440532013000) or grouped by four (DE89 3704 0044 0532 0130 00), any country.
IBAN_RE = re.compile(
    r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?:[ \u00a0][A-Z0-9]{4}){2,8}(?:[ \u00a0][A-Z0-9]{1,3})?)\b",
    re.IGNORECASE,
)
# Optional "+" or "(", then digits with the separators people use; at least 7 digits (checked below).
PHONE_RE = re.compile(r"(?<![\w+])(?:\+\s?|\(\s?)?\d[\d \u00a0\t/()\-\u2013.]{4,}\d(?!\w)")
PHONE_MIN_DIGITS = 7
DATE_RE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{2,4}")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    if sum(ch.isdigit() for ch in text) < PHONE_MIN_DIGITS or DATE_RE.fullmatch(text):
        return text
    return PHONE_PLACEHOLDER


def scrub_comment(text: str) -> str:
    """``text`` without e-mail addresses, IBANs and phone numbers (replaced by placeholders)."""
    if not text:
        return text
    text = EMAIL_RE.sub(EMAIL_PLACEHOLDER, text)
    text = IBAN_RE.sub(IBAN_PLACEHOLDER, text)
    return PHONE_RE.sub(_phone, text)


def visit_key(salt: bytes, municipality_id: int, visit_id: str) -> str:
    """The stored, pseudonymous key of a visit: 32 hex characters of a salted SHA-256."""
    digest = hashlib.sha256(salt + f"{municipality_id}:".encode() + visit_id.encode("utf-8"))
    return digest.hexdigest()[:32]


def to_minute(moment: datetime) -> datetime:
    """``moment`` cut to the minute: how precisely an event's time is stored (seconds would match other rows)."""
    return moment.replace(second=0, microsecond=0)
