"""Everything that changes collection data: sites and rules (audited), tracking, unmatched counters.

Usage events are stored only through ``dikom.analytics.service.record_usage_events``
(the core's validation and storage path).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dikom.analytics import rollups
from dikom.analytics.collect.mapping import compile_rules, map_request
from dikom.analytics.collect.matomo import MatomoRequest
from dikom.analytics.collect.models import CollectionSite, MatomoRule, UnmatchedRequests
from dikom.analytics.models import EventSource
from dikom.analytics.service import record_usage_events
from dikom.audit import actions as audit
from dikom.municipalities.models import Municipality

SITE_FIELDS = ("name", "matomo_idsite", "allowed_origins", "require_origin", "enabled")
RULE_FIELDS = (
    "position",
    "match_on",
    "pattern",
    "event_category",
    "event_action",
    "event_name",
    "dimension_index",
    "dimension_value",
    "service_key",
    "event_type",
    "step_key",
    "step_position",
    "auth_method",
    "payment_method",
    "channel",
    "stop",
)


def _changes(obj: Any, before: dict[str, Any] | None, names: Sequence[str]) -> dict[str, Any]:
    after = {name: getattr(obj, name) for name in names}
    if before is None:
        return {name: [None, value] for name, value in after.items()}
    return {name: [before[name], value] for name, value in after.items() if before[name] != value}


# --- Sites and rules ------------------------------------------------------------------------


def create_site(*, municipality: Municipality, actor: Any = None, **values: Any) -> CollectionSite:
    site = CollectionSite(municipality=municipality, **{k: v for k, v in values.items() if k in SITE_FIELDS})
    site.full_clean()
    with transaction.atomic():
        site.save()
        audit.record(
            "analytics.collect.site.create",
            actor=actor,
            municipality=municipality,
            obj=site,
            changes={"site_id": site.site_id, **_changes(site, None, SITE_FIELDS)},
        )
    return site


def update_site(*, site: CollectionSite, actor: Any = None, **values: Any) -> CollectionSite:
    before = {name: getattr(site, name) for name in SITE_FIELDS}
    for name, value in values.items():
        if name in SITE_FIELDS:
            setattr(site, name, value)
    site.full_clean()
    with transaction.atomic():
        site.save()
        audit.record(
            "analytics.collect.site.update",
            actor=actor,
            municipality=site.municipality_id,
            obj=site,
            changes=_changes(site, before, SITE_FIELDS),
        )
    return site


def delete_site(*, site: CollectionSite, actor: Any = None) -> None:
    with transaction.atomic():
        audit.record(
            "analytics.collect.site.delete",
            actor=actor,
            municipality=site.municipality_id,
            obj=site,
            changes={"site_id": site.site_id, "name": site.name},
        )
        site.delete()


def save_rule(*, rule: MatomoRule, actor: Any = None, before: dict[str, Any] | None = None) -> MatomoRule:
    """Validate and save a new or changed rule; ``before`` holds the old values of a changed one."""
    rule.full_clean()
    created = rule.pk is None
    with transaction.atomic():
        rule.save()
        audit.record(
            "analytics.collect.rule.create" if created else "analytics.collect.rule.update",
            actor=actor,
            municipality=rule.site.municipality_id,
            obj=rule,
            changes={"site": rule.site.site_id, **_changes(rule, None if created else before, RULE_FIELDS)},
        )
    return rule


def rule_values(rule: MatomoRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


def delete_rule(*, rule: MatomoRule, actor: Any = None) -> None:
    with transaction.atomic():
        audit.record(
            "analytics.collect.rule.delete",
            actor=actor,
            municipality=rule.site.municipality_id,
            obj=rule,
            changes={"site": rule.site.site_id, **_changes(rule, None, RULE_FIELDS)},
        )
        rule.delete()


# --- Matomo tracking ------------------------------------------------------------------------

TRACKED = "tracked"
INVALID = "invalid"
UNMATCHED = "unmatched"


@dataclass
class TrackingOutcome:
    """Per request: ``tracked``, ``invalid`` or ``unmatched``, and the events each produced (for dry runs)."""

    statuses: list[str] = field(default_factory=list)
    events: list[list[dict[str, Any]]] = field(default_factory=list)
    errors: list[list[dict[str, Any]]] = field(default_factory=list)


def events_for(
    site: CollectionSite, request: MatomoRequest, *, now: datetime, trusted: bool, rules: Sequence[Any] | None = None
) -> list[dict[str, Any]] | None:
    """The native events one Matomo request turns into; None when ``cdt`` cannot be read."""
    compiled = rules if rules is not None else compile_rules(site.rules.all())
    occurred_at = now
    if trusted and request.custom_time_given:
        if request.custom_time is None:
            return None
        occurred_at = request.custom_time
    events = []
    for position, (_rule, event) in enumerate(map_request(compiled, request)):
        event["occurred_at"] = occurred_at.isoformat()
        if request.fingerprint:
            # The same hit sent again (a tracker's resend) maps to the same event ids: the core stores it once.
            event["event_id"] = f"matomo-{site.pk}-{request.fingerprint}-{position}"
        if request.visit_id:
            event["visit_id"] = request.visit_id
        if request.device_class:
            event["device_class"] = request.device_class
        events.append(event)
    return events


def track_matomo(
    items: Sequence[tuple[CollectionSite | None, MatomoRequest | None]], *, trusted: bool, api_key_prefix: str = ""
) -> TrackingOutcome:
    """Map Matomo requests (with their resolved, enabled sites) to events and store them through the core.

    ``trusted``: the sender authenticated with an API key of the sites'
    municipality (then ``cdt`` is honoured). Unknown or disabled sites and
    requests without ``rec=1`` are invalid; requests no rule matches are
    counted per site and day.
    """
    now = timezone.now()
    outcome = TrackingOutcome(statuses=[INVALID] * len(items), events=[[] for _ in items], errors=[[] for _ in items])
    compiled: dict[int, list[Any]] = {}
    per_city: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    cities: dict[int, Municipality] = {}
    unmatched: dict[int, int] = defaultdict(int)
    for index, (site, request) in enumerate(items):
        if site is None or request is None or not site.enabled or not request.rec:
            continue
        if request.ping:  # heartbeat: accepted, nothing to map
            outcome.statuses[index] = TRACKED
            continue
        if site.pk not in compiled:
            compiled[site.pk] = compile_rules(site.rules.all())
        events = events_for(site, request, now=now, trusted=trusted, rules=compiled[site.pk])
        if events is None:
            outcome.errors[index].append({"field": "cdt", "message": "unreadable", "code": "invalid"})
            continue
        if not events:
            outcome.statuses[index] = UNMATCHED
            unmatched[site.pk] += 1
            continue
        outcome.events[index] = events
        cities[site.municipality_id] = site.municipality
        per_city[site.municipality_id].extend((index, event) for event in events)

    for municipality_id, pairs in per_city.items():
        result = record_usage_events(
            cities[municipality_id],
            [event for _i, event in pairs],
            source=EventSource.MATOMO,
            api_key_prefix=api_key_prefix,
        )
        rejected_events = {item["index"]: item["errors"] for item in result.rejected}
        good: dict[int, bool] = defaultdict(bool)
        for position, (index, _event) in enumerate(pairs):
            if position in rejected_events:
                outcome.errors[index].extend(rejected_events[position])
            else:
                good[index] = True
        for index, _event in pairs:
            outcome.statuses[index] = TRACKED if good[index] else INVALID

    if unmatched:
        count_unmatched(unmatched, local_today())
    return outcome


def local_today() -> date:
    """Today in the platform's local time zone (the day of salts and rollups)."""
    return timezone.now().astimezone(rollups.local_zone()).date()


def count_unmatched(per_site: dict[int, int], day: date) -> None:
    """Add to the per-site, per-day counters of requests no rule matched."""
    with transaction.atomic():
        for site_id, amount in per_site.items():
            rows = UnmatchedRequests.objects.filter(site_id=site_id, day=day)
            if rows.update(count=F("count") + amount):
                continue
            try:
                with transaction.atomic():
                    UnmatchedRequests.objects.create(site_id=site_id, day=day, count=amount)
            except IntegrityError:  # created by a concurrent request a moment ago
                rows.update(count=F("count") + amount)
