"""Case webhook subscriptions through the API: a specialist procedure subscribes itself.

The same actions as the administrators' page (``cases.webhooks.actions``):
the address is checked SSRF-safe, the secret is returned once. API keys need
``webhooks:manage`` and act for their own city; signed-in people must be
administrators of the city they name.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.accounts.roles import Role
from dikom.api.permissions import resolve_municipality
from dikom.api.schema import problems
from dikom.api.serializers import QuerySerializer, StrictJSONSerializer, ags_query_field
from dikom.api.views import BaseApiView
from dikom.cases.scopes import WEBHOOKS_MANAGE
from dikom.cases.webhooks import actions
from dikom.cases.webhooks.models import WebhookDelivery, WebhookSubscription
from dikom.municipalities.models import Municipality

TAGS = ["cases"]
SUBSCRIPTION_UUID = OpenApiParameter(
    "subscription_uuid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The subscription's uuid."
)


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["uuid", "name", "url", "events", "services", "active", "created_at"]
        read_only_fields = fields


class CreatedSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret (`whsec_…`); returned only now.")

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SubscriptionInputSerializer(StrictJSONSerializer):
    rejects_unknown_fields = True

    name = serializers.CharField(max_length=200)
    url = serializers.CharField(max_length=500, help_text="https:// address of the receiver.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookSubscription.Event.choices), min_length=1, max_length=5
    )
    services = serializers.ListField(
        child=serializers.SlugField(max_length=80), required=False, default=list, max_length=100
    )


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.UUIDField(source="uuid", read_only=True, help_text="Sent as the `webhook-id` header.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "webhook_id",
            "event",
            "case_reference",
            "status",
            "attempts",
            "last_http_status",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class CityQuerySerializer(QuerySerializer):
    municipality = ags_query_field(
        "AGS of the municipality. Required for signed-in administrators; API keys act for their own municipality."
    )


def _city(request: Request) -> Municipality:
    query = CityQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return resolve_municipality(
        request,
        query.validated_data.get("municipality"),
        scope=WEBHOOKS_MANAGE,
        roles=[Role.MUNICIPALITY_ADMIN],
        required_message=gettext("Name the municipality by its AGS (municipality=…)."),
    )


def _subscription(request: Request, subscription_uuid: Any) -> WebhookSubscription:
    found = WebhookSubscription.objects.filter(municipality=_city(request), uuid=subscription_uuid).first()
    if found is None:
        raise Http404
    return found


class SubscriptionListView(BaseApiView, generics.ListAPIView):
    serializer_class = SubscriptionSerializer

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        return WebhookSubscription.objects.filter(municipality=_city(self.request)).order_by("name", "id")

    @extend_schema(
        operation_id="cases_webhooks_list",
        summary="The city's case webhook subscriptions",
        description="Needs an API key with `webhooks:manage`, or a signed-in administrator of the city.",
        parameters=[CityQuerySerializer],
        responses={200: SubscriptionSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="cases_webhooks_create",
        summary="Subscribe a receiver to case events",
        description=(
            "Events: `case.created`, `case.status_changed`, `task.created`, `document.added`, `decision.made`. "
            "The address must be https:// and public. The signing secret is in this answer only; payloads and "
            "signatures are described in docs/case-api.md."
        ),
        parameters=[CityQuerySerializer],
        request=SubscriptionInputSerializer,
        responses={201: CreatedSubscriptionSerializer, **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        municipality = _city(request)
        body = SubscriptionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            created = actions.create_subscription(
                municipality=municipality,
                actor=request.user,
                name=body.validated_data["name"],
                url=body.validated_data["url"],
                events=body.validated_data["events"],
                services=body.validated_data["services"],
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from error
        data = {**SubscriptionSerializer(created.subscription).data, "secret": created.secret}
        return Response(data, status=201)


class SubscriptionDetailView(BaseApiView):
    @extend_schema(
        operation_id="cases_webhooks_destroy",
        summary="End a subscription",
        parameters=[SUBSCRIPTION_UUID, CityQuerySerializer],
        responses={204: None, **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def delete(self, request: Request, subscription_uuid: Any) -> Response:
        actions.delete_subscription(_subscription(request, subscription_uuid), actor=request.user)
        return Response(status=204)


class DeliveryListView(BaseApiView, generics.ListAPIView):
    serializer_class = DeliverySerializer

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        subscription = _subscription(self.request, self.kwargs["subscription_uuid"])
        return WebhookDelivery.objects.filter(subscription=subscription).order_by("-created_at", "-id")

    @extend_schema(
        operation_id="cases_webhooks_deliveries_list",
        summary="The delivery log of a subscription, newest first",
        parameters=[SUBSCRIPTION_UUID, CityQuerySerializer],
        responses={200: DeliverySerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
