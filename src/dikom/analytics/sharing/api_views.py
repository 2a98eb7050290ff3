"""``GET /api/v1/analytics/comparison``: the city comparison for API keys and signed-in staff."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.analytics import access
from dikom.analytics.models import validate_leika_key
from dikom.analytics.scopes import ANALYTICS_READ
from dikom.analytics.sharing import comparison
from dikom.api.schema import problems
from dikom.api.serializers import QuerySerializer, ags_query_field
from dikom.api.views import BaseApiView
from dikom.lib.dateranges import ApiDayField


class ComparisonQuerySerializer(QuerySerializer):
    leika = serializers.CharField(validators=[validate_leika_key], help_text="LeiKa key, 14 digits starting with 99.")
    from_ = ApiDayField(help_text="First day (local date, inclusive).")
    to = ApiDayField(help_text="Last day (local date, inclusive).")
    municipality = ags_query_field("AGS; only for signed-in people (API keys read their own city).")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["to"] < attrs["from"]:
            raise serializers.ValidationError({"to": _("“to” must not be before “from”.")})
        if (attrs["to"] - attrs["from"]).days > 3660:
            raise serializers.ValidationError({"to": _("The period may span at most ten years.")})
        return attrs


class StepSerializer(serializers.Serializer):
    step_key = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    drop_off_rate = serializers.FloatField(allow_null=True)


class NamedCitySerializer(serializers.Serializer):
    municipality = serializers.CharField()
    ags = serializers.CharField()
    service = serializers.CharField()
    starts = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True)
    abandonment_rate = serializers.FloatField(allow_null=True)
    abandonment_step = StepSerializer(allow_null=True, help_text="The city's own step with the largest drop-off.")
    satisfaction_average = serializers.FloatField(allow_null=True)
    authentication = serializers.DictField(child=serializers.FloatField(allow_null=True))
    payment = serializers.DictField(child=serializers.FloatField(allow_null=True))
    own = serializers.BooleanField(required=False, help_text="The calling city itself.")


class OwnSerializer(NamedCitySerializer):
    enough_starts = serializers.BooleanField(help_text="Whether the city has the minimum number of starts.")


class AverageSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="Unweighted mean of the cities' values.")
    cities = serializers.IntegerField(allow_null=True, help_text="Number of cities in the average.")
    status = serializers.ChoiceField(
        choices=["ok", "too_few_cities", "withheld"],
        help_text="`too_few_cities`: fewer than three; `withheld`: would reveal an unnamed city's value.",
    )


class AveragesSerializer(serializers.Serializer):
    all = serializers.DictField(child=AverageSerializer(), help_text="Per figure, over all participants.")
    district = serializers.DictField(child=AverageSerializer(), help_text="Per figure, over the city's district.")
    size_class = serializers.DictField(child=AverageSerializer(), help_text="Per figure, over its size class.")


class ComparisonSerializer(serializers.Serializer):
    leika_key = serializers.CharField()
    period = serializers.DictField(child=serializers.DateField())
    min_starts = serializers.IntegerField()
    min_cities = serializers.IntegerField()
    own = OwnSerializer(allow_null=True)
    abandonment_position = serializers.IntegerField(allow_null=True)
    district = serializers.CharField()
    size_class = serializers.CharField()
    averages = AveragesSerializer()
    ranking = NamedCitySerializer(many=True, help_text="Only cities that share the service, by conversion rate.")


class ComparisonView(BaseApiView):
    @extend_schema(
        operation_id="analytics_comparison_retrieve",
        summary="City comparison of one service (LeiKa key)",
        description=(
            "The calling city's figures for the service with this LeiKa key, the unweighted averages over all "
            "participating cities, the city's district and its size class (each with the number of cities, "
            "only over at least three cities, withheld where an unnamed city could be isolated), and a ranking "
            "by conversion rate of the cities that share the service by name. Cities need a minimum number of "
            "starts in the period. Figures cover the complete calendar months that overlap `from`..`to` (named in "
            "`period`) and are computed from counts perturbed by the cell key method, as in the open data. "
            "Needs `analytics:read`."
        ),
        parameters=[ComparisonQuerySerializer],
        responses={200: ComparisonSerializer, **problems(400, 401, 403, 404, 429)},
        tags=["analytics"],
    )
    def get(self, request: Request) -> Response:
        query = ComparisonQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        municipality = access.municipality_for_request(
            request, scope=ANALYTICS_READ, roles=access.READ_ROLES, ags=params.get("municipality")
        )
        result = comparison.compare(municipality, params["leika"], params["from"], params["to"])
        return Response(ComparisonSerializer(result).data)
