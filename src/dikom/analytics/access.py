"""Who may read and change analytics data. Views ask here, nowhere else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.request import Request

from dikom.accounts.roles import Role
from dikom.analytics.models import Service
from dikom.api.permissions import api_key_user, check_municipality_access, resolve_municipality
from dikom.municipalities.models import Municipality

READ_ROLES = [Role.ANALYST, Role.MUNICIPALITY_ADMIN]
MANAGE_ROLES = [Role.ANALYST, Role.MUNICIPALITY_ADMIN]


def municipality_for_request(
    request: Request, *, scope: str, roles: Sequence[str], ags: str | None = None
) -> Municipality:
    """The municipality whose analytics ``request`` addresses, if the caller may use ``scope`` there.

    An API key addresses its own municipality (403 naming the scope when it
    lacks it, 403 when ``ags`` names another one); a signed-in person names the
    municipality with ``ags`` and must hold one of ``roles`` there.
    """
    return resolve_municipality(request, ags, scope=scope, roles=roles)


def require_api_key_scope(request: Request, scope: str) -> Municipality:
    """The municipality of the calling API key if it carries ``scope``; people get 403 (machine-only endpoint)."""
    key_user = api_key_user(request)
    if key_user is None:
        raise exceptions.PermissionDenied(gettext("This endpoint is for API keys only."))
    check_municipality_access(request, key_user.municipality, scope=scope)
    return key_user.municipality


def get_service(municipality: Municipality, service_uuid: Any) -> Service:
    """The service ``service_uuid`` of ``municipality``; 404 for another city's (or an unknown) service."""
    try:
        return Service.objects.get(municipality=municipality, uuid=service_uuid)
    except (Service.DoesNotExist, ValueError, DjangoValidationError) as exc:
        raise Http404 from exc
