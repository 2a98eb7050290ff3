"""Running a harvest: the only code that changes datasets from a harvest source.

A run first reads the whole source (every page) through the plugin; if that
fails — unreachable, timeout, garbage, too large, paging forever — the run is
logged as failed and *nothing* in the portal changes. Otherwise each record is
created, updated (only when its metadata changed: the fingerprint of what was
harvested is kept on the dataset) or left alone, a record the portal refuses
(e.g. an unknown licence) is logged and skipped, and datasets of this source
that the source no longer lists are withdrawn. Re-running creates no duplicates:
a dataset is found again by (source, identifier at the source).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.lib import safe_http
from dikom.opendata import actions
from dikom.opendata.harvesting import ckan, dcat  # noqa: F401  (register the plugins)
from dikom.opendata.harvesting.base import REGISTRY, Harvested, HarvestError
from dikom.opendata.models import Dataset, HarvestRun, HarvestSource

MAX_PAGE_BYTES = 20 * 1024 * 1024
MAX_DATASETS = 20_000
USER_AGENT = "dikom-harvester/1"


def policy() -> safe_http.Policy:
    return safe_http.Policy(
        allow_http=True,
        allow_private=settings.DIKOM_OPENDATA_HARVEST_ALLOW_PRIVATE,
        timeout_seconds=settings.DIKOM_OPENDATA_HARVEST_TIMEOUT_SECONDS,
        user_agent=USER_AGENT,
    )


def check_url(url: str) -> None:
    """Raises django's ValidationError for an address the harvester would refuse (forms use it)."""
    safe_http.parse_url(url, policy())


def _fetch(url: str, accept: str) -> safe_http.Response:
    try:
        return safe_http.fetch(url, policy(), max_bytes=MAX_PAGE_BYTES, accept=accept)
    except safe_http.DeliveryError as error:
        raise HarvestError(f"{url[:200]}: {error.message}") from None


def _fingerprint(package: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(package, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _read(source: HarvestSource) -> list[Harvested]:
    harvester = REGISTRY.get(source.kind)
    if harvester is None:
        raise HarvestError(_("Unknown kind of source."))
    records: dict[str, Harvested] = {}
    for record in harvester.harvest(source.url, _fetch, settings.DIKOM_OPENDATA_HARVEST_MAX_PAGES):
        records[record.identifier] = record
        if len(records) > MAX_DATASETS:
            raise HarvestError(_("The source lists more than %(n)d datasets.") % {"n": MAX_DATASETS})
    return list(records.values())


def _free_name(name: str, dataset: Dataset | None) -> str:
    base = (name or "datensatz")[:90]
    candidate, number = base, 2
    others = Dataset.objects.exclude(pk=dataset.pk) if dataset is not None else Dataset.objects.all()
    while others.filter(name=candidate).exists():
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def _apply(source: HarvestSource, record: Harvested, run: HarvestRun, actor: str) -> None:
    existing = Dataset.objects.filter(harvest_source=source, harvest_identifier=record.identifier).first()
    fingerprint = _fingerprint(record.package)
    data = {**record.package, "state": "active"}
    data["extras"] = [*data.get("extras", []), {"key": "harvest_source", "value": source.url[:1000]}]
    if existing is not None and existing.generated_fingerprint == fingerprint:
        if existing.state != Dataset.State.PUBLISHED:
            actions.set_state(existing, Dataset.State.PUBLISHED, actor=actor)
            run.updated += 1
        else:
            run.unchanged += 1
        return
    data["name"] = existing.name if existing is not None else _free_name(str(data.get("name", "")), None)
    if not actions.NAME_RE.match(data["name"]):
        data["name"] = _free_name("datensatz-" + hashlib.sha256(record.identifier.encode()).hexdigest()[:10], existing)
    try:
        if existing is None:
            dataset = actions.create_dataset(source.organization, data, actor=actor)
            run.created += 1
        else:
            dataset = actions.update_dataset(existing, data, actor=actor)
            run.updated += 1
    except actions.InvalidData as error:
        details = "; ".join(f"{key}: {' '.join(messages)}" for key, messages in error.errors.items())
        run.errors.append(f"{record.package.get('title') or record.identifier}: {details}"[:500])
        return
    Dataset.objects.filter(pk=dataset.pk).update(
        harvest_source=source, harvest_identifier=record.identifier, generated_fingerprint=fingerprint
    )


def run_source(source: HarvestSource, *, actor: str = "") -> HarvestRun:
    """Harvest ``source`` now and log the run (see the module docstring)."""
    actor = actor or f"harvest:{source.title}"[:200]
    run = HarvestRun.objects.create(source=source)
    try:
        records = _read(source)
    except HarvestError as error:
        run.status = HarvestRun.Status.FAILED
        run.message = error.message[:2000]
        run.finished_at = timezone.now()
        run.save()
        return run
    run.found = len(records)
    for record in records:
        with transaction.atomic():
            _apply(source, record, run, actor)
    listed = {record.identifier for record in records}
    vanished = Dataset.objects.filter(harvest_source=source, state=Dataset.State.PUBLISHED).exclude(
        harvest_identifier__in=listed
    )
    for dataset in vanished:
        actions.set_state(dataset, Dataset.State.WITHDRAWN, actor=actor)
        run.withdrawn += 1
    run.status = HarvestRun.Status.PARTIAL if run.errors else HarvestRun.Status.OK
    run.finished_at = timezone.now()
    run.save()
    return run


def due_sources() -> list[HarvestSource]:
    """Active sources whose next harvest is due; their next time is moved on at once so a job runs once."""
    now = timezone.now()
    due = []
    for source in HarvestSource.objects.filter(active=True).order_by("pk"):
        if source.next_run_at is None or source.next_run_at <= now:
            updated = HarvestSource.objects.filter(pk=source.pk, next_run_at=source.next_run_at).update(
                next_run_at=now + timedelta(hours=max(1, source.every_hours))
            )
            if updated:
                due.append(source)
    return due


# --- the sources themselves (publishers' pages) ------------------------------------------------------


@transaction.atomic
def create_source(organization: Any, *, title: str, url: str, kind: str, every_hours: int) -> HarvestSource:
    """A new source, harvested for the first time by the next run of the schedule (within five minutes)."""
    check_url(url)
    return HarvestSource.objects.create(
        organization=organization, title=title, url=url, kind=kind, every_hours=max(1, every_hours)
    )


@transaction.atomic
def set_source_active(source: HarvestSource, active: bool) -> None:
    HarvestSource.objects.filter(pk=source.pk).update(active=active, next_run_at=None)


def queue_harvest(source: HarvestSource) -> None:
    """Harvest ``source`` now, in the task worker (after commit)."""
    from dikom.opendata.tasks import harvest_source

    source_id = source.pk
    transaction.on_commit(lambda: harvest_source.enqueue(source_id))
