"""Privacy by design: scrubbed comments, salted visit keys, expiring salts and raw events, nothing about the client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dikom.analytics.actions import SALT_LIFETIME
from dikom.analytics.models import DailySalt, ServiceDailyStats, UsageEvent
from dikom.analytics.privacy import (
    ADDRESS_PLACEHOLDER,
    BIRTH_PLACEHOLDER,
    EMAIL_PLACEHOLDER,
    IBAN_PLACEHOLDER,
    NAME_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    PLATE_PLACEHOLDER,
    scrub_comment,
    visit_key,
)
from dikom.analytics.tests.conftest import event, run_worker

pytestmark = pytest.mark.django_db

# --- comment scrubbing ------------------------------------------------------------------

filler = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="@"), max_size=40)


@st.composite
def ibans(draw):
    country = draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2))
    check = draw(st.text(alphabet="0123456789", min_size=2, max_size=2))
    bban = draw(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=11, max_size=30))
    compact = country + check + bban
    if draw(st.booleans()):
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact if draw(st.booleans()) else compact.lower()


digits = st.text(alphabet="0123456789", min_size=1)


@st.composite
def phones(draw):
    style = draw(st.sampled_from(["national", "international", "0049", "brackets"]))
    area = draw(st.text(alphabet="123456789", min_size=1, max_size=1)) + draw(
        st.text(alphabet="0123456789", min_size=1, max_size=4)
    )
    subscriber = draw(st.text(alphabet="0123456789", min_size=5, max_size=8))
    sep = draw(st.sampled_from([" ", "-", "/", " / ", ""]))
    if style == "national":
        return f"0{area}{sep}{subscriber}"
    if style == "brackets":
        return f"(0{area}) {subscriber}"
    country = draw(st.sampled_from(["49", "43", "41", "1", "33", "352"]))
    lead = "+" if style == "international" else "00"
    zero = draw(st.sampled_from(["", " (0)"]))
    return f"{lead}{country}{zero} {area}{sep}{subscriber}"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(before=filler, email=st.emails(), after=filler)
def test_email_addresses_never_survive(before, email, after):
    scrubbed = scrub_comment(f"{before} {email} {after}")

    assert email not in scrubbed
    assert EMAIL_PLACEHOLDER in scrubbed


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(before=filler, iban=ibans(), after=filler)
def test_ibans_never_survive(before, iban, after):
    scrubbed = scrub_comment(f"{before} {iban} {after}")

    assert iban not in scrubbed
    assert iban.replace(" ", "") not in scrubbed.replace(" ", "")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(before=filler, phone=phones(), after=filler)
def test_phone_numbers_never_survive(before, phone, after):
    scrubbed = scrub_comment(f"{before} {phone} {after}")

    assert phone not in scrubbed
    assert "".join(ch for ch in phone if ch.isdigit()) not in "".join(ch for ch in scrubbed if ch.isdigit())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Schreiben Sie an max.mustermann@example.de bitte", f"Schreiben Sie an {EMAIL_PLACEHOLDER} bitte"),
        ("Ruf an: 0641 306-1234.", f"Ruf an: {PHONE_PLACEHOLDER}."),
        ("Tel. +49 (0) 641 3061234", f"Tel. {PHONE_PLACEHOLDER}"),
        ("IBAN DE89 3704 0044 0532 0130 00, danke", f"IBAN {IBAN_PLACEHOLDER}, danke"),
        ("IBAN DE89370400440532013000", f"IBAN {IBAN_PLACEHOLDER}"),
        (
            "Am 12.03.2024 um 10:30 ging es in 5 Minuten, 3 Schritte.",
            "Am 12.03.2024 um 10:30 ging es in 5 Minuten, 3 Schritte.",
        ),
    ],
)
def test_scrubbing_examples(text, expected):
    assert scrub_comment(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Herr Müller war sehr nett", f"Herr {NAME_PLACEHOLDER} war sehr nett"),
        ("Frau Dr. Anna Schmidt hat geholfen", f"Frau Dr. {NAME_PLACEHOLDER} hat geholfen"),
        ("Mein Name ist Max Mustermann, danke", f"Mein Name ist {NAME_PLACEHOLDER}, danke"),
        ("Ich heiße Eva.", f"Ich heiße {NAME_PLACEHOLDER}."),
        (
            "Klappt gut.\nMit freundlichen Grüßen\nPeter Meier",
            f"Klappt gut.\nMit freundlichen Grüßen\n{NAME_PLACEHOLDER}",
        ),
        ("Viele Grüße, Jana", f"Viele Grüße, {NAME_PLACEHOLDER}"),
        ("MfG K. Schulz", f"MfG {NAME_PLACEHOLDER}"),
        ("Ich wohne Bahnhofstraße 12a in 35037 Marburg", f"Ich wohne {ADDRESS_PLACEHOLDER} in {ADDRESS_PLACEHOLDER}"),
        ("Frankfurter Str. 5, bitte", f"{ADDRESS_PLACEHOLDER}, bitte"),
        ("Lindenweg 3 b", ADDRESS_PLACEHOLDER),
        ("Mein Auto MR-AB 123 stand da", f"Mein Auto {PLATE_PLACEHOLDER} stand da"),
        ("Kennzeichen F AB 1234", f"Kennzeichen {PLATE_PLACEHOLDER}"),
        ("geb. 12.03.1985", BIRTH_PLACEHOLDER),
        ("geboren am 1. Mai 1990, Antrag ok", f"{BIRTH_PLACEHOLDER}, Antrag ok"),
        ("Ich bin am 03.07.1962 geboren", f"Ich bin am {BIRTH_PLACEHOLDER} geboren"),
        # Ordinary feedback stays.
        ("Im Schritt 2 gab es Fehler, 5 Sterne", "Im Schritt 2 gab es Fehler, 5 Sterne"),
        ("Die Zahlung per PayPal ging nicht (DIN SPEC 66336)", "Die Zahlung per PayPal ging nicht (DIN SPEC 66336)"),
    ],
)
def test_names_addresses_plates_and_birth_dates_are_scrubbed(text, expected):
    assert scrub_comment(text) == expected


surnames = st.sampled_from(["Müller", "Schmidt", "Özdemir", "Nguyen", "Weiß", "Lehmann-Kraus", "Ahmadi"])
streets = st.sampled_from(["Bahnhofstraße", "Hauptstr.", "Lindenweg", "Marktplatz", "Frankfurter Straße", "Am Ring"])
districts = st.sampled_from(["MR", "GI", "F", "LM", "OF", "WZ", "FD", "HG"])
letters = st.text(alphabet="ABCDEFGHIJKLMNOPRSTUVWXYZ", min_size=1, max_size=2)
numbers = st.integers(min_value=1, max_value=9999)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(before=filler, title=st.sampled_from(["Herr", "Frau", "Mein Name ist", "Viele Grüße,"]), name=surnames)
def test_names_after_a_title_never_survive(before, title, name):
    assert name not in scrub_comment(f"{before} {title} {name} ").split(NAME_PLACEHOLDER)[-1] or name in before


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(before=filler, street=streets, number=st.integers(min_value=1, max_value=999))
def test_street_addresses_never_survive(before, street, number):
    scrubbed = scrub_comment(f"{before} {street} {number} ")
    assert f"{street} {number}" not in scrubbed


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(before=filler, district=districts, middle=letters, number=numbers, sep=st.sampled_from(["-", " "]))
def test_licence_plates_never_survive(before, district, middle, number, sep):
    plate = f"{district}{sep}{middle} {number}"
    assert plate not in scrub_comment(f"{before} {plate} ")


def test_feedback_comments_are_scrubbed_before_storage(send):
    comment = "Super! Meldet euch: anna@example.org oder 0151 23456789, IBAN DE89370400440532013000"

    send(event(type="feedback", rating=4, comment=comment))

    stored = UsageEvent.objects.get().comment
    assert "anna@example.org" not in stored
    assert "23456789" not in stored
    assert "DE89370400440532013000" not in stored
    assert stored == f"Super! Meldet euch: {EMAIL_PLACEHOLDER} oder {PHONE_PLACEHOLDER}, IBAN {IBAN_PLACEHOLDER}"


# --- nothing about the client is stored --------------------------------------------------


def _all_stored_text() -> str:
    """Every value of every column of every analytics table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for model in (UsageEvent, DailySalt, ServiceDailyStats):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_ip_address_user_agent_and_cookies_leave_no_trace(send):
    send(
        {"events": [event(visit_id="visit-123"), event(type="submitted", visit_id="visit-123")]},
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) SecretBrowser/99.1",
        HTTP_X_FORWARDED_FOR="203.0.113.77, 198.51.100.23",
        REMOTE_ADDR="192.0.2.55",
        HTTP_COOKIE="tracking=cookie-value-42",
    )
    run_worker()

    stored = _all_stored_text()
    assert UsageEvent.objects.count() == 2
    for trace in (
        "SecretBrowser",
        "Mozilla",
        "203.0.113.77",
        "198.51.100.23",
        "192.0.2.55",
        "cookie-value-42",
        "visit-123",
    ):
        assert trace not in stored
    columns = {f.name for f in UsageEvent._meta.get_fields()}
    assert not columns & {"ip", "ip_address", "user_agent", "cookie", "remote_addr"}


# --- visit keys and daily salts ----------------------------------------------------------


def test_visit_key_is_a_salted_hash_of_the_visit_id(send, city_a):
    send({"events": [event(visit_id="abc"), event(type="submitted", visit_id="abc"), event(visit_id="other")]})

    keys = list(UsageEvent.objects.order_by("pk").values_list("visit", flat=True))
    salt = bytes(DailySalt.objects.get().salt)
    assert keys[0] == keys[1] == visit_key(salt, city_a.pk, "abc")
    assert keys[2] != keys[0]
    assert len(keys[0]) == 32
    assert len(salt) == 32


def test_same_visit_id_in_two_cities_gives_different_keys(send, city_b):
    from dikom.analytics.tests.conftest import key_for

    send(event(visit_id="abc"))
    send(event(visit_id="abc"), token=key_for(city_b, "analytics:ingest"))

    assert UsageEvent.objects.values("visit").distinct().count() == 2


def test_events_without_visit_id_have_no_visit_key_and_create_no_salt(send):
    send(event())

    assert UsageEvent.objects.get().visit is None
    assert not DailySalt.objects.exists()


def test_housekeeping_deletes_salts_older_than_48_hours(send):
    send(event(visit_id="abc"))
    salt = DailySalt.objects.get()
    salt.created_at = timezone.now() - SALT_LIFETIME - timedelta(minutes=1)
    salt.save()
    DailySalt.objects.create(day=salt.day - timedelta(days=1), salt=b"x" * 32, created_at=timezone.now())

    call_command("analytics_housekeeping", verbosity=0)

    assert list(DailySalt.objects.values_list("day", flat=True)) == [salt.day - timedelta(days=1)]


def test_an_expired_salt_is_never_used_even_without_housekeeping(send, city_a):
    send(event(visit_id="abc"))
    old = DailySalt.objects.get()
    old.created_at = timezone.now() - SALT_LIFETIME - timedelta(minutes=1)
    old.save()

    send(event(visit_id="abc"))

    fresh = DailySalt.objects.get()
    assert bytes(fresh.salt) != bytes(old.salt)
    assert UsageEvent.objects.values("visit").distinct().count() == 2


def test_housekeeping_deletes_raw_events_after_retention_but_keeps_rollups(send, settings, city_a):
    settings.DIKOM_ANALYTICS_RAW_RETENTION_DAYS = 30
    old = (timezone.now() - timedelta(days=31)).isoformat()
    recent = (timezone.now() - timedelta(days=29)).isoformat()
    send({"events": [event(occurred_at=old), event(occurred_at=recent)]})
    run_worker()
    rollup_days = set(ServiceDailyStats.objects.values_list("day", flat=True))
    assert len(rollup_days) == 2

    call_command("analytics_housekeeping", verbosity=0)

    # Kept, with its time to the minute (received just now, so not yet cut to the hour).
    assert [e.occurred_at.isoformat() for e in UsageEvent.objects.all()] == [
        timezone.datetime.fromisoformat(recent).replace(second=0, microsecond=0).isoformat()
    ]
    assert set(ServiceDailyStats.objects.values_list("day", flat=True)) == rollup_days


# --- unlinkability: coarse times, salts bound to their day ------------------------------------


def test_event_times_are_stored_to_the_minute(send):
    send(event(occurred_at=(timezone.now() - timedelta(minutes=3)).isoformat()))

    stored = UsageEvent.objects.get()
    for moment in (stored.occurred_at, stored.received_at):
        assert moment.second == 0 and moment.microsecond == 0


def test_housekeeping_cuts_times_of_events_older_than_a_day_to_the_hour(send, city_a):
    send(event(occurred_at=(timezone.now() - timedelta(hours=30)).isoformat()))
    UsageEvent.objects.update(received_at=timezone.now() - timedelta(hours=26))
    send(event(occurred_at=(timezone.now() - timedelta(minutes=5)).isoformat()))

    call_command("analytics_housekeeping", verbosity=0)

    old, new = UsageEvent.objects.order_by("occurred_at")
    assert old.occurred_at.minute == 0 and old.received_at.minute == 0
    expected = (timezone.now() - timedelta(minutes=5)).replace(second=0, microsecond=0)
    assert abs(new.occurred_at - expected) <= timedelta(minutes=1)  # still to the minute


def test_a_backfilled_days_salt_is_never_stored_and_visits_of_one_request_still_count_once(send, city_a):
    day_before = (timezone.now() - timedelta(days=3)).isoformat()
    send({"events": [event(occurred_at=day_before, visit_id="abc"), event(occurred_at=day_before, visit_id="abc")]})

    assert not DailySalt.objects.exists()
    keys = set(UsageEvent.objects.values_list("visit", flat=True))
    assert len(keys) == 1 and None not in keys
    # The same visit id later gets another key: nobody can hash it to the stored one.
    send(event(occurred_at=day_before, visit_id="abc"))
    assert UsageEvent.objects.values("visit").distinct().count() == 2


def test_housekeeping_deletes_a_salt_48_hours_after_its_day_not_after_its_creation(city_a):
    today = timezone.localdate()
    DailySalt.objects.create(day=today - timedelta(days=2), salt=b"x" * 32, created_at=timezone.now())
    DailySalt.objects.create(day=today - timedelta(days=1), salt=b"y" * 32, created_at=timezone.now())

    call_command("analytics_housekeeping", verbosity=0)

    assert list(DailySalt.objects.values_list("day", flat=True)) == [today - timedelta(days=1)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # found by the property tests above: a postcode's town pattern took the title, blocks of words
        # after "AA00" looked like an IBAN, a title or greeting was taken for the name after another one
        ("12345 Herr Müller", "[Adresse entfernt] [Name entfernt]"),
        ("AA00 Mein Name ist Müller", "AA00 Mein Name ist [Name entfernt]"),
        ("Frau Mein Name ist Müller", "Frau Mein Name ist [Name entfernt]"),
        ("Grüße Viele Grüße, Müller", "Grüße Viele Grüße, [Name entfernt]"),
        ("GB29 NWBK 6016 1331 9268 19", "[IBAN entfernt]"),
    ],
)
def test_names_behind_postcodes_words_and_second_titles_are_scrubbed(text, expected):
    assert scrub_comment(text) == expected
