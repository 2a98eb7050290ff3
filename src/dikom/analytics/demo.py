"""Usage data of the demo cooperation: GENERATED DEMO DATA for the dashboards.

The six founding cities get the generator's ten measured services
(``dikom.analytics.generator``: invented funnels, mixes and seasons; LeiKa keys
are placeholders except 99050012104000) and their events of the last
``days`` local days up to yesterday (from the first of the first month on), stored through the same validation and
storage path as the HTTP API (visit ids hashed with the day's salt, comments
scrubbed) and rolled up at once. A few feedback events carry invented
comments, some with a phone number or an e-mail address that the scrubber
removes, so the comments page shows what a data-protection officer would see.

For the city comparison, four cities share these services by name (Limburg
and Wetzlar only count inside averages); for open data, the same four publish
their monthly tables. Both are switched on when the services are registered,
so a later run does not undo what a user switched off.

Idempotent and kept current: events carry the generator's event ids, so a
second run stores nothing twice; a run on a later day adds the days since the
newest demo event (from the day of that event, whose duplicates are skipped).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from dikom.analytics import actions
from dikom.analytics.generator import CITIES, SERVICES, Generator, recent_period, to_json
from dikom.analytics.ingest import ingest_events
from dikom.analytics.models import EventSource, Service, ServiceKeyAlias, SourceSystem, UsageEvent
from dikom.analytics.rollups import local_zone
from dikom.analytics.sharing import actions as sharing_actions
from dikom.municipalities.models import Municipality

DEMO_DAYS = 90
SEED = 1
# Cities that share their figures by name in the comparison and publish open data.
PARTICIPATING = ("fulda", "giessen", "marburg", "offenbach")
BATCH = 10_000

# Invented feedback comments (German, as citizens write them). Two carry contact data
# that must never be stored: the scrubber replaces them before the comment is saved.
COMMENTS = (
    "Ging schnell und war verständlich, danke!",
    "Die Anmeldung mit der BundID hat beim ersten Mal nicht geklappt.",
    "Bitte die Hochladefunktion auch für Fotos vom Handy ermöglichen.",
    "Rufen Sie mich gern an: 0641 1234567",
    "Ich hätte gern eine Bestätigung per E-Mail an max.muster@example.org bekommen.",
    "Sehr gut, viel besser als der Gang ins Amt.",
    "Die Gebühr war nicht vorher ersichtlich.",
    "Schritt mit den Nachweisen war unklar, welche Unterlagen genau?",
)
COMMENT_SHARE = 4  # about one in four feedback events carries a comment


@dataclass
class DemoUsage:
    services_created: int = 0
    events_stored: int = 0
    events_rejected: int = 0
    days: tuple[date, date] | None = None
    cities: list[str] = field(default_factory=list)


def _with_comment(event: dict[str, Any]) -> dict[str, Any]:
    """The generator's feedback carries a rating only; give some of them a comment (deterministic)."""
    if event["type"] != "feedback":
        return event
    digest = hashlib.sha256(event["event_id"].encode()).digest()
    if digest[0] % COMMENT_SHARE:
        return event
    return {**event, "comment": COMMENTS[digest[1] % len(COMMENTS)]}


# What the generator's invented step keys are called on the forms (German, English).
STEP_LABELS: dict[str, tuple[str, str]] = {
    "adresse": ("Adresse", "Address"),
    "antragsteller": ("Antragsteller/in", "Applicant"),
    "art": ("Art des Dokuments", "Kind of document"),
    "bankverbindung": ("Bankverbindung", "Bank account"),
    "baum": ("Baum", "Tree"),
    "begruendung": ("Begründung", "Reason"),
    "betreuungszeit": ("Betreuungszeit", "Hours of care"),
    "betrieb": ("Betrieb", "Business"),
    "eltern": ("Eltern", "Parents"),
    "fahrzeug": ("Fahrzeug", "Vehicle"),
    "gegenstaende": ("Gegenstände", "Items"),
    "grundstueck": ("Grundstück", "Plot"),
    "halter": ("Halter/in", "Owner"),
    "hund": ("Hund", "Dog"),
    "inhaber": ("Inhaber/in", "Owner"),
    "kind": ("Kind", "Child"),
    "nachweise": ("Nachweise", "Evidence"),
    "neue-anschrift": ("Neue Anschrift", "New address"),
    "nutzung": ("Art der Nutzung", "Kind of use"),
    "ort": ("Ort", "Place"),
    "person": ("Person", "Person"),
    "personen": ("Personen", "People"),
    "plan": ("Lageplan", "Site plan"),
    "pruefen": ("Angaben prüfen", "Check your answers"),
    "taetigkeit": ("Tätigkeit", "Activity"),
    "termin": ("Termin", "Appointment"),
    "unterlagen": ("Unterlagen", "Documents"),
    "wohnungsgeber": ("Wohnungsgeber/in", "Landlord"),
    "wunscheinrichtung": ("Wunscheinrichtung", "Preferred day care"),
    "zahlung": ("Bezahlung", "Payment"),
    "zeitraum": ("Zeitraum", "Period"),
}


def _step_labels(spec: Any) -> dict[str, dict[str, str]]:
    return {
        key: {"de": STEP_LABELS[key][0], "en": STEP_LABELS[key][1]} for key, _drop in spec.steps if key in STEP_LABELS
    }


def ensure_services(municipality: Municipality) -> list[Service]:
    """The generator's services the city does not have yet, registered now (audited).

    Services registered by an earlier run without step labels get them (the funnel shows labels, not keys).
    """
    services = list(Service.objects.filter(municipality=municipality))
    existing = {s.external_key for s in services} | set(
        ServiceKeyAlias.objects.filter(municipality=municipality).values_list("key", flat=True)
    )
    by_leika = {s.leika_key: s for s in services if s.leika_key}
    created = []
    for spec in SERVICES:
        if spec.key in existing:
            Service.objects.filter(municipality=municipality, external_key=spec.key, step_labels={}).update(
                step_labels=_step_labels(spec)
            )
        elif spec.leika in by_leika:
            # The portal already measures this service (same LeiKa key): one service, the generator's key an alias.
            service = by_leika[spec.leika]
            ServiceKeyAlias.objects.create(municipality=municipality, key=spec.key, service=service)
            labels = {**_step_labels(spec), **(service.step_labels or {})}
            Service.objects.filter(pk=service.pk).update(step_labels=labels)
            created.append(service)
        else:
            created.append(
                actions.create_service(
                    municipality=municipality,
                    name=spec.name,
                    external_key=spec.key,
                    leika_key=spec.leika,
                    ozg_topic=spec.topic,
                    source_system=SourceSystem.OTHER,
                    step_labels=_step_labels(spec),
                )
            )
    return created


def _first_day(municipality: Municipality, since: date) -> date:
    """``since``, or the day of the newest demo event when it is later (a later run tops up)."""
    newest = UsageEvent.objects.filter(
        municipality=municipality, event_id__startswith=f"g{SEED}-{municipality.ags}-"
    ).aggregate(newest=Max("occurred_at"))["newest"]
    if newest is None:
        return since
    return max(since, newest.astimezone(local_zone()).date())


def load_demo_usage(*, days: int = DEMO_DAYS, until: date | None = None, whole_months: bool = True) -> DemoUsage:
    """Register the demo services and store the generated usage of the last ``days`` days (see module).

    With ``whole_months`` the period starts on the first of its first month, so that every
    month the open data tables publish (complete past months) holds data for all its days.
    """
    result = DemoUsage()
    if days <= 0:
        return result
    since, until = recent_period(days, until)
    if whole_months:
        since = since.replace(day=1)
    result.days = (since, until)
    generator = Generator(seed=SEED)
    now = timezone.now()
    by_ags = {m.ags: m for m in Municipality.objects.filter(is_demo=True, ags__in=[c[2] for c in CITIES])}
    for city in CITIES:
        municipality = by_ags.get(city[2])
        if municipality is None:
            continue
        result.cities.append(municipality.slug)
        created = ensure_services(municipality)
        result.services_created += len(created)
        # Sharing and publishing are switched on with the services, once: what a user
        # switches off later stays off when the demo is loaded again.
        if created and municipality.slug in PARTICIPATING:
            with transaction.atomic():
                for service in created:
                    sharing_actions.enable_share(service=service, actor=None)
                sharing_actions.set_open_data_publication(municipality=municipality, enabled=True, actor=None)
        first = _first_day(municipality, since)
        if first > until:
            continue
        batch: list[dict[str, Any]] = []
        day = first
        while day <= until:
            # A visit that started late yesterday may run past now: those events have not happened yet.
            batch.extend(
                to_json(_with_comment(event))
                for event in generator.day(municipality.ags, city[3], day)
                if event["occurred_at"] <= now
            )
            if len(batch) >= BATCH or day == until:
                if batch:
                    outcome = ingest_events(municipality, batch, source=EventSource.API)
                    result.events_stored += outcome.accepted
                    result.events_rejected += len(outcome.rejected)
                batch = []
            day += timedelta(days=1)
        # Rolled up now, so the dashboards are complete when the server starts; the worker's
        # queued tasks then find no marker left and have nothing to do.
        day = first
        while day <= until + timedelta(days=1):
            while actions.rebuild_pending(municipality.pk, day):
                pass
            day += timedelta(days=1)
    return result
