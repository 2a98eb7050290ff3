"""Permission checks, written once. Views and API endpoints call these and
nothing else to decide who may see or change what.

The rule: data of a municipality is visible only to users holding a role in
that municipality (and to platform administrators). Objects of another
municipality are answered with 404, as if they did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from dikom.accounts.models import ApiKey, Membership, User
from dikom.accounts.roles import Role
from dikom.lib.prepared import PreparedQuery
from dikom.municipalities.models import Municipality, OrgUnit

# Compiled once per thread and database (``dikom.lib.prepared``): read on every staff page (issue 21).
_MEMBERSHIPS = PreparedQuery(
    Membership,
    lambda user_id: (
        Membership.objects.filter(user_id=user_id)
        .select_related("municipality")
        .order_by("municipality__name", "municipality_id", "role")
    ),
    fields=(Membership._meta.get_field("user"),),
    samples=(-7005,),
)
# ``Municipality.objects.select_related("district").get(slug=slug)``: the same statement (no order,
# at most 21 rows), compiled once per thread.
_CITY_WITH_DISTRICT = PreparedQuery(
    Municipality,
    lambda slug: Municipality.objects.select_related("district").filter(slug=slug).order_by()[:21],
    fields=(Municipality._meta.get_field("slug"),),
    samples=("\x00prepared-sample",),
)
_ROLES_MEMO = "_dikom_roles_cache"
_CITIES_MEMO = "_dikom_membership_cities"


def _load_memberships(user: Any) -> dict[int, set[str]]:
    """The user's roles per municipality and the municipalities themselves, in one statement, kept on
    the loaded user object (i.e. per request): the access checks and the navigation of a page share
    them (issue 21). The municipalities are ordered by name as ``Municipality``'s default ordering."""
    cache: dict[int, set[str]] | None = getattr(user, _ROLES_MEMO, None)
    if cache is not None:
        return cache
    cache = {}
    cities: dict[int, Municipality] = {}
    for membership in _MEMBERSHIPS.all(user.pk):
        cache.setdefault(membership.municipality_id, set()).add(membership.role)
        cities.setdefault(membership.municipality_id, membership.municipality)
    setattr(user, _ROLES_MEMO, cache)
    setattr(user, _CITIES_MEMO, list(cities.values()))
    return cache


def roles_in(user: Any, municipality: Municipality | int) -> set[str]:
    """The roles ``user`` holds in ``municipality`` (cached per request object)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    municipality_id = municipality if isinstance(municipality, int) else municipality.pk
    return set(_load_memberships(user).get(municipality_id, set()))


def membership_municipalities(user: Any) -> list[Municipality]:
    """The municipalities in which ``user`` holds a role, by name (read with the roles, once per
    request object). For platform administrators too: only those with a membership."""
    if not getattr(user, "is_authenticated", False):
        return []
    _load_memberships(user)
    return list(getattr(user, _CITIES_MEMO))


def is_staff_member(user: Any) -> bool:
    """Staff are users with at least one role in a municipality, or platform admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user).exists()


def staff_municipalities(user: Any) -> QuerySet[Municipality]:
    """Municipalities in which the user holds any role (all for platform admins)."""
    if not getattr(user, "is_authenticated", False):
        return Municipality.objects.none()
    if user.is_superuser:
        return Municipality.objects.all()
    return Municipality.objects.filter(memberships__user=user).distinct()


def has_role(user: Any, municipality: Municipality, roles: Iterable[str]) -> bool:
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    return bool(roles_in(user, municipality) & set(roles))


def get_municipality_for_role(user: Any, slug: str, roles: Iterable[str]) -> Municipality:
    """The municipality ``slug`` if ``user`` holds one of ``roles`` there.

    Raises 404 for an unknown slug and 403 when the user holds none of the roles.
    """
    found = _CITY_WITH_DISTRICT.all(slug)
    if not found:
        raise Http404
    if len(found) > 1:  # pragma: no cover - the slug is unique; as ``get()`` would say
        raise Municipality.MultipleObjectsReturned(slug)
    municipality = found[0]
    if not has_role(user, municipality, roles):
        raise PermissionDenied
    return municipality


def get_admin_municipality(user: Any, slug: str) -> Municipality:
    return get_municipality_for_role(user, slug, [Role.MUNICIPALITY_ADMIN])


def get_org_unit_for_admin(user: Any, municipality: Municipality, org_unit_id: int) -> OrgUnit:
    if not has_role(user, municipality, [Role.MUNICIPALITY_ADMIN]):
        raise PermissionDenied
    try:
        return OrgUnit.objects.get(pk=org_unit_id, municipality=municipality)
    except OrgUnit.DoesNotExist as exc:
        raise Http404 from exc


def get_api_key_for_admin(user: Any, municipality: Municipality, key_uuid: Any) -> ApiKey:
    if not has_role(user, municipality, [Role.MUNICIPALITY_ADMIN]):
        raise PermissionDenied
    try:
        return ApiKey.objects.get(uuid=key_uuid, municipality=municipality)
    except (ApiKey.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def get_membership_for_admin(user: Any, municipality: Municipality, membership_id: int) -> Membership:
    if not has_role(user, municipality, [Role.MUNICIPALITY_ADMIN]):
        raise PermissionDenied
    try:
        return Membership.objects.select_related("user").get(pk=membership_id, municipality=municipality)
    except Membership.DoesNotExist as exc:
        raise Http404 from exc


def can_view_audit_log(user: User, municipality: Municipality) -> bool:
    return has_role(user, municipality, [Role.MUNICIPALITY_ADMIN])
