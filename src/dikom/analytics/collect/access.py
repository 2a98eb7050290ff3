"""Who may manage collection sites and who may send data for them."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from dikom.accounts.access import get_municipality_for_role
from dikom.accounts.models import ApiKey
from dikom.analytics.access import MANAGE_ROLES
from dikom.analytics.collect.models import CollectionSite, MatomoRule
from dikom.analytics.scopes import ANALYTICS_INGEST
from dikom.municipalities.models import Municipality


def get_managed_municipality(user: Any, slug: str) -> Municipality:
    """The municipality ``slug`` if ``user`` is an analyst or municipality administrator there (403/404)."""
    return get_municipality_for_role(user, slug, MANAGE_ROLES)


def get_site(municipality: Municipality, site_id: str) -> CollectionSite:
    """A site of ``municipality``; another city's site is a 404."""
    try:
        return CollectionSite.objects.select_related("municipality").get(municipality=municipality, site_id=site_id)
    except CollectionSite.DoesNotExist as exc:
        raise Http404 from exc


def get_rule(site: CollectionSite, rule_id: int) -> MatomoRule:
    try:
        return MatomoRule.objects.select_related("site").get(site=site, pk=rule_id)
    except MatomoRule.DoesNotExist as exc:
        raise Http404 from exc


def key_may_ingest_for(api_key: ApiKey, municipality_id: int) -> bool:
    """An API key may send usage data for sites of its own municipality when it has ``analytics:ingest``."""
    return api_key.municipality_id == municipality_id and ANALYTICS_INGEST in set(api_key.scopes)
