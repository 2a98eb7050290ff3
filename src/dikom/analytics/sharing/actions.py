"""The only code that changes what a city shares and what it has published. Every choice of a person is audited.

Publishing a month of the open usage tables (``publish_month``) happens when
the month is first served and is not a person's choice, so it is not audited;
correcting a published month is, and is marked in the table's metadata.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dikom.analytics.models import Service
from dikom.analytics.sharing import cellkey, opendata
from dikom.analytics.sharing.models import ComparisonShare, OpenDataPublication, PublishedMonth
from dikom.audit import actions as audit
from dikom.municipalities.models import Municipality


@transaction.atomic
def enable_share(*, service: Service, actor: Any) -> ComparisonShare:
    """Share ``service`` by name in the city comparison (idempotent)."""
    share, created = ComparisonShare.objects.get_or_create(
        service=service, defaults={"shared_since": timezone.now(), "shared_by": actor}
    )
    if created:
        audit.record(
            "analytics.share_enable",
            actor=actor,
            municipality=service.municipality,
            obj=service,
            changes={"shared": [False, True], "leika_key": service.leika_key},
        )
    return share


@transaction.atomic
def disable_share(*, service: Service, actor: Any) -> None:
    """Stop sharing ``service`` by name; it still counts inside averages (idempotent)."""
    deleted, _ = ComparisonShare.objects.filter(service=service).delete()
    if deleted:
        audit.record(
            "analytics.share_disable",
            actor=actor,
            municipality=service.municipality,
            obj=service,
            changes={"shared": [True, False], "leika_key": service.leika_key},
        )


@transaction.atomic
def set_open_data_publication(*, municipality: Municipality, enabled: bool, actor: Any) -> OpenDataPublication:
    """Switch publishing ``municipality``'s monthly usage tables on or off (audited when it changes)."""
    publication, _ = OpenDataPublication.objects.select_for_update().get_or_create(municipality=municipality)
    if publication.enabled != enabled:
        publication.enabled = enabled
        publication.since = timezone.now() if enabled else None
        publication.save()
        audit.record(
            "analytics.open_data_enable" if enabled else "analytics.open_data_disable",
            actor=actor,
            municipality=municipality,
            obj=publication,
            changes={"enabled": [not enabled, enabled]},
        )
        _refresh_dataset_on_commit(municipality)
    return publication


def publish_month(*, municipality: Municipality, year: int, month: int) -> PublishedMonth:
    """The frozen publication of a complete month; created from the rollups the first time it is asked for."""
    first = date(year, month, 1)
    existing = PublishedMonth.objects.filter(municipality=municipality, month=first).first()
    if existing is not None:
        return existing
    period = f"{year:04d}-{month:02d}"
    cells = opendata.perturb_blocks(municipality.pk, period, opendata.true_blocks(municipality, year, month))
    now = timezone.now()
    if not cells:
        # Nothing to freeze: not stored, so that asking for arbitrary empty months creates no rows.
        end = datetime.combine(first + timedelta(days=32), time(), tzinfo=timezone.get_current_timezone())
        end = end.replace(day=1)
        return PublishedMonth(municipality=municipality, month=first, published_at=end, updated_at=end, cells={})
    try:
        with transaction.atomic():
            created = PublishedMonth.objects.create(
                municipality=municipality, month=first, published_at=now, updated_at=now, cells=cells
            )
            _refresh_dataset_on_commit(municipality)
            return created
    except IntegrityError:  # published concurrently: the first one stands
        return PublishedMonth.objects.get(municipality=municipality, month=first)


def publish_months(*, municipality: Municipality, months: list[tuple[int, int]]) -> list[PublishedMonth]:
    """The frozen publications of complete ``months`` (year, month) that have usage, with one query for those
    already frozen; the others are frozen now (the city comparison reads them like the open data does)."""
    if not months:
        return []
    firsts = {date(year, month, 1) for year, month in months}
    frozen = {
        p.month: p
        for p in PublishedMonth.objects.filter(
            municipality=municipality, month__gte=min(firsts), month__lte=max(firsts)
        )
        if p.month in firsts
    }
    missing = (
        firsts
        - set(frozen)
        - {date(y, m, 1) for y, m in opendata.months_without_usage(municipality, min(firsts), max(firsts))}
    )
    for first in sorted(missing):
        frozen[first] = publish_month(municipality=municipality, year=first.year, month=first.month)
    return [frozen[first] for first in sorted(frozen)]


def _refresh_dataset_on_commit(municipality: Municipality) -> None:
    """The city's usage dataset in the open data portal follows every publication change (after commit)."""
    from dikom.analytics.sharing.tasks import refresh_usage_dataset

    municipality_id = municipality.pk
    transaction.on_commit(lambda: refresh_usage_dataset.enqueue(municipality_id))


def _corrected(identity: str, published: int, difference: int) -> int:
    """``published`` plus the perturbed difference: the change is a block of its own with its own key."""
    step = cellkey.perturb(identity, abs(difference))
    return max(0, published + (step if difference > 0 else -step))


@transaction.atomic
def correct_published_month(
    *, municipality: Municipality, year: int, month: int, actor: Any, reason: str
) -> PublishedMonth:
    """Publish a month again with the rollups' current counts (late events, corrections).

    Each changed count gets the *perturbed difference* added to its published
    value, so the old and the new version together say no more about the
    difference than a perturbed count does, and the old version's noise stays
    as it was. The metadata names the version, time, reason and changed cells.
    """
    publication = publish_month(municipality=municipality, year=year, month=month)
    publication = PublishedMonth.objects.select_for_update().get(pk=publication.pk)
    period = f"{year:04d}-{month:02d}"
    current = opendata.true_blocks(municipality, year, month)
    version = publication.version + 1
    cells: dict[str, Any] = {key: dict(value) for key, value in publication.cells.items()}
    changed: list[dict[str, Any]] = []
    for service_id in sorted(set(cells) | set(current), key=int):
        old = cells.setdefault(service_id, {})
        fresh = current.get(service_id, {})
        positions = fresh.get("_positions")
        if positions:
            old["_positions"] = {**old.get("_positions", {}), **positions}
        for name in sorted(set(opendata.count_names(old)) | set(opendata.count_names(fresh))):
            before = old.get(name, {"true": 0, "published": 0})
            now_true = fresh.get(name, 0)
            difference = now_true - int(before["true"])
            if not difference:
                old.setdefault(name, before)
                continue
            identity = cellkey.block_identity(municipality.pk, int(service_id), name, f"{period}/v{version}")
            old[name] = {"true": now_true, "published": _corrected(identity, int(before["published"]), difference)}
            changed.append({"service_id": int(service_id), "metric": name})
    if not changed:
        return publication
    now = timezone.now()
    publication.version = version
    publication.cells = cells
    publication.updated_at = now
    publication.corrections = [
        *publication.corrections,
        {"version": version, "corrected_at": now.isoformat(), "reason": reason, "changed": changed},
    ]
    publication.save()
    audit.record(
        "analytics.open_data_correct",
        actor=actor,
        municipality=municipality,
        obj=publication,
        changes={"month": period, "version": version, "reason": reason, "changed": len(changed)},
    )
    _refresh_dataset_on_commit(municipality)
    return publication
