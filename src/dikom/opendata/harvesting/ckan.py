"""Harvest another CKAN portal through its Action API (``package_search``, paged by ``start``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from dikom.lib.jsonparse import loads_limited
from dikom.opendata import vocab
from dikom.opendata.harvesting.base import Fetch, Harvested, HarvestError, register

ROWS = 100
LICENCE_ALIASES = {
    "cc-by": "cc-by/4.0",
    "cc-by-sa": "cc-by-sa/4.0",
    "cc-zero": "cc-zero",
    "odc-odbl": "odbl",
    "dl-de-by-2.0": "dl-by-de/2.0",
    "dl-de-zero-2.0": "dl-zero-de/2.0",
}
KEPT_EXTRAS = ("frequency", "temporal_start", "temporal_end", "issued", "modified", "spatial_ags", "contact_url")


def licence(value: Any) -> str:
    text = str(value or "").strip().removeprefix(vocab.LICENCE_BASE)
    if text in vocab.licences():
        return text
    alias = LICENCE_ALIASES.get(text.lower())
    return alias if alias and alias in vocab.licences() else text


def package(remote: dict[str, Any]) -> dict[str, Any]:
    """A remote CKAN package → the fields dikom keeps (resources by URL; unknown formats left empty)."""
    resources = []
    for item in remote.get("resources") or []:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        resources.append(
            {
                "name": str(item.get("name") or "")[:300],
                "description": str(item.get("description") or "")[:5000],
                "url": item["url"],
                "format": vocab.normalise_format(str(item.get("format") or "")) or "",
            }
        )
    extras = [
        {"key": e["key"], "value": e.get("value")}
        for e in remote.get("extras") or []
        if isinstance(e, dict) and e.get("key") in KEPT_EXTRAS
    ]
    groups = [
        {"name": g["name"]}
        for g in remote.get("groups") or []
        if isinstance(g, dict) and str(g.get("name", "")).upper() in vocab.THEMES
    ]
    return {
        "name": str(remote.get("name") or ""),
        "title": str(remote.get("title") or remote.get("name") or ""),
        "notes": str(remote.get("notes") or ""),
        "license_id": licence(remote.get("license_id")),
        "url": remote.get("url") if isinstance(remote.get("url"), str) and remote["url"].startswith("http") else "",
        "version": str(remote.get("version") or "")[:60],
        "maintainer": remote.get("maintainer") or remote.get("author") or "",
        "maintainer_email": remote.get("maintainer_email") or remote.get("author_email") or "",
        "tags": [{"name": t["name"]} for t in remote.get("tags") or [] if isinstance(t, dict) and t.get("name")],
        "groups": groups,
        "extras": extras,
        "resources": resources,
    }


class CkanHarvester:
    def harvest(self, url: str, fetch: Fetch, max_pages: int) -> Iterator[Harvested]:
        base = url.rstrip("/")
        if not base.endswith("/api/3/action"):
            base += "/api/3/action"
        start = 0
        for _page in range(max_pages):
            query = urlencode({"q": "*:*", "rows": ROWS, "start": start, "sort": "id asc"})
            response = fetch(f"{base}/package_search?{query}", "application/json")
            try:
                body = loads_limited(response.body.decode("utf-8"))
                result = body["result"]
                count = int(result["count"])
                results = result["results"]
                if not body.get("success") or not isinstance(results, list):
                    raise ValueError
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                raise HarvestError(_("The source did not answer like a CKAN API (package_search).")) from None
            for remote in results:
                if isinstance(remote, dict) and remote.get("id") and remote.get("state", "active") == "active":
                    yield Harvested(str(remote["id"])[:500], package(remote))
            start += len(results)
            if not results or start >= count:
                return
        raise HarvestError(_("The source has more than %(n)d pages; the harvest was stopped.") % {"n": max_pages})


register("ckan", CkanHarvester())
