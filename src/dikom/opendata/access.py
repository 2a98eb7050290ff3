"""Who may change which open datasets.

A city's data publishers (and its administrators) edit the city's organisation;
an API key of the city with the ``opendata:write`` scope does the same through
the CKAN API. The cooperation's organisation is edited by platform administrators.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from dikom.accounts.access import has_role
from dikom.accounts.roles import Role
from dikom.accounts.service import ApiKeyUser
from dikom.opendata.models import Dataset, Organization
from dikom.opendata.scopes import OPENDATA_WRITE

PUBLISHER_ROLES = (Role.DATA_PUBLISHER, Role.MUNICIPALITY_ADMIN)


def can_write(principal: Any, organization: Organization) -> bool:
    if principal is None or not getattr(principal, "is_authenticated", False):
        return False
    if isinstance(principal, ApiKeyUser):
        return (
            principal.has_scope(OPENDATA_WRITE)
            and organization.municipality_id is not None
            and organization.municipality_id == principal.municipality.pk
        )
    if getattr(principal, "is_platform_admin", False):
        return True
    if organization.municipality is None:
        return False
    return has_role(principal, organization.municipality, PUBLISHER_ROLES)


def publishing_municipalities(principal: Any) -> list[Any]:
    """The cities whose data ``principal`` (a person) publishes, whether or not their organisation exists yet."""
    from dikom.accounts.access import staff_municipalities

    if principal is None or not getattr(principal, "is_authenticated", False) or isinstance(principal, ApiKeyUser):
        return []
    return [m for m in staff_municipalities(principal) if has_role(principal, m, PUBLISHER_ROLES)]


def writable_organizations(principal: Any) -> list[Organization]:
    return [org for org in Organization.objects.select_related("municipality") if can_write(principal, org)]


def visible_datasets(principal: Any) -> QuerySet[Dataset]:
    """Published datasets for everyone; drafts and withdrawn ones also for those who may edit them."""
    public = Q(state=Dataset.State.PUBLISHED)
    own = [org.pk for org in writable_organizations(principal)] if getattr(principal, "is_authenticated", False) else []
    if own:
        return Dataset.objects.filter(public | Q(organization_id__in=own))
    return Dataset.objects.filter(public)
