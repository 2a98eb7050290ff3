"""Query and answer shapes of the dashboards' read API."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from dikom.analytics.dashboards.periods import GRANULARITIES, MAX_DAYS
from dikom.analytics.models import Channel
from dikom.api.serializers import QuerySerializer, ags_query_field
from dikom.lib.dateranges import ApiDayField


class PeriodQuerySerializer(QuerySerializer):
    from_ = ApiDayField(help_text="First day (local date in Europe/Berlin, inclusive).")
    to = ApiDayField(help_text="Last day (local date, inclusive).")
    granularity = serializers.ChoiceField(
        choices=list(GRANULARITIES), default="day", help_text="Bucket size: day, week (ISO), month, quarter or year."
    )
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, help_text="Only this channel.")
    municipality = ags_query_field("AGS; only for signed-in people (API keys read their own city).")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["to"] < attrs["from"]:
            raise serializers.ValidationError({"to": _("“to” must not be before “from”.")})
        if (attrs["to"] - attrs["from"]).days > MAX_DAYS:
            raise serializers.ValidationError({"to": _("The period may span at most ten years.")})
        return attrs


class TimeseriesQuerySerializer(PeriodQuerySerializer):
    service = serializers.UUIDField(required=False, help_text="UUID of the service; all services when left out.")


class PointSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="Bucket label: 2025-01-31, 2025-W01 (ISO week), 2025-01, 2025-Q1 or 2025.")
    start = serializers.DateField(help_text="First day of the bucket.")
    visits = serializers.IntegerField()
    starts = serializers.IntegerField()
    completions = serializers.IntegerField()


class FiguresSerializer(serializers.Serializer):
    visits = serializers.IntegerField()
    starts = serializers.IntegerField()
    completions = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True, help_text="completions / starts")
    abandonment_rate = serializers.FloatField(allow_null=True, help_text="(starts − completions) / starts")
    satisfaction_average = serializers.FloatField(allow_null=True)


class OverviewRowSerializer(FiguresSerializer):
    service = serializers.UUIDField(allow_null=True, help_text="null for events without a registered service.")
    name = serializers.CharField()
    leika_key = serializers.CharField(allow_blank=True)
    previous = FiguresSerializer(help_text="The same figures in the period of equal length just before.")
    series = PointSerializer(many=True, help_text="Visits, starts and completions per bucket.")


class DashboardPeriodSerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    granularity = serializers.CharField()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class OverviewSerializer(serializers.Serializer):
    municipality = serializers.CharField(help_text="AGS")
    period = DashboardPeriodSerializer()
    previous_period = DashboardPeriodSerializer()
    services = OverviewRowSerializer(many=True)


class TimeseriesSerializer(serializers.Serializer):
    municipality = serializers.CharField(help_text="AGS")
    service = serializers.UUIDField(allow_null=True)
    period = DashboardPeriodSerializer()
    points = PointSerializer(many=True)
