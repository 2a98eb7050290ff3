"""Deterministic generator of realistic usage events for the six founding cities.

GENERATED DEMO DATA. The cities and their official keys (AGS) are those of the
demo cooperation (``dikom.demo.data``); the services, their funnels, seasonal
patterns, payment and authentication mixes are invented but plausible. Only
the LeiKa key 99050012104000 (Gewerbe anmelden) is a verified catalogue key;
the other 99… keys are plausible-looking placeholders marked ``leika_verified:
False`` below. Feedback carries ratings only, never free text.

The same ``--seed`` gives byte-identical output: every (city, day) draws from
its own ``random.Random(f"{seed}:{ags}:{day}")``, so any slice of the period
can be generated alone, in any order, and still matches the full run.

Outputs:

- ``json``: batches ``{"events": [...]}`` for ``POST /api/v1/analytics/events``
  (one JSON document per line, or one file per batch with ``--out-dir``);
- ``pg-copy``: rows straight into PostgreSQL's events table with ``COPY``
  (needs ``DATABASE_URL``; registers the cities' services first);
- ``sqlite``: rows into the embedded SQLite database with ``executemany``.

The bulk paths write what ingestion would have written (visit keys are random
32-hex strings instead of salted hashes, comments are empty); build the
rollups afterwards with ``manage.py analytics_rebuild`` or
``benchmarks/rebuild_rollups.py``.

Examples::

    python benchmarks/generate_events.py json --seed 1 --events 20000 --batch 10000 > /tmp/batches.jsonl
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dikom_bench \\
        python benchmarks/generate_events.py pg-copy --seed 1 --events 10000000
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

# (slug, name, AGS, population) of the founding cities, as in dikom.demo.data.
CITIES: tuple[tuple[str, str, str, int], ...] = (
    ("fulda", "Fulda", "06631009", 69_000),
    ("giessen", "Gießen", "06531005", 92_000),
    ("limburg", "Limburg a. d. Lahn", "06533009", 36_000),
    ("marburg", "Marburg", "06534014", 77_000),
    ("offenbach", "Offenbach am Main", "06413000", 131_000),
    ("wetzlar", "Wetzlar", "06532023", 53_000),
)

AUTH_METHODS = ("bundid", "elster", "eid", "organisation_account", "none")
PAYMENT_METHODS = ("giropay", "paydirekt", "creditcard", "paypal", "sepa_direct_debit", "invoice")
CHANNELS = ("web", "app_ios", "app_android", "kiosk")
DEVICES = ("desktop", "mobile", "tablet")
EVENT_COLUMNS = (
    "municipality_id", "service_id", "service_key", "event_id", "type", "occurred_at", "received_at", "visit",
    "step_key", "step_position", "auth_method", "payment_method", "channel", "device_class", "rating",
    "comment", "source", "api_key_prefix",
)  # fmt: skip

FLAT = (1.0,) * 12


@dataclass(frozen=True)
class ServiceSpec:
    """One online service: its funnel, mixes and seasonality (identical in every city, scaled by population)."""

    key: str
    name: str
    leika: str
    leika_verified: bool
    topic: str
    # Steps in order with the share of viewers who leave at that step.
    steps: tuple[tuple[str, float], ...]
    # Daily visits per 100 000 inhabitants on an average weekday.
    visits_per_100k: float
    # Weights per auth method (AUTH_METHODS order); the step after which people log in.
    auth: tuple[float, ...] = (0.45, 0.1, 0.15, 0.05, 0.25)
    auth_after: int = 1
    # Fee: weights per payment method (PAYMENT_METHODS order), or () for free services.
    payment: tuple[float, ...] = ()
    month: tuple[float, ...] = FLAT
    # Median minutes to complete.
    minutes: float = 8.0
    business: bool = False  # used on weekdays mostly (companies)
    extra: dict[str, Any] = field(default_factory=dict)


PAY_CITIZEN = (0.22, 0.04, 0.18, 0.3, 0.2, 0.06)
PAY_BUSINESS = (0.1, 0.02, 0.12, 0.06, 0.35, 0.35)

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "gewerbe-anmelden", "Gewerbe anmelden", "99050012104000", True, "Unternehmensführung & -entwicklung",
        (("betrieb", 0.12), ("inhaber", 0.08), ("taetigkeit", 0.1), ("unterlagen", 0.15), ("pruefen", 0.05)),
        6.0, auth=(0.35, 0.25, 0.1, 0.25, 0.05), payment=PAY_BUSINESS, minutes=14, business=True,
        month=(1.5, 1.1, 1.1, 1.0, 0.9, 0.9, 0.8, 0.8, 1.0, 1.0, 0.9, 0.7),
    ),
    ServiceSpec(
        "hundesteuer-anmelden", "Hund anmelden (Hundesteuer)", "99089001001000", False, "Steuern & Zoll",
        (("halter", 0.08), ("hund", 0.06), ("bankverbindung", 0.12), ("pruefen", 0.04)),
        2.5, payment=(), minutes=6,
        month=(2.6, 1.3, 1.0, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9),
    ),
    ServiceSpec(
        "anwohnerparken", "Bewohnerparkausweis beantragen", "99035005001000", False, "Mobilität & Reisen",
        (("antragsteller", 0.1), ("fahrzeug", 0.14), ("nachweise", 0.18), ("zahlung", 0.08), ("pruefen", 0.03)),
        5.0, auth=(0.55, 0.05, 0.2, 0.0, 0.2), auth_after=0, payment=PAY_CITIZEN, minutes=9,
        month=(0.8, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9, 1.1, 1.8, 1.5, 1.0, 0.8),
    ),
    ServiceSpec(
        "wohnsitz-anmelden", "Wohnsitz anmelden", "99115005001000", False, "Umzug & Wohnen",
        (("neue-anschrift", 0.1), ("personen", 0.12), ("wohnungsgeber", 0.2), ("pruefen", 0.04)),
        9.0, auth=(0.3, 0.0, 0.65, 0.0, 0.05), auth_after=0, minutes=11,
        month=(0.9, 0.9, 0.9, 1.0, 1.0, 1.0, 1.1, 1.2, 1.4, 1.3, 0.9, 0.7),
    ),
    ServiceSpec(
        "fuehrungszeugnis", "Führungszeugnis beantragen", "99017001001000", False, "Arbeit & Ruhestand",
        (("art", 0.06), ("person", 0.1), ("zahlung", 0.12), ("pruefen", 0.03)),
        4.0, auth=(0.3, 0.0, 0.7, 0.0, 0.0), auth_after=0, payment=PAY_CITIZEN, minutes=7,
        month=(1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.1, 1.0, 0.9, 0.7),
    ),
    ServiceSpec(
        "sperrmuell", "Sperrmüllabholung bestellen", "99006001001000", False, "Umwelt",
        (("adresse", 0.08), ("gegenstaende", 0.1), ("termin", 0.15)),
        12.0, auth=(0.1, 0.0, 0.02, 0.0, 0.88), minutes=4,
        month=(0.6, 0.7, 1.2, 1.4, 1.3, 1.1, 1.0, 1.0, 1.1, 1.2, 0.9, 0.6),
    ),
    ServiceSpec(
        "baumfaellgenehmigung", "Baumfällgenehmigung beantragen", "99086010001000", False, "Bauen & Wohnen",
        (("grundstueck", 0.1), ("baum", 0.12), ("begruendung", 0.25), ("unterlagen", 0.2), ("pruefen", 0.04)),
        0.8, payment=PAY_CITIZEN, minutes=18,
        month=(1.4, 2.2, 0.6, 0.4, 0.4, 0.4, 0.4, 0.5, 0.7, 1.6, 1.8, 1.3),
    ),
    ServiceSpec(
        "kita-platz", "Kita-Platz anmelden", "99121010001000", False, "Familie & Kind",
        (("kind", 0.08), ("eltern", 0.1), ("wunscheinrichtung", 0.14), ("betreuungszeit", 0.06), ("pruefen", 0.03)),
        2.0, auth=(0.6, 0.0, 0.25, 0.0, 0.15), minutes=16,
        month=(1.6, 1.5, 1.3, 1.0, 0.8, 0.7, 0.6, 0.7, 0.9, 1.1, 1.1, 0.8),
    ),
    ServiceSpec(
        "sondernutzung", "Sondernutzungserlaubnis beantragen", "99066005001000", False, "Mobilität & Reisen",
        (("ort", 0.12), ("zeitraum", 0.1), ("nutzung", 0.18), ("plan", 0.22), ("zahlung", 0.06)),
        1.5, auth=(0.3, 0.1, 0.05, 0.45, 0.1), payment=PAY_BUSINESS, minutes=15, business=True,
        month=(0.5, 0.6, 0.9, 1.3, 1.5, 1.5, 1.4, 1.3, 1.2, 0.9, 0.5, 0.4),
    ),
    ServiceSpec(
        "meldebescheinigung", "Meldebescheinigung beantragen", "99115011001000", False, "Umzug & Wohnen",
        (("art", 0.05), ("person", 0.07), ("zahlung", 0.1)),
        6.0, auth=(0.4, 0.0, 0.55, 0.0, 0.05), auth_after=0, payment=PAY_CITIZEN, minutes=5,
    ),
)  # fmt: skip

WEEKDAY = (1.15, 1.1, 1.05, 1.05, 0.95, 0.45, 0.35)  # Monday … Sunday
WEEKDAY_BUSINESS = (1.3, 1.25, 1.2, 1.2, 1.0, 0.1, 0.04)
# Share of the day's visits starting in each local hour.
HOURS = (1, 0.5, 0.3, 0.3, 0.5, 1, 2, 4, 7, 8, 8, 7.5, 6, 6.5, 7, 6.5, 6, 5.5, 5, 5, 4.5, 3.5, 2.5, 1.5)
HOUR_CUM = tuple(sum(HOURS[: i + 1]) for i in range(24))
CHANNEL_W = (0.86, 0.05, 0.07, 0.02)
DEVICE_W_WEB = (0.5, 0.42, 0.08)
RATING_W = (0.05, 0.05, 0.12, 0.33, 0.45)
FEEDBACK_RATE = 0.09
TRANSMISSION_ERROR_RATE = 0.004
PAYMENT_FAIL = (0.06, 0.09, 0.05, 0.03, 0.02, 0.0)
ABORT_EVENT_RATE = 0.35  # share of leavers whose form sends an explicit "aborted"


def _cum(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, items: Sequence[str], cum: Sequence[float]) -> str:
    x = rng.random() * cum[-1]
    for item, c in zip(items, cum, strict=True):
        if x < c:
            return item
    return items[-1]


def _poisson(rng: random.Random, mean: float) -> int:
    if mean < 30:
        limit, k, p = math.exp(-mean), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


Event = dict[str, Any]


class Generator:
    """Events of the founding cities over a period; ``scale`` multiplies every visit rate."""

    def __init__(self, seed: int = 1, scale: float = 1.0, services: Sequence[ServiceSpec] = SERVICES) -> None:
        self.seed = seed
        self.scale = scale
        self.services = tuple(services)
        self._auth_cum = {s.key: _cum(s.auth) for s in self.services}
        self._pay_cum = {s.key: _cum(s.payment) for s in self.services if s.payment}
        self._channel_cum = _cum(CHANNEL_W)
        self._device_cum = _cum(DEVICE_W_WEB)
        self._rating_cum = _cum(RATING_W)
        self._hour_cum = list(HOUR_CUM)

    # --- one visit ------------------------------------------------------------------

    def _visit(self, rng: random.Random, spec: ServiceSpec, start: datetime, number: int, tag: str) -> list[Event]:
        """The events of one visit (``start`` is an aware datetime)."""
        visit_id = f"{rng.getrandbits(64):016x}"
        channel = _pick(rng, CHANNELS, self._channel_cum)
        device = "mobile" if channel.startswith("app") else ("desktop" if channel == "kiosk" else "")
        if not device:
            device = _pick(rng, DEVICES, self._device_cum)
        per_step = spec.minutes * 60 / (len(spec.steps) + 1)
        t = start
        events: list[Event] = []
        seq = 0

        def emit(kind: str, **extra: Any) -> None:
            nonlocal seq
            seq += 1
            event: Event = {
                "event_id": f"{tag}-{number}-{seq}",
                "type": kind,
                "service": spec.key,
                "occurred_at": t,
                "visit_id": visit_id,
                "channel": channel,
                "device_class": device,
            }
            event.update(extra)
            events.append(event)

        def advance() -> None:
            nonlocal t
            t += timedelta(seconds=rng.lognormvariate(math.log(per_step), 0.6))

        emit("service_started")
        auth_done = False
        for position, (step, drop) in enumerate(spec.steps, start=1):
            if position - 1 == spec.auth_after and not auth_done:
                method = _pick(rng, AUTH_METHODS, self._auth_cum[spec.key])
                advance()
                emit("auth_chosen", auth_method=method)
                if method != "none" and rng.random() < 0.12:  # login abandoned
                    if rng.random() < ABORT_EVENT_RATE:
                        emit("aborted", step_key=step, step_position=position)
                    return events
                advance()
                emit("auth_completed", auth_method=method)
                auth_done = True
            advance()
            emit("step_viewed", step_key=step, step_position=position)
            if rng.random() < drop:
                if rng.random() < ABORT_EVENT_RATE:
                    advance()
                    emit("aborted", step_key=step, step_position=position)
                return events
            advance()
            emit("step_completed", step_key=step, step_position=position)
        if spec.payment:
            index = PAYMENT_METHODS.index(_pick(rng, PAYMENT_METHODS, self._pay_cum[spec.key]))
            method = PAYMENT_METHODS[index]
            emit("payment_chosen", payment_method=method)
            advance()
            if rng.random() < PAYMENT_FAIL[index]:
                emit("payment_failed", payment_method=method)
                if rng.random() < 0.5:  # half give up, half try once more and succeed
                    return events
                advance()
            emit("payment_completed", payment_method=method)
        advance()
        if rng.random() < TRANSMISSION_ERROR_RATE:
            emit("transmission_error")
            return events
        emit("submitted")
        if rng.random() < FEEDBACK_RATE:
            t += timedelta(seconds=rng.uniform(5, 60))
            emit("feedback", rating=RATINGS[_rating_index(rng, self._rating_cum)])
        return events

    # --- days -----------------------------------------------------------------------

    def day(self, ags: str, population: int, day: date) -> Iterator[Event]:
        """Every event that starts on local ``day`` in the city ``ags``, in visit order (deterministic)."""
        rng = random.Random(f"{self.seed}:{ags}:{day.isoformat()}")
        weekday = day.weekday()
        n = 0
        for spec in self.services:
            base = spec.visits_per_100k * population / 100_000 * self.scale
            factor = (WEEKDAY_BUSINESS if spec.business else WEEKDAY)[weekday] * spec.month[day.month - 1]
            visits = _poisson(rng, base * factor)
            for _ in range(visits):
                hour = _hour(rng, self._hour_cum)
                start = datetime(
                    day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=BERLIN
                )
                n += 1
                yield from self._visit(rng, spec, start, n, f"g{self.seed}-{ags}-{day:%Y%m%d}")

    def events(self, since: date, until: date, cities: Sequence[tuple[str, str, str, int]] = CITIES) -> Iterator[Event]:
        """Events of every city and day from ``since`` to ``until`` (inclusive), day by day."""
        day = since
        while day <= until:
            for _slug, _name, ags, population in cities:
                yield from self.day(ags, population, day)
            day += timedelta(days=1)


RATINGS = (1, 2, 3, 4, 5)


def _rating_index(rng: random.Random, cum: Sequence[float]) -> int:
    x = rng.random() * cum[-1]
    for i, c in enumerate(cum):
        if x < c:
            return i
    return len(cum) - 1


def _hour(rng: random.Random, cum: Sequence[float]) -> int:
    x = rng.random() * cum[-1]
    for i, c in enumerate(cum):
        if x < c:
            return i
    return 23


def events_per_day_at_scale_1(seed: int = 1) -> float:
    """Average events per day for all six cities at ``scale=1`` (estimated over four sample weeks)."""
    gen = Generator(seed=seed)
    total = 0
    days = 0
    for month in (1, 4, 7, 10):
        for offset in range(7):
            d = date(2025, month, 3 + offset)
            days += 1
            total += sum(1 for _city in CITIES for _e in gen.day(_city[2], _city[3], d))
    return total / days


def scale_for(events: int, days: int, seed: int = 1) -> float:
    """The scale that yields about ``events`` events over ``days`` days."""
    return events / (events_per_day_at_scale_1(seed) * days)


def to_json(event: Event) -> dict[str, Any]:
    """The API form of an event (ISO 8601 timestamp)."""
    return {**event, "occurred_at": event["occurred_at"].isoformat()}


def json_batches(events: Iterator[Event], size: int) -> Iterator[bytes]:
    """``{"events": [...]}`` request bodies of ``size`` events each (the last may be smaller)."""
    batch: list[dict[str, Any]] = []
    for event in events:
        batch.append(to_json(event))
        if len(batch) == size:
            yield json.dumps({"events": batch}, separators=(",", ":")).encode()
            batch = []
    if batch:
        yield json.dumps({"events": batch}, separators=(",", ":")).encode()


# --- bulk loading ---------------------------------------------------------------------


def recent_period(days: int, until: date | None = None) -> tuple[date, date]:
    """The ``days`` local days up to yesterday (inside the 400-day ingestion window)."""
    end = until or (datetime.now(BERLIN).date() - timedelta(days=1))
    return end - timedelta(days=days - 1), end


def setup_django() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    django.setup()


def register_services(cities: Sequence[tuple[str, str, str, int]] = CITIES) -> dict[str, tuple[int, dict[str, int]]]:
    """Make sure the cities exist (``load_demo``) and have the generated services; AGS → (id, {key: service id})."""
    from django.core.management import call_command

    from dikom.analytics.models import Service, SourceSystem
    from dikom.municipalities.models import Municipality

    if Municipality.objects.filter(ags__in=[c[2] for c in cities]).count() != len(cities):
        call_command("load_demo")
    result = {}
    for _slug, _name, ags, _population in cities:
        municipality = Municipality.objects.get(ags=ags)
        for spec in SERVICES:
            Service.objects.get_or_create(
                municipality=municipality,
                external_key=spec.key,
                defaults={
                    "name": spec.name,
                    "leika_key": spec.leika,
                    "ozg_topic": spec.topic,
                    "source_system": SourceSystem.PORTAL,
                },
            )
        keys = dict(Service.objects.filter(municipality=municipality).values_list("external_key", "pk"))
        result[ags] = (municipality.pk, keys)
    return result


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    return str(value)


def bulk_rows(
    gen: Generator, since: date, until: date, ids: dict[str, tuple[int, dict[str, int]]], salt: str
) -> Iterator[tuple[Any, ...]]:
    """Rows in ``EVENT_COLUMNS`` order, as ingestion would store them (visit key: random 32 hex, no comment)."""
    import hashlib

    visit_keys: dict[str, str] = {}
    day = since
    while day <= until:
        for _slug, _name, ags, population in CITIES:
            mid, services = ids[ags]
            visit_keys.clear()
            for e in gen.day(ags, population, day):
                vid = e["visit_id"]
                key = visit_keys.get(vid)
                if key is None:
                    key = hashlib.sha256(f"{salt}{mid}:{vid}".encode()).hexdigest()[:32]
                    visit_keys[vid] = key
                occurred = e["occurred_at"]
                yield (
                    mid,
                    services.get(e["service"]),
                    e["service"],
                    e["event_id"],
                    e["type"],
                    occurred,
                    occurred + timedelta(seconds=2),
                    key,
                    e.get("step_key", ""),
                    e.get("step_position"),
                    e.get("auth_method", ""),
                    e.get("payment_method", ""),
                    e["channel"],
                    e["device_class"],
                    e.get("rating"),
                    "",
                    "api",
                    "generator",
                )
        day += timedelta(days=1)


def load_postgresql(rows: Iterator[tuple[Any, ...]], report_every: int = 1_000_000) -> int:
    """COPY ``rows`` into the events table in chunks of 100 000 rows, committing each; returns the count."""
    from django.db import connection

    from dikom.analytics.models import UsageEvent

    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    columns = ", ".join(EVENT_COLUMNS)
    count = 0
    started = time.perf_counter()
    connection.ensure_connection()
    raw = connection.connection
    done = False
    while not done:
        buffer = io.StringIO()
        n = 0
        for row in rows:
            buffer.write("\t".join(_copy_text(v) for v in row))
            buffer.write("\n")
            n += 1
            if n == 100_000:
                break
        else:
            done = True
        if n:
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
            raw.commit()
        before = count
        count += n
        if count // report_every != before // report_every:
            rate = count / (time.perf_counter() - started)
            print(f"  {count:>12,} rows  {rate:,.0f} rows/s", file=sys.stderr, flush=True)
    return count


DEFERRED_TABLE = "dikom_bench_deferred_ddl"


def _deferred_ddl(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(DROP, CREATE) statements of the events table's foreign keys, unique constraints and secondary indexes.

    Recorded in ``DEFERRED_TABLE`` before anything is dropped, so that a load
    that dies half-way is repaired by the next run (which finds them there).
    """
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {DEFERRED_TABLE} (pos serial, drop_sql text, create_sql text)")
    cursor.execute(f"SELECT drop_sql, create_sql FROM {DEFERRED_TABLE} ORDER BY pos")  # noqa: S608 - fixed table name
    recorded = cursor.fetchall()
    if recorded:
        return [tuple(row) for row in recorded]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY contype, conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND i.indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u')) "
        "ORDER BY i.indexname",
        [table, table],
    )
    indexes = cursor.fetchall()
    ddl = [
        (f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"', f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {d}')
        for name, d, kind in constraints
        if kind == "f"
    ]
    ddl += [
        (f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"', f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {d}')
        for name, d, kind in constraints
        if kind == "u"
    ]
    ddl += [(f'DROP INDEX "{name}"', definition) for name, definition in indexes]
    for drop_sql, create_sql in ddl:
        cursor.execute(
            f"INSERT INTO {DEFERRED_TABLE} (drop_sql, create_sql) VALUES (%s, %s)",  # noqa: S608 - fixed table name
            [drop_sql, create_sql],
        )
    return ddl


def load_postgresql_parallel(args: argparse.Namespace, since: date, until: date, scale: float) -> int:
    """``--workers`` processes load disjoint day ranges with COPY; with ``--defer-indexes`` the table's
    secondary indexes and constraints are dropped first and rebuilt afterwards (one sort per index)."""
    import subprocess

    from django.db import connection

    from dikom.analytics.models import UsageEvent

    table = UsageEvent._meta.db_table
    connection.ensure_connection()
    raw = connection.connection
    ddl: list[tuple[str, str]] = []
    if args.defer_indexes:
        with raw.cursor() as cursor:
            ddl = _deferred_ddl(cursor, table)
            for drop_sql, _create in reversed(ddl):
                cursor.execute(
                    drop_sql.replace("DROP CONSTRAINT", "DROP CONSTRAINT IF EXISTS").replace(
                        "DROP INDEX", "DROP INDEX IF EXISTS"
                    )
                )
        raw.commit()
        print(f"dropped {len(ddl)} indexes and constraints for the load", file=sys.stderr)
    days = (until - since).days + 1
    workers = max(1, min(args.workers, days))
    bounds = [since + timedelta(days=days * i // workers) for i in range(workers + 1)]
    procs = []
    for i in range(workers):
        first, last = bounds[i], bounds[i + 1] - timedelta(days=1)
        procs.append(
            subprocess.Popen(  # noqa: S603 - this script, with our own interpreter
                [
                    sys.executable,
                    __file__,
                    "pg-copy",
                    "--seed",
                    str(args.seed),
                    "--scale",
                    repr(scale),
                    "--slice",
                    first.isoformat(),
                    last.isoformat(),
                ]
            )
        )
    failed = [p.wait() for p in procs]
    if any(failed):
        raise SystemExit(f"a loader failed: exit codes {failed}; run again to finish (indexes stay dropped)")
    with raw.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - model table
        (count,) = cursor.fetchone()
    if ddl:
        started = time.perf_counter()
        with raw.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '2GB'")
            cursor.execute("SET max_parallel_maintenance_workers = 2")
            for _drop, create_sql in ddl[::-1]:
                step = time.perf_counter()
                cursor.execute(create_sql)
                raw.commit()
                print(f"  {time.perf_counter() - step:7.1f} s  {create_sql[:110]}", file=sys.stderr)
            cursor.execute(f"DROP TABLE {DEFERRED_TABLE}")
            cursor.execute(f'ANALYZE "{table}"')
        raw.commit()
        print(f"rebuilt {len(ddl)} indexes and constraints in {time.perf_counter() - started:,.1f} s", file=sys.stderr)
    return int(count)


def load_sqlite(rows: Iterator[tuple[Any, ...]], report_every: int = 1_000_000) -> int:
    """executemany ``rows`` into the events table in transactions of 100 000 rows; returns the count."""
    from django.db import connection

    from dikom.analytics.models import UsageEvent

    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"  # noqa: S608
    connection.ensure_connection()
    raw = connection.connection
    adapt = connection.ops.adapt_datetimefield_value
    count = 0
    started = time.perf_counter()
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        raw.executemany(sql, chunk)
        raw.commit()
        chunk.clear()

    for row in rows:
        chunk.append((*row[:5], adapt(row[5]), adapt(row[6]), *row[7:]))
        count += 1
        if len(chunk) == 100_000:
            flush()
            if count % report_every == 0:
                print(f"  {count:>12,} rows  {count / (time.perf_counter() - started):,.0f} rows/s", file=sys.stderr)
    if chunk:
        flush()
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", choices=["json", "pg-copy", "sqlite", "stats"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--events", type=int, default=100_000, help="About this many events in all.")
    parser.add_argument("--days", type=int, default=365, help="Local days up to yesterday.")
    parser.add_argument("--until", type=date.fromisoformat, help="Last day (default: yesterday).")
    parser.add_argument("--batch", type=int, default=10_000, help="json: events per batch.")
    parser.add_argument("--out-dir", type=Path, help="json: one file per batch instead of JSON lines on stdout.")
    parser.add_argument("--workers", type=int, default=1, help="pg-copy: loader processes on disjoint day ranges.")
    parser.add_argument(
        "--defer-indexes",
        action="store_true",
        help="pg-copy: drop the events table's secondary indexes and constraints for the load, rebuild them after.",
    )
    parser.add_argument("--slice", nargs=2, type=date.fromisoformat, help=argparse.SUPPRESS)  # a worker's days
    parser.add_argument("--scale", type=float, help=argparse.SUPPRESS)  # the whole run's scale, given to workers
    args = parser.parse_args(argv)

    since, until = recent_period(args.days, args.until)
    scale = args.scale or scale_for(args.events, args.days, args.seed)
    if args.slice:
        since, until = args.slice
    gen = Generator(seed=args.seed, scale=scale)
    print(
        f"generator: seed {args.seed}, {since}..{until} ({args.days} days), scale {scale:.3f}, "
        f"target ~{args.events:,} events, {len(CITIES)} cities × {len(SERVICES)} services",
        file=sys.stderr,
    )
    started = time.perf_counter()
    if args.output == "json":
        if args.out_dir:
            args.out_dir.mkdir(parents=True, exist_ok=True)
        for index, body in enumerate(json_batches(gen.events(since, until), args.batch)):
            if args.out_dir:
                (args.out_dir / f"batch-{index:06d}.json").write_bytes(body)
            else:
                sys.stdout.buffer.write(body + b"\n")
        return 0
    if args.output == "stats":
        from collections import Counter

        counts = Counter(e["type"] for e in gen.events(since, until))
        print(json.dumps({"total": sum(counts.values()), **counts}, indent=1))
        return 0
    setup_django()
    from django.db import connection

    ids = register_services()
    salt = f"bench{args.seed}"
    if args.output == "pg-copy" and connection.vendor != "postgresql":
        parser.error("pg-copy needs DATABASE_URL=postgres://…")
    if args.output == "pg-copy" and (args.workers > 1 or args.defer_indexes) and not args.slice:
        count = load_postgresql_parallel(args, since, until, scale)
    elif args.output == "pg-copy":
        count = load_postgresql(bulk_rows(gen, since, until, ids, salt))
    else:
        if connection.vendor != "sqlite":
            parser.error("sqlite needs the embedded database (no DATABASE_URL)")
        count = load_sqlite(bulk_rows(gen, since, until, ids, salt))
    elapsed = time.perf_counter() - started
    print(f"loaded {count:,} events in {elapsed:,.1f} s ({count / elapsed:,.0f} events/s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
