"""Endpoints of the API base: the member municipalities, their org units, the
audit log and the caller's identity. Views validate input and ask
``dikom.api.permissions`` / ``dikom.accounts.access`` who may see what."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.pagination import BasePagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dikom.accounts.models import Membership, User
from dikom.accounts.roles import Role
from dikom.accounts.scopes import AUDIT_READ, MUNICIPALITY_READ
from dikom.api import serializers as s
from dikom.api.pagination import LimitOffsetWithCeiling
from dikom.api.permissions import (
    NamedMunicipalityAllowed,
    SecondFactorConfirmed,
    api_key_user,
    check_municipality_access,
    resolve_municipality,
)
from dikom.api.problems import ContentTooLarge
from dikom.api.schema import problems
from dikom.audit.models import AuditEvent
from dikom.municipalities.models import Municipality, OrgUnit

AGS_PARAMETER = OpenApiParameter(
    "ags",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=f"{s.AGS_DESCRIPTION} E.g. `06631009`.",
    pattern=s.AGS_PATTERN,
)


class BaseApiView(APIView):
    """What every dikom endpoint shares (other apps' API views derive from it too):
    staff sessions need their second factor, a request naming a municipality the
    caller may not act in is refused (``NamedMunicipalityAllowed``), lists are
    paged with a ceiling, and an oversized body is refused before anything reads it.

    Combine it with DRF's generic views: ``class MyList(BaseApiView, generics.ListAPIView)``.
    """

    permission_classes = [IsAuthenticated, SecondFactorConfirmed, NamedMunicipalityAllowed]
    pagination_class: type[BasePagination] | None = LimitOffsetWithCeiling

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # The same limit as ApiRequestSizeLimitMiddleware, for views reached without it.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            raise ContentTooLarge()
        super().initial(request, *args, **kwargs)


def get_municipality(ags: str) -> Municipality:
    """The municipality with ``ags``: 400 for a malformed key, 404 for an unknown one."""
    s.validated_ags(ags)
    try:
        return Municipality.objects.select_related("district").get(ags=ags)
    except Municipality.DoesNotExist as exc:
        raise Http404 from exc


class MunicipalityListView(BaseApiView, generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.MunicipalitySerializer
    queryset = Municipality.objects.select_related("district").order_by("name")

    @extend_schema(
        operation_id="municipalities_list",
        summary="List the member municipalities",
        description="Public: the members of the cooperation with their official keys. No credentials needed.",
        responses={200: s.MunicipalitySerializer(many=True), **problems(401, 429)},
        tags=["municipalities"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MunicipalityDetailView(BaseApiView, generics.GenericAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.MunicipalitySerializer

    @extend_schema(
        operation_id="municipalities_retrieve",
        summary="One member municipality",
        parameters=[AGS_PARAMETER],
        responses={200: s.MunicipalitySerializer, **problems(400, 401, 404, 429)},
        tags=["municipalities"],
    )
    def get(self, request: Request, ags: str) -> Response:
        return Response(self.get_serializer(get_municipality(ags)).data)


class OrgUnitListView(BaseApiView, generics.ListAPIView):
    serializer_class = s.OrgUnitSerializer

    def get_queryset(self) -> QuerySet[OrgUnit]:
        if getattr(self, "swagger_fake_view", False):
            return OrgUnit.objects.none()
        municipality = get_municipality(self.kwargs["ags"])
        check_municipality_access(self.request, municipality, scope=MUNICIPALITY_READ)
        return OrgUnit.objects.filter(municipality=municipality).select_related("parent").order_by("name", "pk")

    @extend_schema(
        operation_id="municipalities_org_units_list",
        summary="Organisational units of a municipality",
        description=(
            "Needs an API key of this municipality with the scope `municipality:read`, "
            "or a signed-in person holding any role in it."
        ),
        parameters=[AGS_PARAMETER],
        responses={200: s.OrgUnitSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=["municipalities"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AuditEventListView(BaseApiView, generics.ListAPIView):
    serializer_class = s.AuditEventSerializer

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        filters = s.AuditEventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        municipality = resolve_municipality(
            self.request,
            params.get("municipality"),
            scope=AUDIT_READ,
            roles=[Role.MUNICIPALITY_ADMIN],
            required_message=s.MUNICIPALITY_REQUIRED,
        )
        events = AuditEvent.objects.filter(municipality=municipality)
        if params.get("action"):
            events = events.filter(action__startswith=params["action"])
        if params.get("since"):
            events = events.filter(occurred_at__gte=params["since"])
        if params.get("until"):
            events = events.filter(occurred_at__lt=params["until"])
        return events.order_by("-occurred_at", "-id")

    @extend_schema(
        operation_id="audit_events_list",
        summary="The audit log of a municipality",
        description=(
            "Newest first. An API key with the scope `audit:read` reads its own municipality's log; "
            "a signed-in municipality administrator names the municipality with `municipality=<AGS>`."
        ),
        parameters=[s.AuditEventFilterSerializer],
        responses={200: s.AuditEventSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=["audit"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MeView(BaseApiView):
    @extend_schema(
        operation_id="me_retrieve",
        summary="Who am I",
        description="The API key (name, prefix, municipality, scopes, last use) or the signed-in person and roles.",
        responses={200: s.MeSerializer, **problems(401, 403, 429)},
        tags=["identity"],
    )
    def get(self, request: Request) -> Response:
        key_user = api_key_user(request)
        if key_user is not None:
            key = key_user.api_key
            data: dict[str, Any] = {
                "kind": "api_key",
                "api_key": {
                    "name": key.name,
                    "prefix": key.prefix,
                    "scopes": sorted(key_user.scopes),
                    "last_used_at": key.last_used_at,
                    "expires_at": key.expires_at,
                },
                "municipality": key_user.municipality,
                "user": None,
                "memberships": [],
            }
        else:
            user = cast(User, request.user)  # IsAuthenticated: a person, not AnonymousUser
            memberships = Membership.objects.filter(user=user).select_related("municipality")
            data = {
                "kind": "user",
                "api_key": None,
                "municipality": None,
                "user": {"username": user.get_username(), "is_platform_admin": bool(user.is_superuser)},
                "memberships": [{"municipality": m.municipality, "role": m.role} for m in memberships],
            }
        return Response(s.MeSerializer(data).data)
