"""What the caseworker pages share: the language, case links, the city's colleagues and units."""

from __future__ import annotations

import logging
from typing import Any

from django.urls import reverse
from django.utils.translation import get_language

from dikom.cases import access
from dikom.cases.models import Case
from dikom.lib.prepared import PreparedQuery
from dikom.municipalities.models import Municipality, OrgUnit

#: One logger for the caseworker pages, named as before the split.
logger = logging.getLogger("dikom.cases.views")

MAX_BULK = 100
#: Shown in the browser; everything else is offered as a download. Never SVG or HTML (scripts).
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif"}
INBOX_KEYS = ("tab", "q", "status", "service", "unit", "overdue", "sort", "page")
TASK_OPS = {"uebernehmen": "claim", "uebergeben": "assign", "zurueckgeben": "release", "erledigen": "complete"}


def _lang() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


def _case_url(municipality: Municipality, case: Case, anchor: str = "") -> str:
    url = reverse("cases:case", args=[municipality.slug, case.uuid])
    return f"{url}#{anchor}" if anchor else url


def _colleague_choices(municipality: Municipality) -> list[tuple[str, str]]:
    return [(str(u.pk), u.get_full_name() or u.get_username()) for u in access.colleague_list(municipality)]


_UNITS = PreparedQuery(
    OrgUnit,
    lambda city_id: OrgUnit.objects.filter(municipality_id=city_id).order_by("name").values_list("uuid", "name"),
    fields=(OrgUnit._meta.get_field("municipality"),),
    samples=(-7004,),
)


def _unit_choices(municipality: Municipality) -> list[tuple[str, str]]:
    return [(str(key), name) for key, name in _UNITS.rows(municipality.pk)]


def _colleague(municipality: Municipality, key: str) -> Any:
    if not key.isdigit():
        return None
    return access.colleagues(municipality).filter(pk=int(key)).first()
