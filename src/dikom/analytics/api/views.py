"""Analytics endpoints: event ingestion, measured services, unassigned keys and the usage summary.

Views parse and validate, ask ``dikom.analytics.access`` who may, and call
actions or read models; nothing else.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Max, Min, QuerySet
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.analytics import access, actions, ingest
from dikom.analytics.api import serializers as s
from dikom.analytics.api.ingest_support import FastJSONParser, IngestThrottle
from dikom.analytics.metrics import service_summary
from dikom.analytics.models import EventSource, Service, UsageEvent
from dikom.analytics.scopes import ANALYTICS_INGEST, ANALYTICS_MANAGE, ANALYTICS_READ
from dikom.api.problems import CONTENT_TYPE, ContentTooLarge, problem
from dikom.api.schema import ProblemSerializer, problems
from dikom.api.views import BaseApiView

TAGS = ["analytics"]

INGEST_PROBLEMS = {
    (413, CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="More events than one batch may hold."),
    (422, CONTENT_TYPE): OpenApiResponse(
        s.IngestProblemSerializer,
        description="The single event, or every event of the batch, is invalid; `errors` / `rejected` say why.",
    ),
}

EVENT_EXAMPLE = {
    "event_id": "5c0f5a4e-1d1e-4a53-9b1b-2d0c9f1e7a10",
    "type": "step_viewed",
    "service": "anwohnerparken",
    "occurred_at": "2025-03-01T09:30:00+01:00",
    "visit_id": "k3j4h5g6",
    "step_key": "antragsteller",
    "step_position": 2,
    "channel": "web",
    "device_class": "mobile",
}


class EventIngestView(BaseApiView):
    # The hot path of the platform: see docs/benchmarks.md before adding work here.
    parser_classes = [FastJSONParser]
    throttle_classes = [IngestThrottle]

    @extend_schema(
        operation_id="analytics_events_create",
        summary="Send usage events",
        description=(
            'One event object, or `{"events": [...]}` with up to 10 000 events. Needs an API key with the scope '
            "`analytics:ingest`; events belong to the key's municipality. Unknown fields, wrong types and "
            "timestamps outside the accepted window are errors. In a batch every invalid event is rejected with "
            "its index and reasons while the valid ones are stored; an event whose `event_id` is already stored "
            "counts as a duplicate. Stored events are committed before the answer. No IP address, user agent or "
            "cookie is stored. Answers 201 for one stored event, 200 for batches and duplicates."
        ),
        request=PolymorphicProxySerializer(
            component_name="UsageEventRequest",
            serializers=[s.UsageEventSerializer, s.UsageEventBatchSerializer],
            resource_type_field_name=None,
        ),
        responses={
            200: s.IngestResultSerializer,
            201: s.IngestResultSerializer,
            **problems(400, 401, 403, 429),
            **INGEST_PROBLEMS,
        },
        examples=[
            OpenApiExample("One event", value=EVENT_EXAMPLE, request_only=True),
            OpenApiExample("Batch", value={"events": [EVENT_EXAMPLE]}, request_only=True),
        ],
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        municipality = access.require_api_key_scope(request, ANALYTICS_INGEST)
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError(gettext('Send one event object or an object {"events": [...]}.'), code="invalid")
        batch = "events" in data
        if batch:
            items = data["events"]
            if len(data) != 1:
                raise ValidationError(
                    {name: [gettext("Unknown field.")] for name in data if name != "events"}, code="unknown_field"
                )
            if not isinstance(items, list):
                raise ValidationError({"events": [gettext("Must be a list of events.")]}, code="invalid_type")
            if not items:
                raise ValidationError({"events": [gettext("The batch is empty.")]}, code="empty")
            if len(items) > settings.DIKOM_ANALYTICS_MAX_BATCH:
                raise ContentTooLarge(
                    gettext("A batch may hold at most %(n)d events.") % {"n": settings.DIKOM_ANALYTICS_MAX_BATCH}
                )
        else:
            items = [data]
        result = ingest.ingest_events(
            municipality, items, source=EventSource.API, api_key_prefix=getattr(request.auth, "prefix", "")
        )
        if result.rejected and not result.accepted and not result.duplicates:
            return self._all_rejected(result, batch)
        code = status.HTTP_201_CREATED if not batch and result.accepted else status.HTTP_200_OK
        # Already the shape of IngestResultSerializer (plain ints, strings and lists): no serializer pass.
        return Response(result.as_dict(), status=code)

    def _all_rejected(self, result: ingest.IngestResult, batch: bool) -> Response:
        errors = [
            {**error, "field": f"events[{item['index']}].{error['field']}".rstrip(".") if batch else error["field"]}
            for item in result.rejected
            for error in item["errors"]
        ]
        extra: dict[str, Any] = {"errors": errors}
        if batch:
            extra["rejected"] = result.rejected
        body = problem(
            422,
            gettext("No event was stored: every event is invalid.") if batch else gettext("The event is invalid."),
            "validation-error",
            **extra,
        )
        return Response(body, status=422, content_type=CONTENT_TYPE)


class ServiceListView(BaseApiView, generics.ListAPIView):
    serializer_class = s.ServiceSerializer

    def get_queryset(self) -> QuerySet[Service]:
        if getattr(self, "swagger_fake_view", False):
            return Service.objects.none()
        filters = s.MunicipalityQuerySerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        municipality = access.municipality_for_request(
            self.request, scope=ANALYTICS_READ, roles=access.READ_ROLES, ags=filters.validated_data.get("municipality")
        )
        return Service.objects.filter(municipality=municipality).order_by("name", "pk")

    @extend_schema(
        operation_id="analytics_services_list",
        summary="Measured services",
        description=(
            "The municipality's registered services with their LeiKa keys. API keys need `analytics:read`; "
            "signed-in analysts and municipality administrators name the municipality with `municipality=<AGS>`."
        ),
        parameters=[s.MunicipalityQuerySerializer],
        responses={200: s.ServiceSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="analytics_services_create",
        summary="Register a measured service",
        description="Needs `analytics:manage`. The `external_key` is what source systems send as `service`.",
        parameters=[s.MunicipalityQuerySerializer],
        request=s.ServiceSerializer,
        responses={201: s.ServiceSerializer, **problems(400, 401, 403, 404, 409, 429)},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        filters = s.MunicipalityQuerySerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        municipality = access.municipality_for_request(
            request, scope=ANALYTICS_MANAGE, roles=access.MANAGE_ROLES, ags=filters.validated_data.get("municipality")
        )
        serializer = s.ServiceSerializer(data=request.data, context={"municipality": municipality})
        serializer.is_valid(raise_exception=True)
        try:
            service = actions.create_service(
                municipality=municipality, actor=request.user, api_key=request.auth, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(s.ServiceSerializer(service).data, status=status.HTTP_201_CREATED)


class UnassignedListView(BaseApiView):
    # One capped list (the 1000 most frequent keys), not a paged one: the answer is a plain array.
    pagination_class = None

    @extend_schema(
        operation_id="analytics_unassigned_list",
        summary="Service keys without a registered service",
        description=(
            "Keys that events were sent with but no service (or alias) is registered for, with the number of "
            "stored events, most frequent first (at most 1000). Needs `analytics:read`."
        ),
        parameters=[s.MunicipalityQuerySerializer],
        responses={200: s.UnassignedKeySerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        filters = s.MunicipalityQuerySerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        municipality = access.municipality_for_request(
            request, scope=ANALYTICS_READ, roles=access.READ_ROLES, ags=filters.validated_data.get("municipality")
        )
        rows = (
            UsageEvent.objects.filter(municipality=municipality, service__isnull=True)
            .values("service_key")
            .annotate(events=Count("id"), first_seen=Min("occurred_at"), last_seen=Max("occurred_at"))
            .order_by("-events", "service_key")[:1000]
        )
        return Response(s.UnassignedKeySerializer(rows, many=True).data)


class AssignView(BaseApiView):
    @extend_schema(
        operation_id="analytics_unassigned_assign",
        summary="Assign an unassigned key to a service",
        description=(
            "Maps the stored events sent with `service_key` and all future ones to the service; the rollups of the "
            "affected days are rebuilt in the background. Needs `analytics:manage`."
        ),
        parameters=[s.MunicipalityQuerySerializer],
        request=s.AssignSerializer,
        responses={200: s.AssignResultSerializer, **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        filters = s.MunicipalityQuerySerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        municipality = access.municipality_for_request(
            request, scope=ANALYTICS_MANAGE, roles=access.MANAGE_ROLES, ags=filters.validated_data.get("municipality")
        )
        serializer = s.AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service = access.get_service(municipality, serializer.validated_data["service"])
        try:
            count = actions.assign_unassigned(
                municipality=municipality,
                service_key=serializer.validated_data["service_key"],
                service=service,
                actor=request.user,
                api_key=request.auth,
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(s.AssignResultSerializer({"assigned": count}).data)


class SummaryView(BaseApiView):
    @extend_schema(
        operation_id="analytics_summary_retrieve",
        summary="Usage figures of a service over a period",
        description=(
            "Visits, starts, completions, conversion and abandonment, funnel with drop-off per step, "
            "authentication and payment mix, channels, devices, satisfaction and completion time between two "
            "local dates (inclusive), computed from the daily rollups only. Needs `analytics:read`; a service "
            "of another municipality is a 404."
        ),
        parameters=[s.SummaryQuerySerializer],
        responses={200: s.SummarySerializer, **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        query = s.SummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        municipality = access.municipality_for_request(
            request, scope=ANALYTICS_READ, roles=access.READ_ROLES, ags=params.get("municipality")
        )
        service = access.get_service(municipality, params["service"])
        summary = service_summary(
            municipality_id=municipality.pk,
            service_id=service.pk,
            since=params["from"],
            until=params["to"],
            channel=params.get("channel"),
        )
        return Response(s.SummarySerializer({"service": service, **summary}).data)
