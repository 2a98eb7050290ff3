"""The open usage tables as a dataset of each publishing city in the open data portal.

A city that publishes its usage tables (``OpenDataPublication``) gets one
dataset, ``<city>-nutzung-online-dienste``, whose distributions are the links
to its monthly and yearly files under ``/opendata/nutzungsstatistik/``. It is
refreshed through the portal's hook (``dikom.opendata.service``, the only part
of the portal this app uses) when publication is switched on or off, when a
month is frozen or corrected, and by an hourly job that picks up a month the
moment it is complete. The hook writes nothing when the metadata is unchanged,
so refreshing is cheap and idempotent.

Nothing here reads true counts: the dataset lists which files exist, their
versions and publication times (as the index at ``/opendata/nutzungsstatistik/``
already does), never a number from them.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from dikom.analytics.sharing import opendata
from dikom.analytics.sharing.models import PublishedMonth
from dikom.municipalities.models import Municipality
from dikom.opendata import service as portal

KEY = "analytics:usage-tables"
LICENCE = "dl-zero-de/2.0"
# The newest months listed as distributions (plus every complete year): the index lists all.
MAX_MONTHS = 36


def _absolute(path: str) -> str:
    return portal.site_url() + path


def metadata(municipality: Municipality) -> dict[str, Any]:
    """The CKAN package dictionary of ``municipality``'s usage dataset (German, whatever the caller's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        months = opendata.available_months(municipality)
        years = sorted({m[:4] for m in months if opendata.is_complete_year(int(m[:4]))})
        frozen = {
            opendata.period_of(p.month): p
            for p in PublishedMonth.objects.filter(municipality=municipality).only("month", "version", "published_at")
        }
        resources: list[dict[str, Any]] = []
        for month in reversed(months[-MAX_MONTHS:]):
            publication = frozen.get(month)
            note = (
                _("Version %(version)d, published %(date)s.")
                % {"version": publication.version, "date": publication.published_at.date().isoformat()}
                if publication is not None
                else _("Frozen when first downloaded.")
            )
            for fmt in ("csv", "json"):
                resources.append(
                    {
                        "name": _("Month %(month)s (%(format)s)") % {"month": month, "format": fmt.upper()},
                        "description": note,
                        "url": _absolute(reverse("analytics_opendata:month", args=[municipality.ags, month, fmt])),
                        "format": fmt.upper(),
                        "license_id": LICENCE,
                    }
                )
        for year in reversed(years):
            for fmt in ("csv", "json"):
                resources.append(
                    {
                        "name": _("Year %(year)s (%(format)s)") % {"year": year, "format": fmt.upper()},
                        "url": _absolute(reverse("analytics_opendata:year", args=[municipality.ags, year, fmt])),
                        "format": fmt.upper(),
                        "license_id": LICENCE,
                    }
                )
        columns = _absolute(reverse("analytics_opendata:columns"))
        parameters = opendata.method_parameters()
        notes = "\n\n".join(
            [
                _(
                    "How often the online services of %(city)s were visited, started and completed, per month "
                    "and service, with the feedback received."
                )
                % {"city": municipality.name},
                _(
                    "Every count is protected by the cell key method (maximum deviation %(d)s, smallest published "
                    "count %(smallest)s); totals, rates and averages are computed from the protected counts. "
                    "Free-text comments are never published."
                )
                % {"d": parameters.get("max_deviation"), "smallest": parameters.get("smallest_published_count")},
                _("The columns are described at %(url)s.") % {"url": columns},
            ]
        )
        extras = [{"key": "frequency", "value": "MONTHLY"}, {"key": "contact_url", "value": columns}]
        if months:
            extras.append({"key": "temporal_start", "value": f"{months[0]}-01"})
            extras.append({"key": "temporal_end", "value": _last_day(_first_day(months[-1])).isoformat()})
        if frozen:
            newest = max(p.published_at for p in frozen.values())
            extras.append({"key": "modified", "value": newest.isoformat()})
        return {
            "name": f"{municipality.slug}-nutzung-online-dienste"[:100],
            "title": _("Usage of the online services: %(city)s") % {"city": municipality.name},
            "notes": notes,
            "license_id": LICENCE,
            "url": _absolute(reverse("analytics_opendata:index")),
            "tags": [{"name": name} for name in ("Nutzungsstatistik", "Online-Dienste", "E-Government", "OZG")],
            "groups": [{"name": "gove"}],
            "extras": extras,
            "resources": resources,
        }


def _first_day(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def _last_day(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def refresh(municipality: Municipality) -> str:
    """Publish, update or withdraw ``municipality``'s usage dataset; returns what happened."""
    if not opendata.is_published(municipality):
        return "withdrawn" if portal.withdraw_generated_dataset(municipality, KEY) else "none"
    if not opendata.available_months(municipality):
        # Nothing to download yet: a dataset without data would only disappoint.
        return "withdrawn" if portal.withdraw_generated_dataset(municipality, KEY) else "none"
    portal.publish_generated_dataset(municipality, KEY, metadata(municipality), actor="analytics")
    return "published"
