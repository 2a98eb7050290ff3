"""What every letter of a city needs, whichever app writes it (decision letters, receipts).

The letters follow DIN 5008 form B (the frame is ``web/pdf/letter_frame.html``): the authority
from the municipality's settings in the letterhead, the information block and the notice on
legal remedies; the recipient and the salutation from the applicant's answers; every date in
German ("1. Januar 2027" in running text, "01.01.2027" in the information block), never ISO.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone

MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
FIRST_NAME_KEYS = ("vorname", "first_name", "given_name")
LAST_NAME_KEYS = ("nachname", "last_name", "family_name")
SALUTATION_KEYS = ("anrede", "salutation", "geschlecht", "gender")
FEMALE = {"frau", "f", "w", "weiblich", "female", "woman", "ms", "mrs"}
MALE = {"herr", "m", "männlich", "maennlich", "male", "man", "mr"}


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def short_date(value: dt.date | dt.datetime) -> str:
    """``01.01.2027``."""
    return _as_date(value).strftime("%d.%m.%Y")


def long_date(value: dt.date | dt.datetime) -> str:
    """``1. Januar 2027``."""
    day = _as_date(value)
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def clock_time(value: dt.datetime) -> str:
    """``9:05 Uhr`` in local time."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local.hour}:{local.minute:02d} Uhr"


def german_dates(value: Any) -> Any:
    """A copy of form answers with every ISO date (``2027-01-01``) written ``01.01.2027``."""
    if isinstance(value, dict):
        return {key: german_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [german_dates(item) for item in value]
    if isinstance(value, str):
        match = ISO_DATE.match(value)
        if match:
            try:
                return short_date(dt.date(int(match[1]), int(match[2]), int(match[3])))
            except ValueError:
                return value
    return value


def _first(step: dict[str, Any], keys: tuple[str, ...]) -> str:
    return next((str(step[k]).strip() for k in keys if isinstance(step.get(k), str) and step[k].strip()), "")


def recipient(answers: dict[str, Any], account: Any = None) -> dict[str, str]:
    """The applicant from the first step that has a postal address (the citizen's own answers):
    name, street, town and the salutation; the account's name when the answers give none."""
    person: dict[str, Any] = {}
    address: dict[str, Any] = {}
    for step in answers.values():
        if not isinstance(step, dict):
            continue
        found = next((v for v in step.values() if isinstance(v, dict) and "postcode" in v and "street" in v), None)
        if found is not None:
            person, address = step, found
            break
    if not person:  # no postal address asked: the first step that asks for a name
        person = next(
            (
                s
                for s in answers.values()
                if isinstance(s, dict) and _first(s, (*FIRST_NAME_KEYS, *LAST_NAME_KEYS, "name"))
            ),
            {},
        )
    first, last = _first(person, FIRST_NAME_KEYS), _first(person, LAST_NAME_KEYS)
    if not (first or last) and account is not None:
        first, last = (getattr(account, "first_name", "") or "").strip(), (getattr(account, "last_name", "") or "")
        last = last.strip()
    full_name = f"{first} {last}".strip() or _first(person, ("name",))
    form = _first(person, SALUTATION_KEYS).casefold().rstrip(".")
    if form in FEMALE and last:
        salutation, title = f"Sehr geehrte Frau {last},", "Frau"
    elif form in MALE and last:
        salutation, title = f"Sehr geehrter Herr {last},", "Herrn"
    elif full_name:
        salutation, title = f"Guten Tag {full_name},", ""
    else:
        salutation, title = "Sehr geehrte Damen und Herren,", ""
    return {
        "title": title,
        "name": full_name,
        "street": f"{address.get('street', '')} {address.get('house_number', '')}".strip(),
        "city": f"{address.get('postcode', '')} {address.get('city', '')}".strip(),
        "salutation": salutation,
    }


def authority(municipality: Any, org_unit: Any = None) -> dict[str, str]:
    """The authority as the letter names it, from the municipality's settings (plain data)."""
    town = f"{municipality.postcode} {municipality.locality}".strip()
    return {
        "name": municipality.authority_name or municipality.name,
        "head": municipality.authority_head,
        "unit": getattr(org_unit, "name", "") or "",
        "street": municipality.street_address,
        "town": town,
        "address": ", ".join(part for part in (municipality.street_address, town) if part),
        "phone": municipality.phone,
        "email": (getattr(org_unit, "email", "") or "") or municipality.email,
        "website": re.sub(r"^https?://", "", municipality.website or "").rstrip("/"),
    }


def remedy_office(office: dict[str, str]) -> str:
    """``der Universitätsstadt Marburg, Der Oberbürgermeister, Markt 1, 35037 Marburg`` for the legal remedy."""
    name = office["name"]
    article = (
        "dem" if name.casefold().startswith(("landkreis", "kreis")) or name.casefold().endswith("kreis") else "der"
    )
    parts = [f"{article} {name}", office["head"], office["address"]]
    return ", ".join(part for part in parts if part)
