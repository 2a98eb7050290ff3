"""Who may see and change what in the citizen smart-city app.

Public: every city's trees, need, anonymous watering log, construction sites
and bins. Signed-in citizens adopt trees and log waterings. City staff with
the municipality-admin or open-data-publisher role enter construction sites
and decide which sensor data is published. Objects of another city answer 404.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404

from dikom.accounts.access import has_role
from dikom.accounts.roles import Role
from dikom.municipalities.models import Municipality
from dikom.smartcity.models import ConstructionSite, Tree

STAFF_ROLES = (Role.MUNICIPALITY_ADMIN, Role.DATA_PUBLISHER)


def get_city(slug: str) -> Municipality:
    return get_object_or_404(Municipality.objects.select_related("district"), slug=slug)


def get_tree(city: Municipality, tree_uuid: Any) -> Tree:
    return get_object_or_404(Tree, municipality=city, uuid=tree_uuid)


def can_manage(user: Any, city: Municipality) -> bool:
    """City staff who enter construction sites and choose what sensor data is public."""
    return bool(getattr(user, "is_authenticated", False)) and has_role(user, city, STAFF_ROLES)


def get_site_for_staff(user: Any, city: Municipality, site_uuid: Any) -> ConstructionSite:
    if not can_manage(user, city):
        raise Http404
    return get_object_or_404(ConstructionSite, municipality=city, uuid=site_uuid)


def get_threshold_for_staff(user: Any, city: Municipality, rule_uuid: Any) -> Any:
    """A threshold of ``city`` for its staff; another city's (or anyone else) gets 404."""
    from dikom.smartcity.models import Threshold

    if not can_manage(user, city):
        raise Http404
    return get_object_or_404(Threshold, municipality=city, uuid=rule_uuid)
