"""Who may see deliveries and manage targets: written once, used by every view.

Deliveries: municipality administrators and caseworkers of the city.
Targets: municipality administrators of the city.
Someone without any role in the city gets 404 for all of its pages (the
city's hand-over does not exist for them); staff of the city without the
needed role get 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from dikom.accounts.access import roles_in
from dikom.accounts.roles import Role
from dikom.handover.models import Delivery, DeliveryTarget
from dikom.municipalities.models import Municipality

DELIVERY_ROLES = frozenset({Role.MUNICIPALITY_ADMIN, Role.CASEWORKER})
TARGET_ROLES = frozenset({Role.MUNICIPALITY_ADMIN})


def _is_platform_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) and getattr(user, "is_active", False))


def _municipality_for(user: Any, slug: str, roles: frozenset[str]) -> Municipality:
    municipality = Municipality.objects.filter(slug=slug).first()
    if municipality is None:
        raise Http404
    if _is_platform_admin(user):
        return municipality
    held = roles_in(user, municipality)
    if not held:
        raise Http404
    if not held & roles:
        raise PermissionDenied
    return municipality


def get_municipality_for_deliveries(user: Any, slug: str) -> Municipality:
    return _municipality_for(user, slug, DELIVERY_ROLES)


def get_municipality_for_targets(user: Any, slug: str) -> Municipality:
    return _municipality_for(user, slug, TARGET_ROLES)


def can_manage_targets(user: Any, municipality: Municipality) -> bool:
    return _is_platform_admin(user) or bool(roles_in(user, municipality) & TARGET_ROLES)


def get_target_for_admin(user: Any, municipality: Municipality, target_uuid: Any) -> DeliveryTarget:
    if not can_manage_targets(user, municipality):
        raise PermissionDenied
    try:
        return DeliveryTarget.objects.get(uuid=target_uuid, municipality=municipality)
    except (DeliveryTarget.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def get_delivery_for_staff(user: Any, municipality: Municipality, delivery_uuid: Any) -> Delivery:
    if not (_is_platform_admin(user) or roles_in(user, municipality) & DELIVERY_ROLES):
        raise PermissionDenied
    try:
        return Delivery.objects.select_related("application", "target").get(
            uuid=delivery_uuid, municipality=municipality
        )
    except (Delivery.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def handover_municipalities(user: Any) -> QuerySet[Municipality]:
    """Cities whose deliveries ``user`` may see."""
    if not getattr(user, "is_authenticated", False):
        return Municipality.objects.none()
    if _is_platform_admin(user):
        return Municipality.objects.all()
    return Municipality.objects.filter(memberships__user=user, memberships__role__in=DELIVERY_ROLES).distinct()
