"""Who may see the comparison of a city and switch sharing and publication on and off."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from dikom.accounts.access import get_municipality_for_role, has_role
from dikom.accounts.roles import Role
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality

COMPARISON_ROLES = [Role.ANALYST, Role.MUNICIPALITY_ADMIN]
SHARE_ROLES = [Role.ANALYST, Role.MUNICIPALITY_ADMIN]
PUBLISH_ROLES = [Role.MUNICIPALITY_ADMIN]


def comparison_municipality(user: Any, slug: str) -> Municipality:
    """The city ``slug`` if ``user`` is one of its analysts or administrators (404 unknown, 403 otherwise)."""
    return get_municipality_for_role(user, slug, COMPARISON_ROLES)


def shareable_service(user: Any, municipality: Municipality, service_uuid: Any) -> Service:
    """A service of ``municipality`` with a LeiKa key that ``user`` may share; another city's is a 404."""
    if not has_role(user, municipality, SHARE_ROLES):
        raise PermissionDenied
    try:
        return Service.objects.exclude(leika_key="").get(municipality=municipality, uuid=service_uuid)
    except (Service.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def can_publish(user: Any, municipality: Municipality) -> bool:
    return has_role(user, municipality, PUBLISH_ROLES)
