"""Who may call which API endpoint.

Two kinds of callers reach the API:

- machine clients with an API key: the key belongs to exactly one
  municipality and carries scopes; it reaches that municipality's data and
  only for its scopes;
- signed-in people (session): they reach a municipality's data through the
  roles they hold there (``dikom.accounts.access``). Staff must have confirmed
  their second factor when the platform requires it, as on the web pages.

A request names the municipality it addresses with ``?municipality=<AGS>``
(or an ``ags`` in the path). ``NamedMunicipalityAllowed``, part of every
protected endpoint through ``BaseApiView``, refuses with 403 before the view
runs when the caller may not act there: an API key naming any municipality but
its own, a person naming a municipality in which they hold no role. Views then
resolve the municipality with ``resolve_municipality``, which applies the same
rule again with the endpoint's scope and roles.

The decisions are made here and in ``dikom.accounts.access``, never in views.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from dikom.accounts.access import has_role, is_staff_member, roles_in, staff_municipalities
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


def named_municipalities(request: Request, view: Any) -> list[str]:
    """The municipalities ``request`` names: every non-empty ``municipality`` query value and an ``ags`` path part."""
    names = [value for value in request.query_params.getlist("municipality") if value != ""]
    path_ags = (getattr(view, "kwargs", None) or {}).get("ags")
    if path_ags:
        names.append(str(path_ags))
    return names


def _refuse_other_municipality_for_key(key_user: ApiKeyUser, names: Iterable[str]) -> None:
    own = key_user.municipality.ags
    if any(name != own for name in names):
        raise exceptions.PermissionDenied(
            gettext(
                "This API key belongs to another municipality than the one this request names; "
                "it reaches only the data of %(name)s (AGS %(ags)s)."
            )
            % {"name": key_user.municipality.name, "ags": own}
        )


class NamedMunicipalityAllowed(BasePermission):
    """403 before the view runs when the request names a municipality the caller may not act in.

    An API key may only name its own municipality (its AGS); anything else,
    another city's AGS, slug or id alike, is refused. A person must hold a role
    in a named municipality that exists (platform administrators pass); an
    unknown or malformed name is left to the view (404 or 400). Endpoints that
    never read the parameter are covered too, so a key can never believe it
    wrote to another city when its own was used.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        names = named_municipalities(request, view)
        if not names:
            return True
        key_user = api_key_user(request)
        if key_user is not None:
            _refuse_other_municipality_for_key(key_user, names)
            return True
        user = request.user
        if not getattr(user, "is_authenticated", False) or (getattr(user, "is_superuser", False) and user.is_active):
            return True
        held = set(staff_municipalities(user).values_list("ags", flat=True))
        foreign = [name for name in names if name not in held]
        if foreign and Municipality.objects.filter(ags__in=foreign).exists():
            raise exceptions.PermissionDenied(gettext("You hold no role in the municipality this request names."))
        return True


def resolve_municipality(
    request: Request,
    ags: str | None,
    *,
    scope: str,
    roles: Iterable[str] | None = None,
    required_message: str | Promise | None = None,
) -> Municipality:
    """The municipality a request addresses with ``ags`` (its ``municipality`` parameter), if the caller may.

    An API key addresses its own municipality; naming any other is a 403. A
    person must name it (400 with ``required_message`` otherwise; 400 for a
    malformed AGS, 404 for an unknown one) and hold one of ``roles`` there
    (any role when None). Either way ``check_municipality_access`` decides.
    """
    key_user = api_key_user(request)
    if not ags:
        if key_user is None:
            message = (
                str(required_message) if required_message is not None else gettext("Name the municipality (its AGS).")
            )
            raise exceptions.ValidationError({"municipality": [message]}, code="required")
        municipality = key_user.municipality
    else:
        if key_user is not None:
            _refuse_other_municipality_for_key(key_user, [ags])
            municipality = key_user.municipality
        else:
            if not re.fullmatch(r"\d{8}", ags):
                raise exceptions.ValidationError(
                    {"municipality": [gettext("The AGS must consist of exactly 8 digits.")]}, code="ags_format"
                )
            try:
                municipality = Municipality.objects.select_related("district").get(ags=ags)
            except Municipality.DoesNotExist as exc:
                raise Http404 from exc
    check_municipality_access(request, municipality, scope=scope, roles=roles)
    return municipality
