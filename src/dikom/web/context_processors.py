from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dikom.accounts.access import membership_municipalities, roles_in, staff_municipalities
from dikom.accounts.roles import Role
from dikom.municipalities.models import Municipality


@dataclass
class Navigation:
    """What the primary navigation shows for the current user."""

    kind: str  # "anonymous", "citizen" or "staff"
    is_platform_admin: bool = False
    admin_municipalities: list[Municipality] = field(default_factory=list)
    # Cities whose usage analytics the user may read (analyst or municipality administrator).
    analytics_municipalities: list[Municipality] = field(default_factory=list)
    # Cities whose cases the user processes (caseworker or municipality administrator).
    case_municipalities: list[Municipality] = field(default_factory=list)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


def navigation_for(user: Any) -> Navigation:
    """Navigation for ``user``: at most one query (their memberships with their municipalities), none
    when the request's access checks already read the user's roles (``accounts.access.roles_in``)."""
    if not getattr(user, "is_authenticated", False):
        return Navigation(kind="anonymous")
    is_platform_admin = bool(user.is_active and user.is_superuser)
    # Platform admins see every municipality; only those they hold a membership in are listed. For
    # everyone else these are the municipalities of their roles (``staff_municipalities``).
    municipalities = membership_municipalities(user)
    if user.is_superuser and not is_platform_admin:
        municipalities = list(staff_municipalities(user))  # an inactive superuser: every municipality, as before
    admin_of = [m for m in municipalities if Role.MUNICIPALITY_ADMIN in roles_in(user, m)]
    analytics_of = [m for m in municipalities if roles_in(user, m) & {Role.ANALYST, Role.MUNICIPALITY_ADMIN}]
    cases_of = [m for m in municipalities if roles_in(user, m) & {Role.CASEWORKER, Role.MUNICIPALITY_ADMIN}]
    is_staff = is_platform_admin or bool(municipalities)
    return Navigation(
        kind="staff" if is_staff else "citizen",
        is_platform_admin=is_platform_admin,
        admin_municipalities=admin_of,
        analytics_municipalities=analytics_of,
        case_municipalities=cases_of,
    )


def platform(request: HttpRequest) -> dict[str, Any]:
    """Values every template may use: demo and 2FA flags, the navigation (computed on first use)."""
    user = getattr(request, "user", None)
    return {
        "DIKOM_DEMO": settings.DIKOM_DEMO,
        "DIKOM_2FA_RELAXED": not settings.DIKOM_REQUIRE_2FA_FOR_STAFF,
        "nav": SimpleLazyObject(lambda: navigation_for(user)),
    }
