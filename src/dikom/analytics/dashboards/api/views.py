"""Read API for the dashboards' numbers: per-service overview and time series (scope ``analytics:read``).

The per-service summary is the core's ``/summary``; these endpoints add the
city-wide view and bucketed time series, computed from rollups only.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.analytics import access
from dikom.analytics.dashboards import queries
from dikom.analytics.dashboards.api import serializers as s
from dikom.analytics.dashboards.periods import Period, bucket_label, buckets
from dikom.analytics.scopes import ANALYTICS_READ
from dikom.api.schema import problems
from dikom.api.views import BaseApiView

TAGS = ["analytics"]


def _period(period: Period) -> dict[str, Any]:
    return {"from": period.since, "to": period.until, "granularity": period.granularity}


def _figures(visits: int, starts: int, completions: int, rating_sum: int, rating_count: int) -> dict[str, Any]:
    return {
        "visits": visits,
        "starts": starts,
        "completions": completions,
        "conversion_rate": round(completions / starts, 4) if starts else None,
        "abandonment_rate": round(max(starts - completions, 0) / starts, 4) if starts else None,
        "satisfaction_average": round(rating_sum / rating_count, 2) if rating_count else None,
    }


class OverviewView(BaseApiView):
    @extend_schema(
        operation_id="analytics_overview_retrieve",
        summary="Usage of every service of the city over a period",
        description=(
            "One row per measured service (and one with `service: null` for unassigned events, if any) with "
            "visits, starts, completions, conversion and abandonment rate and average satisfaction, the same "
            "figures for the previous period of equal length, and visits per bucket (`granularity`). Computed "
            "from the daily rollups only. Needs `analytics:read`."
        ),
        parameters=[s.PeriodQuerySerializer],
        responses={200: s.OverviewSerializer, **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        query = s.PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        municipality = access.municipality_for_request(
            request, scope=ANALYTICS_READ, roles=access.READ_ROLES, ags=params.get("municipality")
        )
        period = Period(params["from"], params["to"], params["granularity"], "custom")
        rows = queries.overview(municipality.pk, period, params.get("channel", ""))
        starts = buckets(period)
        services = []
        for row in rows:
            series = [
                dict(
                    zip(("visits", "starts", "completions"), row.series.get(b, [0, 0, 0]), strict=True),
                    period=bucket_label(b, period.granularity),
                    start=b,
                )
                for b in starts
            ]
            services.append(
                {
                    "service": row.service.uuid if row.service else None,
                    "name": row.service.name if row.service else gettext("Unassigned events"),
                    "leika_key": row.service.leika_key if row.service else "",
                    **_figures(row.visits, row.starts, row.completions, row.rating_sum, row.rating_count),
                    "previous": _figures(
                        row.previous_visits,
                        row.previous_starts,
                        row.previous_completions,
                        row.previous_rating_sum,
                        row.previous_rating_count,
                    ),
                    "series": series,
                }
            )
        body = {
            "municipality": municipality.ags,
            "period": _period(period),
            "previous_period": _period(period.previous()),
            "services": services,
        }
        return Response(s.OverviewSerializer(body).data)


class TimeseriesView(BaseApiView):
    @extend_schema(
        operation_id="analytics_timeseries_retrieve",
        summary="Visits, starts and completions per day, week, month, quarter or year",
        description=(
            "A time series of one service (`service`) or of all services of the city, with every bucket of the "
            "period (empty ones as zeros). Weeks are ISO weeks labelled by their ISO year (2025-W01 starts on "
            "30 December 2024); buckets at the edges hold only the days inside the period. Computed from the daily "
            "rollups only. Needs `analytics:read`; a service of another municipality is a 404."
        ),
        parameters=[s.TimeseriesQuerySerializer],
        responses={200: s.TimeseriesSerializer, **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        query = s.TimeseriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        municipality = access.municipality_for_request(
            request, scope=ANALYTICS_READ, roles=access.READ_ROLES, ags=params.get("municipality")
        )
        service = access.get_service(municipality, params["service"]) if params.get("service") else None
        period = Period(params["from"], params["to"], params["granularity"], "custom")
        points = queries.timeseries(
            municipality.pk, period, service_id=service.pk if service else None, channel=params.get("channel", "")
        )
        body = {
            "municipality": municipality.ags,
            "service": service.uuid if service else None,
            "period": _period(period),
            "points": points,
        }
        return Response(s.TimeseriesSerializer(body).data)
