"""Endpoints of the service library: the released library (public), one version's
content, and a city's adoptions. Read only; who may see what is decided in
``eservices.access`` and ``dikom.api.permissions``."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.api.permissions import api_key_user, resolve_municipality
from dikom.api.schema import problems
from dikom.api.views import BaseApiView
from dikom.eservices import access
from dikom.eservices.api import serializers as s
from dikom.eservices.models import Adoption, ServiceDefinition, ServiceVersion

TAGS = ["eservices"]

SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Short name of the service.")
NUMBER = OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH, description="Version number (1, 2, …).")


class ServiceListView(BaseApiView, generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = s.LibraryServiceSerializer

    def get_queryset(self) -> QuerySet[ServiceDefinition]:
        services = (
            ServiceDefinition.objects.filter(latest_released__isnull=False)
            .select_related("latest_released", "municipality")
            .order_by("title", "pk")
        )
        if getattr(self, "swagger_fake_view", False):
            return services
        filters = s.ServiceFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        query = (filters.validated_data.get("q") or "").strip()
        if query:
            services = services.filter(
                Q(title__icontains=query) | Q(leika_key__startswith=query) | Q(keywords__icontains=query)
            )
        return services

    @extend_schema(
        operation_id="eservices_services_list",
        summary="The shared library of released online services",
        description="Public: every service with at least one released version, with its latest released version.",
        parameters=[s.ServiceFilterSerializer],
        responses={200: s.LibraryServiceSerializer(many=True), **problems(400, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class VersionDetailView(BaseApiView):
    permission_classes = [AllowAny]
    serializer_class = s.ServiceVersionSerializer

    @extend_schema(
        operation_id="eservices_versions_retrieve",
        summary="One version of a service, with its definition",
        description=(
            "Released versions are public. Drafts and versions under review are visible to API keys of the "
            "authoring city with the scope `eservices:read`, and to signed-in people who may see them on the "
            "web pages (designers and administrators of the authoring city; working-group reviewers once "
            "submitted). For everyone else they do not exist (404)."
        ),
        parameters=[SLUG, NUMBER],
        responses={200: s.ServiceVersionSerializer, **problems(401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, slug: str, number: int) -> Response:
        try:
            version = ServiceVersion.objects.select_related("definition", "municipality", "based_on").get(
                definition__slug=slug, number=number
            )
        except ServiceVersion.DoesNotExist as exc:
            raise Http404 from exc
        if version.status != ServiceVersion.Status.RELEASED:
            key_user = api_key_user(request)
            if key_user is not None:
                if key_user.municipality.pk != version.municipality_id:
                    raise Http404
                if not key_user.has_scope(access.ESERVICES_READ):
                    raise exceptions.PermissionDenied(
                        gettext("This API key lacks the scope “%(scope)s” that this endpoint needs.")
                        % {"scope": access.ESERVICES_READ}
                    )
            elif not access.can_view_version(request.user, version):
                raise Http404
        return Response(s.ServiceVersionSerializer(version).data)


class AdoptionListView(BaseApiView, generics.ListAPIView):
    serializer_class = s.AdoptionSerializer

    def get_queryset(self) -> QuerySet[Adoption]:
        if getattr(self, "swagger_fake_view", False):
            return Adoption.objects.none()
        filters = s.AdoptionFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        municipality = resolve_municipality(
            self.request,
            filters.validated_data.get("municipality"),
            scope=access.ESERVICES_READ,
            required_message=gettext("Name the municipality by its AGS (municipality=…)."),
        )
        return (
            Adoption.objects.filter(municipality=municipality)
            .select_related("definition", "version", "pending_upgrade_to", "org_unit")
            .order_by("definition__title", "pk")
        )

    @extend_schema(
        operation_id="eservices_adoptions_list",
        summary="The services a city has adopted, with its local settings",
        description=(
            "An API key with the scope `eservices:read` reads its own city's adoptions; a signed-in person "
            "holding a role in a city names it with `municipality=<AGS>`."
        ),
        parameters=[s.AdoptionFilterSerializer],
        responses={200: s.AdoptionSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
