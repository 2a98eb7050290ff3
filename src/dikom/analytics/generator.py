"""Deterministic generator of realistic usage events for the six founding cities.

GENERATED DEMO DATA. The cities and their official keys (AGS) are those of the
demo cooperation (``dikom.demo.data``); the services, their funnels, seasonal
patterns, payment and authentication mixes are invented but plausible. Only
the LeiKa key 99050012104000 (Gewerbe anmelden) is a verified catalogue key;
the other 99… keys are plausible-looking placeholders marked ``leika_verified:
False`` below. Feedback carries ratings only, never free text.

The same seed gives identical events: every (city, day) draws from its own
``random.Random(f"{seed}:{ags}:{day}")``, so any slice of a period can be
generated alone, in any order, and still matches the full run.

Used by the demo cooperation (``dikom.analytics.demo``, usage data of the last
months in ``make run``) and by the benchmarks (``benchmarks/generate_events.py``:
JSON batches, PostgreSQL ``COPY``, SQLite bulk loads). Pure Python, no Django.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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

    def _visit(
        self, rng: random.Random, spec: ServiceSpec, start: datetime, ids: random.Random, tag: str
    ) -> list[Event]:
        """The events of one visit (``start`` is an aware datetime).

        Event ids are random (from their own deterministic stream, so that a later run of the
        demo loader regenerates the same ids): they name the city and day, never the visit or
        the event's place in it, which would link a visit's events once its salt is gone.
        """
        visit_id = f"{rng.getrandbits(64):016x}"
        channel = _pick(rng, CHANNELS, self._channel_cum)
        device = "mobile" if channel.startswith("app") else ("desktop" if channel == "kiosk" else "")
        if not device:
            device = _pick(rng, DEVICES, self._device_cum)
        per_step = spec.minutes * 60 / (len(spec.steps) + 1)
        t = start
        events: list[Event] = []

        def emit(kind: str, **extra: Any) -> None:
            event: Event = {
                "event_id": f"{tag}-{ids.getrandbits(64):016x}",
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
        rng = random.Random(f"{self.seed}:{ags}:{day.isoformat()}")  # noqa: S311 - deterministic demo data
        ids = random.Random(f"{self.seed}:{ags}:{day.isoformat()}:ids")  # noqa: S311 - deterministic demo data
        weekday = day.weekday()
        for spec in self.services:
            base = spec.visits_per_100k * population / 100_000 * self.scale
            factor = (WEEKDAY_BUSINESS if spec.business else WEEKDAY)[weekday] * spec.month[day.month - 1]
            visits = _poisson(rng, base * factor)
            for _ in range(visits):
                hour = _hour(rng, self._hour_cum)
                start = datetime(
                    day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=BERLIN
                )
                yield from self._visit(rng, spec, start, ids, f"g{self.seed}-{ags}-{day:%Y%m%d}")

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
