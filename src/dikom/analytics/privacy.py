"""What keeps usage data anonymous: comment scrubbing, pseudonymous visit keys, coarse times.

- Free-text feedback is scrubbed of e-mail addresses, phone numbers, IBANs,
  names (after "Herr"/"Frau", "mein Name ist", "ich heiße" and in greetings
  that sign a message), street addresses and postcodes with a town, German
  licence plates and dates of birth before it is stored. The patterns err on
  the side of removing too much.
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

NAME_PLACEHOLDER = "[Name entfernt]"
ADDRESS_PLACEHOLDER = "[Adresse entfernt]"
PLATE_PLACEHOLDER = "[Kennzeichen entfernt]"
BIRTH_PLACEHOLDER = "[Geburtsdatum entfernt]"

_UPPER = "A-ZÄÖÜ"
_WORD = rf"(?:[{_UPPER}]\.|[{_UPPER}][\wäöüß'’-]*)"
_NAME = rf"{_WORD}(?:[ \u00a0]+(?:von[ \u00a0]+|van[ \u00a0]+|de[ \u00a0]+)?{_WORD}){{0,2}}"
# What introduces a name itself is not the name after another title or greeting ("Frau Mein Name ist
# Müller", "Grüße Viele Grüße, Müller": the name is "Müller", found from the second one).
_GREETINGS = r"Mit freundlichen Grüßen|Freundliche Grüße|Viele Grüße|Liebe Grüße|Beste Grüße|Grüße|Gruß|MfG|LG|VG"
_NOT_A_LEAD = rf"(?!(?:[Mm]ein(?:e)? Name (?:ist|lautet)|[Ii]ch hei(?:ß|ss)e|Herrn?|Frau|{_GREETINGS})\b)"
# "Herr Müller", "Frau Dr. Anna Schmidt", "mein Name ist Max Mustermann", "ich heiße Eva", "Name: Alex Beispiel".
NAME_RE = re.compile(
    rf"(?P<lead>\b(?:Herrn?|Frau|Hr\.|Fr\.|[Mm]ein(?:e)? Name (?:ist|lautet)|[Ii]ch hei(?:ß|ss)e|Name:)"
    rf"[ \u00a0]+(?:(?:Dr|Prof)\.[ \u00a0]*)*){_NOT_A_LEAD}{_NAME}"
)
# A greeting that signs the message, and the name after it (same or next line).
SIGNATURE_RE = re.compile(rf"(?P<lead>\b(?:{_GREETINGS})[,!.]?[ \u00a0]*(?:\r?\n[ \u00a0]*)?){_NOT_A_LEAD}{_NAME}")
_STREET_SUFFIX = r"(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|steg|pfad|chaussee|markt)"
# "Bahnhofstraße 12a", "Frankfurter Str. 5", "Hauptstr.12", "Lindenweg 3 b". (Streets without such a word,
# "Am Anger 3", look like "Am Ende 3 Fehler" and are left, unless a postcode follows.)
STREET_RE = re.compile(
    rf"(?:\b[{_UPPER}][\wäöüß-]*{_STREET_SUFFIX}|\b[{_UPPER}][\wäöüß-]*[ \u00a0]+"
    rf"(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer|Chaussee))"
    rf"[ \u00a0]*\d{{1,4}}(?:[ \u00a0]?[a-zA-Z](?![\wäöüß]))?(?:[ \u00a0]*[-/][ \u00a0]*\d{{1,4}})?",
)
# "35037 Marburg": a German postcode with a town.
POSTCODE_RE = re.compile(rf"(?<!\d)\d{{5}}[ \u00a0]+{_WORD}")
# German licence plates: "MR-AB 123", "F AB 1234", "GI-X 12E", "B-MW 2024H".
PLATE_RE = re.compile(rf"(?<![\w-])[{_UPPER}]{{1,3}}[- \u00a0][A-Z]{{1,2}}[- \u00a0]?\d{{1,4}}[EH]?(?![\w-])")
# A birth date named as such, or any full date from before 2010.
BIRTH_RE = re.compile(
    r"\b(?:geb\.|geboren(?: am)?|Geburtsdatum:?|Geburtstag:?|DOB:?)[ \u00a0]*\d{1,2}\.[ \u00a0]?"
    r"(?:\d{1,2}\.|[A-Za-zäÄ]+)[ \u00a0]?\d{2,4}"
    r"|(?<![\d.])\d{1,2}\.\d{1,2}\.(?:19\d\d|200\d)(?![\d.])",
    re.IGNORECASE,
)


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    if sum(ch.isdigit() for ch in text) < PHONE_MIN_DIGITS or DATE_RE.fullmatch(text):
        return text
    return PHONE_PLACEHOLDER


def _iban(match: re.Match[str]) -> str:
    # Blocks written as capitalised words ("AB12 Mein Name ist …") are text, not an account number:
    # an IBAN is written in capitals or, rarely, all in lower case.
    blocks = match.group(0).split()[1:]
    if any(len(block) > 1 and block.isalpha() and block[0].isupper() and block[1:].islower() for block in blocks):
        return match.group(0)
    return IBAN_PLACEHOLDER


def scrub_comment(text: str) -> str:
    """``text`` without e-mail addresses, IBANs, birth dates, phone numbers, licence plates, street
    addresses, postcodes with towns and names (replaced by placeholders)."""
    if not text:
        return text
    text = EMAIL_RE.sub(EMAIL_PLACEHOLDER, text)
    text = IBAN_RE.sub(_iban, text)
    text = BIRTH_RE.sub(BIRTH_PLACEHOLDER, text)
    text = PHONE_RE.sub(_phone, text)
    text = PLATE_RE.sub(PLATE_PLACEHOLDER, text)
    # names before addresses: a postcode's town pattern would otherwise take the title ("12345 Herr")
    # and leave the name after it standing
    text = NAME_RE.sub(lambda m: m.group("lead") + NAME_PLACEHOLDER, text)
    text = SIGNATURE_RE.sub(lambda m: m.group("lead") + NAME_PLACEHOLDER, text)
    text = STREET_RE.sub(ADDRESS_PLACEHOLDER, text)
    return POSTCODE_RE.sub(ADDRESS_PLACEHOLDER, text)


def visit_key(salt: bytes, municipality_id: int, visit_id: str) -> str:
    """The stored, pseudonymous key of a visit: 32 hex characters of a salted SHA-256."""
    digest = hashlib.sha256(salt + f"{municipality_id}:".encode() + visit_id.encode("utf-8"))
    return digest.hexdigest()[:32]


def to_minute(moment: datetime) -> datetime:
    """``moment`` cut to the minute: how precisely an event's time is stored (seconds would match other rows)."""
    return moment.replace(second=0, microsecond=0)
