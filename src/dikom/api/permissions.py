"""Who may call which API endpoint.

Two kinds of callers reach the API:

- machine clients with an API key: the key belongs to exactly one
  municipality and carries scopes; it reaches that municipality's data and
  only for its scopes;
- signed-in people (session): they reach a municipality's data through the
  roles they hold there (``dikom.accounts.access``). Staff must have confirmed
  their second factor when the platform requires it, as on the web pages.

The decisions are made here and in ``dikom.accounts.access``, never in views.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from dikom.accounts.access import has_role, is_staff_member, roles_in
from dikom.accounts.service import ApiKeyUser
from dikom.municipalities.models import Municipality


def api_key_user(request: Request) -> ApiKeyUser | None:
    """The API key principal of ``request``, or None for a session or anonymous request."""
    user = request.user
    return user if isinstance(user, ApiKeyUser) else None


class SecondFactorConfirmed(BasePermission):
    """Staff sessions count only after the second factor, as on the web pages.

    The accounts' two-factor middleware already turns half-logged-in sessions
    into anonymous ones under ``/api/``; this check keeps the rule in force for
    the API even if that middleware changes or is left out of a set-up.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if api_key_user(request) is not None or not getattr(user, "is_authenticated", False):
            return True
        if not settings.DIKOM_REQUIRE_2FA_FOR_STAFF:
            return True
        is_verified = getattr(user, "is_verified", None)
        if callable(is_verified) and is_verified():
            return True
        if not is_staff_member(user):
            return True
        raise exceptions.PermissionDenied(
            gettext("Confirm your second factor on the web pages before using the API with your session.")
        )


def check_municipality_access(
    request: Request, municipality: Municipality, *, scope: str, roles: Iterable[str] | None = None
) -> None:
    """Raise 403 unless the caller may read ``municipality``'s data guarded by ``scope``.

    An API key must belong to ``municipality`` and carry ``scope``. A person
    must hold one of ``roles`` there (any role when ``roles`` is None);
    platform administrators pass.
    """
    key_user = api_key_user(request)
    if key_user is not None:
        if key_user.municipality.pk != municipality.pk:
            raise exceptions.PermissionDenied(
                gettext("This API key belongs to another municipality and cannot read data of %(name)s.")
                % {"name": municipality.name}
            )
        if not key_user.has_scope(scope):
            raise exceptions.PermissionDenied(
                gettext("This API key lacks the scope “%(scope)s” that this endpoint needs.") % {"scope": scope}
            )
        return
    user = request.user
    if roles is None:
        allowed = bool(getattr(user, "is_superuser", False) and user.is_active) or bool(roles_in(user, municipality))
    else:
        allowed = has_role(user, municipality, roles)
    if not allowed:
        raise exceptions.PermissionDenied(
            gettext("You hold no role in %(name)s that allows this.") % {"name": municipality.name}
        )
