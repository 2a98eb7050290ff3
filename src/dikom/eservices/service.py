"""The small surface other apps (the citizen portal, the demo) use. Keep it small.

- ``released_services()``: the shared library.
- ``adopted_services(municipality)``: what a city offers its citizens today.
- ``offered_summaries(municipality, language)``: the same, as the portal's finder lists it
  (title, description, keywords, topic; cheap: see there).
- ``adoption_for(municipality, slug)``: one offered service, with the version
  new applications start on.
- ``active_version_for(municipality, definition)``: that version alone.
- ``get_version(slug, number)``: a version by number, e.g. the one an
  application in progress was started on (it stores the version FK; a city's
  upgrade never changes it).
- ``fill_released_content(version)``: the definition of a released version read with its
  ``content`` deferred, from a store kept per process (released versions never change).
- ``local_fees(adoption)``: the city's own fee amounts, for ``definition.fees.calculate``.
- ``load_demo_services()``: the demo services (see ``eservices.demo``).
- ``released_process(process_id)``: the BPMN file of the latest released version whose process has that id,
  for call activities that call a process of the library (``cases.bpmn.checks.inspect(resolve_process=…)``).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from dikom.eservices.definition.schema import text
from dikom.eservices.models import Adoption, ServiceDefinition, ServiceVersion
from dikom.lib.prepared import PreparedQuery
from dikom.municipalities.models import Municipality

__all__ = [
    "AdoptedService",
    "ServiceSummary",
    "active_version_for",
    "adopted_services",
    "adoption_for",
    "fill_released_content",
    "get_version",
    "load_demo_services",
    "local_fees",
    "offered_summaries",
    "released_services",
]


@dataclass(frozen=True)
class AdoptedService:
    adoption: Adoption
    version: ServiceVersion  # the version new applications start on

    @property
    def definition(self) -> ServiceDefinition:
        return self.adoption.definition

    @property
    def content(self) -> dict[str, Any]:
        return self.version.content


def _today() -> dt.date:
    return timezone.localdate()


def _live(today: dt.date | None = None) -> Q:
    return Q(active=True, start_date__lte=today or _today())


def released_services() -> QuerySet[ServiceDefinition]:
    """Services with at least one released version, with their latest released version joined."""
    return (
        ServiceDefinition.objects.filter(latest_released__isnull=False)
        .select_related("latest_released", "municipality")
        .order_by("title", "pk")
    )


def adopted_services(municipality: Municipality, *, today: dt.date | None = None) -> list[AdoptedService]:
    """The services ``municipality`` offers its citizens today (active, start date reached)."""
    adoptions = (
        Adoption.objects.filter(_live(today), municipality=municipality)
        .select_related("definition", "version", "org_unit", "municipality")
        .order_by("definition__title", "pk")
    )
    return [AdoptedService(adoption, adoption.version) for adoption in adoptions]


@dataclass(frozen=True)
class ServiceSummary:
    """What the portal's finder shows of one offered service, in one language."""

    slug: str
    version_id: int
    title: str
    description: str
    keywords: tuple[str, ...]
    topic: str  # the OZG topic, "" when the definition names none
    contact_email: str
    contact_phone: str


# Title, description, keywords and topic per (released version, its content hash, language),
# kept per process: a released version never changes (``ServiceVersion.save`` and a database
# trigger refuse it), so its definition is parsed once instead of on every visit of the finder.
# The hash is part of the key so that a reused id (a test database rolled back) cannot hit.
_RELEASED_SUMMARIES: dict[tuple[int, str, str], tuple[str, str, tuple[str, ...], str]] = {}
_RELEASED_SUMMARIES_MAX = 4096
_summaries_lock = threading.Lock()


def _summary_of(content: dict[str, Any], language: str) -> tuple[str, str, tuple[str, ...], str]:
    identity = content.get("identity") or {}
    return (
        text(identity.get("title"), language),
        text(identity.get("description"), language),
        tuple(str(k) for k in identity.get("keywords") or []),
        str(identity.get("ozg_topic") or ""),
    )


def offered_summaries(
    municipality: Municipality, language: str, *, today: dt.date | None = None
) -> list[ServiceSummary]:
    """``adopted_services(municipality)`` as the finder lists it, in ``language`` ("de"/"en").

    One narrow query (no definition JSON) on a warm process; the definitions of released
    versions not seen before are read in one more query and kept (they never change). A
    version that is not released (not expected for an adoption) is read and not kept.
    """
    rows: list[Any] = _OFFERED_ROWS.rows(municipality.pk, today or _today())
    released = ServiceVersion.Status.RELEASED
    known: dict[int, tuple[str, str, tuple[str, ...], str]] = {}
    for _slug, version_id, status, digest, _email, _phone in rows:
        cached = _RELEASED_SUMMARIES.get((version_id, digest, language)) if status == released else None
        if cached is not None:
            known[version_id] = cached
    missing = {row[1] for row in rows if row[1] not in known}
    if missing:
        versions = (
            ServiceVersion.objects.filter(pk__in=missing)
            .order_by()
            .values_list("pk", "status", "content_hash", "content")
        )
        for version_id, status, digest, content in versions:
            known[version_id] = _summary_of(content or {}, language)
            if status == released:
                with _summaries_lock:
                    if len(_RELEASED_SUMMARIES) >= _RELEASED_SUMMARIES_MAX:
                        _RELEASED_SUMMARIES.clear()
                    _RELEASED_SUMMARIES[(version_id, digest, language)] = known[version_id]
    summaries = []
    for slug, version_id, _status, _digest, email, phone in rows:
        title, description, keywords, topic = known[version_id]
        summaries.append(ServiceSummary(slug, version_id, title, description, keywords, topic, email, phone))
    return summaries


# The parsed definition (``content``) per (released version, its content hash), kept per process
# for the pages that load a version with its content deferred (the step, the service page): a
# released version never changes, so its JSON is read and parsed once per process instead of
# on every request. The dicts are shared between requests and threads: read them, never change
# them (nothing in the portal does; ``portal/tests/test_released_content.py`` checks a step).
_RELEASED_CONTENT: dict[tuple[int, str], dict[str, Any]] = {}
_RELEASED_CONTENT_MAX = 512
_content_lock = threading.Lock()


def fill_released_content(version: ServiceVersion) -> None:
    """Set the deferred ``content`` of ``version`` from the per-process store when it is released.

    A version that is not released, or whose content is not deferred, is left as it is (its
    content is then read on first access as usual). A released version not yet in the store is
    read once (one statement, by id, status and hash) and kept.
    """
    if "content" not in version.get_deferred_fields() or version.status != ServiceVersion.Status.RELEASED:
        return
    key = (version.pk, version.content_hash)
    content = _RELEASED_CONTENT.get(key)
    if content is None:
        found = list(
            ServiceVersion.objects.filter(
                pk=version.pk, content_hash=version.content_hash, status=ServiceVersion.Status.RELEASED
            )
            .order_by()
            .values_list("content", flat=True)[:1]
        )
        if not found or not isinstance(found[0], dict):
            return
        content = found[0]
        with _content_lock:
            if len(_RELEASED_CONTENT) >= _RELEASED_CONTENT_MAX:
                _RELEASED_CONTENT.clear()
            _RELEASED_CONTENT[key] = content
    version.content = content


def _offered_rows(municipality_id: int, today: dt.date) -> QuerySet[Adoption, tuple[str, int, str, str, str, str]]:
    return (
        Adoption.objects.filter(_live(today), municipality_id=municipality_id)
        .order_by("definition__title", "pk")
        .values_list(
            "definition__slug",
            "version_id",
            "version__status",
            "version__content_hash",
            "contact_email",
            "contact_phone",
        )
    )


# The finder's statement, compiled once per thread (``dikom.lib.prepared``).
_OFFERED_ROWS = PreparedQuery(
    Adoption,
    _offered_rows,
    fields=(Adoption._meta.get_field("municipality"), Adoption._meta.get_field("start_date")),
    samples=(-7_351_907, dt.date(1901, 2, 3)),
)


def adoption_for(
    municipality: Municipality, slug: str, *, today: dt.date | None = None, include_scheduled: bool = False
) -> AdoptedService | None:
    """The adoption of service ``slug`` by ``municipality`` and the version new applications start on.

    None when the city has not adopted it, has switched it off, or (unless
    ``include_scheduled``) its start date has not come yet.
    """
    # One adoption per city and service (a unique constraint): no ORDER BY, which ``first()`` would
    # add and whose building against the joined columns cost about as much as the rest of the SQL.
    # The city is the caller's (the same row), not joined again. The offered case (the service
    # page) runs a statement compiled once per thread (``dikom.lib.prepared``); the version's
    # definition comes from the per-process store of released versions.
    if include_scheduled:
        adoptions = (
            Adoption.objects.filter(municipality=municipality, definition__slug=slug)
            .select_related("definition", "version", "org_unit")
            .order_by()
        )
        found = list(adoptions[:1])
    else:
        found = _OFFERED_ADOPTION.all(municipality.pk, slug, today or _today())
    if not found:
        return None
    adoption = found[0]
    adoption.municipality = municipality
    fill_released_content(adoption.version)
    return AdoptedService(adoption, adoption.version)


def _offered_adoption(municipality_id: int, slug: str, today: dt.date) -> QuerySet[Adoption]:
    return (
        Adoption.objects.filter(_live(today), municipality_id=municipality_id, definition__slug=slug)
        .select_related("definition", "version", "org_unit")
        .defer("version__content")
        .order_by()[:1]
    )


_OFFERED_ADOPTION = PreparedQuery(
    Adoption,
    _offered_adoption,
    fields=(
        Adoption._meta.get_field("municipality"),
        ServiceDefinition._meta.get_field("slug"),
        Adoption._meta.get_field("start_date"),
    ),
    samples=(-7_351_907, "\x00prepared-sample", dt.date(1901, 2, 3)),
)


def active_version_for(
    municipality: Municipality, definition: ServiceDefinition, *, today: dt.date | None = None
) -> ServiceVersion | None:
    """The version new applications in ``municipality`` start on: the adopted one, until the city
    upgrades (a newer released version alone changes nothing). None when not offered."""
    adoption = (
        Adoption.objects.filter(_live(today), municipality=municipality, definition=definition)
        .select_related("version")
        .first()
    )
    return adoption.version if adoption is not None else None


def get_version(slug: str, number: int) -> ServiceVersion | None:
    """A released version by service and number (applications refer to the version they started on)."""
    return (
        ServiceVersion.objects.filter(definition__slug=slug, number=number, status=ServiceVersion.Status.RELEASED)
        .select_related("definition")
        .first()
    )


def released_process(process_id: str) -> str | None:
    """The BPMN file (``processing.bpmn``) of the latest released version of the library that contains a process
    with id ``process_id``, or None. Call activities of a service call processes of the library by this id."""
    from lxml import etree

    from dikom.cases.bpmn.xmlsafe import BPMN_NS, UnsafeXMLError, parse_xml

    if not process_id:
        return None
    candidates = (
        ServiceVersion.objects.filter(
            status=ServiceVersion.Status.RELEASED, content__processing__bpmn__icontains=process_id
        )
        .order_by("-released_at", "-pk")
        .values_list("content", flat=True)
    )
    for content in candidates.iterator():
        xml = ((content or {}).get("processing") or {}).get("bpmn")
        if not isinstance(xml, str):
            continue
        try:
            root = parse_xml(xml)
        except (UnsafeXMLError, etree.XMLSyntaxError):
            continue
        if any(p.get("id") == process_id for p in root.iter(f"{{{BPMN_NS}}}process")):
            return xml
    return None


def local_fees(adoption: Adoption) -> dict[str, int]:
    """The city's own fee amounts in cents by fee key, for
    ``eservices.definition.fees.calculate(definition, answers, local_fees)``.

    Only fees the adopted version marks ``locally_adjustable`` are set here
    (``actions.check_local_settings``); all others keep the agreed amount or rule.
    """
    return dict(adoption.fees)


def load_demo_services() -> Any:
    """Create the three demo services of the demo cooperation (idempotent); see ``eservices.demo``."""
    from dikom.eservices.demo import load_demo_services as load

    return load()
