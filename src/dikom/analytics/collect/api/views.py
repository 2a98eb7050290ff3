"""The JavaScript collector: ``POST /api/v1/analytics/collect/<site_id>``.

Public like Matomo's endpoint (no API key: the snippet runs in citizens'
browsers), guarded by the site's allowed origins and the budgets of ``budget.py`` (per client
and per site).
``text/plain`` bodies are accepted so that ``navigator.sendBeacon`` needs no
CORS preflight. Events go through the core's validation and storage path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.analytics.api import serializers as core_serializers
from dikom.analytics.collect import budget, origins
from dikom.analytics.collect.models import CollectionSite
from dikom.analytics.models import EventSource
from dikom.analytics.service import record_usage_events
from dikom.api.parsers import LimitedJSONParser
from dikom.api.problems import CONTENT_TYPE, ContentTooLarge, problem
from dikom.api.schema import ProblemSerializer, problems
from dikom.api.views import BaseApiView

MAX_EVENTS = 100  # a page never has more to send at once


# An anonymous sender's clock is trusted only this close to the server's: anything else is stamped with
# the server's time, so nobody can add events to a past (perhaps published) month.
CLIENT_TIME_TOLERANCE = timedelta(minutes=5)


def server_time(item: Any, now: datetime) -> Any:
    """``item`` with ``occurred_at`` set to ``now`` unless the client's time lies within the tolerance."""
    if not isinstance(item, dict):
        return item
    value = item.get("occurred_at")
    client = None
    if isinstance(value, str):
        try:
            client = datetime.fromisoformat(value)
        except ValueError:
            client = None
    if client is not None and client.utcoffset() is not None and abs(client - now) <= CLIENT_TIME_TOLERANCE:
        return item
    return {**item, "occurred_at": now.isoformat()}


class PlainTextJSONParser(LimitedJSONParser):
    """JSON sent as ``text/plain`` (a CORS-safelisted type: ``sendBeacon`` without preflight)."""

    media_type = "text/plain"


EXAMPLE = {
    "type": "step_viewed",
    "service": "anwohnerparken",
    "occurred_at": "2025-03-01T09:30:00+01:00",
    "visit_id": "k3j4h5g6k3j4h5g6",
    "step_key": "antragsteller",
    "step_position": 2,
}


class CollectView(BaseApiView):
    authentication_classes: list[Any] = []  # public; sessions must not trigger CSRF checks on beacons
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []  # per site, below
    parser_classes = [LimitedJSONParser, PlainTextJSONParser]
    pagination_class = None

    site: CollectionSite | None = None
    origin_ok = False

    def _site(self, site_id: str) -> CollectionSite:
        site = CollectionSite.objects.select_related("municipality").filter(site_id=site_id, enabled=True).first()
        if site is None:
            raise exceptions.NotFound(gettext("Unknown or disabled site."))
        self.site = site
        self.origin_ok = origins.origin_allowed(site.allowed_origins, self.request, require=site.require_origin)
        return site

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Vary"] = "Origin"
        origin = request.headers.get("Origin")
        if origin and self.origin_ok:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Credentials"] = "true"  # fetch/XHR with credentials may read it too
        response["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response

    @extend_schema(exclude=True)
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        """CORS preflight for ``application/json`` bodies: allowed only for the site's origins."""
        self._site(kwargs["site_id"])
        if not self.origin_ok or not request.headers.get("Origin"):
            raise exceptions.PermissionDenied(gettext("This origin may not send usage data for this site."))
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return response

    @extend_schema(
        operation_id="analytics_collect_create",
        summary="Send usage events from a browser (JavaScript collector)",
        description=(
            'For the JavaScript snippet `collect.js`: one event or `{"events": [...]}` (at most 100) in the '
            "native event format, as `application/json` or `text/plain` (so that `navigator.sendBeacon` needs no "
            "CORS preflight). No API key: the site is public like Matomo's endpoint, but a browser request must "
            "come from one of the site's allowed origins (`Origin` or `Referer`), and each site has a rate limit. "
            "Events belong to the site's municipality. No IP address, user agent or cookie is stored."
        ),
        request=PolymorphicProxySerializer(
            component_name="CollectedEventRequest",
            serializers=[core_serializers.UsageEventSerializer, core_serializers.UsageEventBatchSerializer],
            resource_type_field_name=None,
        ),
        responses={
            200: core_serializers.IngestResultSerializer,
            **problems(400, 403, 404, 429),
            (413, CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="More than 100 events."),
            (422, CONTENT_TYPE): OpenApiResponse(
                core_serializers.IngestProblemSerializer, description="Every event is invalid; `errors` say why."
            ),
        },
        examples=[OpenApiExample("One event", value=EXAMPLE, request_only=True)],
        auth=[],
        tags=["analytics"],
    )
    def post(self, request: Request, site_id: str) -> Response | HttpResponse:
        site = self._site(site_id)
        if not self.origin_ok:
            raise exceptions.PermissionDenied(gettext("This origin may not send usage data for this site."))
        data = request.data
        if isinstance(data, dict) and "events" in data:
            items = data["events"]
            if len(data) != 1 or not isinstance(items, list) or not items:
                raise exceptions.ValidationError(
                    {"events": [gettext('Send one event or an object {"events": [...]} with a list of events.')]}
                )
            if len(items) > MAX_EVENTS:
                raise ContentTooLarge(gettext("At most %(n)d events per request.") % {"n": MAX_EVENTS})
        elif isinstance(data, dict):
            items = [data]
        else:
            raise exceptions.ValidationError(gettext('Send one event object or an object {"events": [...]}.'))
        # The whole request or nothing: a page sends few events at once, and the beacon cannot split them.
        grant = budget.grant_for_site(request, site.site_id, len(items), partial=False)
        if grant.allowed < len(items):
            raise exceptions.Throttled(wait=grant.retry_after)
        now = timezone.now()
        items = [server_time(item, now) for item in items]
        # Native API source: EventSource has no value of its own for the JavaScript collector yet.
        result = record_usage_events(site.municipality, items, source=EventSource.COLLECTOR)
        if result.rejected and not result.accepted and not result.duplicates:
            errors = [
                {**error, "field": f"events[{item['index']}].{error['field']}".rstrip(".")}
                for item in result.rejected
                for error in item["errors"]
            ]
            body = problem(
                422,
                gettext("No event was stored: every event is invalid."),
                "validation-error",
                errors=errors,
                rejected=result.rejected,
            )
            return Response(body, status=422, content_type=CONTENT_TYPE)
        return Response(core_serializers.IngestResultSerializer(result.as_dict()).data)
