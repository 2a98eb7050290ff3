"""API for aggregated figures: send monthly rows (dry run or apply) and read stored figures."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from dikom.analytics import access
from dikom.analytics.api.serializers import MunicipalityQuerySerializer
from dikom.analytics.figures import actions
from dikom.analytics.figures.models import FigureSource, Metric, MonthlyFigure
from dikom.analytics.figures.parsing import CellError, max_rows, parse_month
from dikom.analytics.figures.preview import Preview
from dikom.analytics.figures.rows import FigureRow, clean_row
from dikom.analytics.scopes import ANALYTICS_INGEST, ANALYTICS_READ
from dikom.api.problems import CONTENT_TYPE, ContentTooLarge, problem
from dikom.api.schema import ProblemSerializer, problems
from dikom.api.serializers import QuerySerializer, ags_query_field
from dikom.api.views import BaseApiView

TAGS = ["analytics"]
ROW_FIELDS = {"month", "service", "leika", "metric", "value", "count"}


# --- schema serializers -------------------------------------------------------------------------


class FigureRowSerializer(serializers.Serializer):
    rejects_unknown_fields = True
    month = serializers.CharField(help_text="YYYY-MM (also MM/YYYY).")
    service = serializers.CharField(required=False, help_text="The service key; this and/or `leika` is required.")
    leika = serializers.CharField(required=False, help_text="LeiKa key, 14 digits starting with 99.")
    metric = serializers.ChoiceField(choices=Metric.choices)
    value = serializers.DecimalField(
        max_digits=20,
        decimal_places=4,
        coerce_to_string=False,
        help_text="A JSON number. Counts: whole numbers ≥ 0; processing_time_days 0–3650; satisfaction_avg 1–5.",
    )
    count = serializers.IntegerField(
        required=False, min_value=1, help_text="Only for averages: number of observations behind the value."
    )


class FigureSubmitSerializer(serializers.Serializer):
    rejects_unknown_fields = True
    rows = FigureRowSerializer(many=True, allow_empty=False)
    dry_run = serializers.BooleanField(default=False, help_text="true: only show what would change.")


class FigureRowErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()
    code = serializers.CharField()


class FigureRejectedRowSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in `rows`, from 0.")
    errors = FigureRowErrorSerializer(many=True)  # type: ignore[assignment]  # a field named like Serializer.errors


class FigureChangeSerializer(serializers.Serializer):
    change = serializers.ChoiceField(choices=["added", "changed", "removed", "unchanged"])
    month = serializers.CharField()
    metric = serializers.CharField()
    service = serializers.UUIDField(allow_null=True, help_text="The resolved service, null if unassigned.")
    service_key = serializers.CharField(allow_blank=True)
    leika = serializers.CharField(allow_blank=True)
    old = serializers.CharField(allow_null=True, help_text="Stored value before (decimal string), null if added.")
    new = serializers.CharField(allow_null=True, help_text="Value after (decimal string), null if removed.")


class FigureSummarySerializer(serializers.Serializer):
    added = serializers.IntegerField()
    changed = serializers.IntegerField()
    removed = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Invalid rows, not stored.")


class FigureSubmitResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    months = serializers.ListField(child=serializers.CharField(), help_text="Months (YYYY-MM) replaced.")
    summary = FigureSummarySerializer()
    changes = FigureChangeSerializer(many=True)
    rejected = FigureRejectedRowSerializer(many=True)


class FigureRejectedProblemSerializer(ProblemSerializer):
    rejected = FigureRejectedRowSerializer(many=True)


class FigureSerializer(serializers.ModelSerializer):
    month = serializers.SerializerMethodField()
    service = serializers.SerializerMethodField()
    leika = serializers.CharField(source="leika_key")
    value = serializers.DecimalField(max_digits=20, decimal_places=4, coerce_to_string=False)

    class Meta:
        model = MonthlyFigure
        fields = ["month", "service", "service_key", "leika", "metric", "value", "observations", "source"]

    def get_month(self, obj: MonthlyFigure) -> str:
        return f"{obj.month:%Y-%m}"

    def get_service(self, obj: MonthlyFigure) -> str | None:
        return str(obj.service.uuid) if obj.service else None


# What ``parse_month`` reads in a query, stated in the OpenAPI document (years MIN_YEAR to MAX_YEAR).
MONTH_QUERY_PATTERN = r"^(20\d\d|2100)-(0?[1-9]|1[0-2])$|^(0?[1-9]|1[0-2])/(20\d\d|2100)$"


class FigureQuerySerializer(QuerySerializer):
    municipality = ags_query_field("AGS; only for signed-in staff (API keys read their own city).")
    # "from" is a Python keyword, so this field is declared through the class namespace.
    locals()["from"] = serializers.RegexField(
        MONTH_QUERY_PATTERN, required=False, help_text="First month, YYYY-MM (also MM/YYYY), years 2000 to 2100."
    )
    to = serializers.RegexField(
        MONTH_QUERY_PATTERN, required=False, help_text="Last month, YYYY-MM (also MM/YYYY), years 2000 to 2100."
    )
    metric = serializers.ChoiceField(choices=Metric.choices, required=False)
    service = serializers.CharField(required=False, help_text="A service UUID or service key.")
    source = serializers.ChoiceField(choices=FigureSource.choices, required=False)  # type: ignore[assignment]

    def _month(self, value: str) -> Any:
        try:
            return parse_month(value)
        except CellError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        for name in ("from", "to"):
            if attrs.get(name):
                try:
                    attrs[name] = self._month(attrs[name])
                except serializers.ValidationError as exc:
                    errors[name] = exc.detail  # type: ignore[assignment]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


# --- views --------------------------------------------------------------------------------------


def _clean_api_rows(items: list[Any]) -> tuple[list[tuple[int, FigureRow]], list[dict[str, Any]]]:
    today = timezone.localdate()
    rows: list[tuple[int, FigureRow]] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        errors: list[dict[str, str]] = []
        if not isinstance(item, dict):
            rejected.append(
                {
                    "index": index,
                    "errors": [{"field": "", "message": gettext("A row must be an object."), "code": "invalid"}],
                }
            )
            continue
        errors += [
            {"field": name, "message": gettext("Unknown field."), "code": "unknown_field"}
            for name in item
            if name not in ROW_FIELDS
        ]
        for name in ("service", "leika", "month", "metric"):
            if name in item and not isinstance(item[name], str):
                errors.append({"field": name, "message": gettext("Must be a string."), "code": "invalid_type"})
        for name in ("value", "count"):
            if name in item and (isinstance(item[name], bool) or not isinstance(item[name], int | float)):
                errors.append({"field": name, "message": gettext("Must be a number."), "code": "invalid_type"})
        if "value" not in item:
            errors.append({"field": "value", "message": gettext("This field is required."), "code": "required"})
        if not errors:
            result = clean_row(item, decimal_comma=False, today=today)
            if isinstance(result, FigureRow):
                rows.append((index, result))
                continue
            errors += [{"field": field, "message": message, "code": "invalid"} for field, message in result]
        rejected.append({"index": index, "errors": errors})
    return rows, rejected


def _result(preview: Preview, rejected: list[dict[str, Any]], *, dry_run: bool) -> dict[str, Any]:
    duplicates = [
        {"index": e["row"], "errors": [{"field": "", "message": e["message"], "code": "duplicate"}]}
        for e in preview.duplicate_errors
    ]
    rejected = sorted(rejected + duplicates, key=lambda r: r["index"])
    return {
        "dry_run": dry_run,
        "applied": not dry_run,
        "months": [f"{m:%Y-%m}" for m in preview.months],
        "summary": {**preview.totals, "skipped": len(rejected)},
        "changes": [c.as_dict() for c in preview.changes],
        "rejected": rejected,
    }


class FigureView(BaseApiView, generics.ListAPIView):
    serializer_class = FigureSerializer

    def get_queryset(self) -> QuerySet[MonthlyFigure]:
        if getattr(self, "swagger_fake_view", False):
            return MonthlyFigure.objects.none()
        query = FigureQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        municipality = access.municipality_for_request(
            self.request, scope=ANALYTICS_READ, roles=access.READ_ROLES, ags=params.get("municipality")
        )
        figures = MonthlyFigure.objects.filter(municipality=municipality).select_related("service")
        if params.get("from"):
            figures = figures.filter(month__gte=params["from"])
        if params.get("to"):
            figures = figures.filter(month__lte=params["to"])
        if params.get("metric"):
            figures = figures.filter(metric=params["metric"])
        if params.get("source"):
            figures = figures.filter(source=params["source"])
        if params.get("service"):
            figures = self._by_service(figures, municipality, params["service"])
        return figures.order_by("month", "service_key", "leika_key", "metric", "source", "pk")

    def _by_service(self, figures: QuerySet[MonthlyFigure], municipality: Any, value: str) -> QuerySet[MonthlyFigure]:
        import uuid as uuid_module

        try:
            uuid_module.UUID(value)
        except ValueError:
            return figures.filter(service__external_key=value) | figures.filter(service__isnull=True, service_key=value)
        return figures.filter(service=access.get_service(municipality, value))

    @extend_schema(
        operation_id="analytics_figures_list",
        summary="Stored monthly figures",
        description=(
            "Monthly figures of the municipality (uploads, API, case processing), oldest month first, paged. "
            "API keys need `analytics:read` and read their own city; signed-in analysts and municipality "
            "administrators name it with `municipality=<AGS>`. `service` is a service UUID (404 for another city's) "
            "or a service key."
        ),
        parameters=[FigureQuerySerializer],
        responses={200: FigureSerializer(many=True), **problems(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="analytics_figures_submit",
        summary="Send monthly figures (preview or apply)",
        description=(
            "Rows of (month, service key and/or LeiKa key, metric, value). Applying replaces all figures this "
            "city sent through the API for every month present in `rows` (and only those months); `dry_run: true` "
            "answers the same structure without changing anything. Invalid rows are rejected with their index "
            "and skipped; valid ones are applied. Rows whose service is not registered are kept with their key. "
            "Needs an API key with `analytics:ingest` (or a signed-in analyst naming `municipality=<AGS>`)."
        ),
        parameters=[MunicipalityQuerySerializer],
        request=FigureSubmitSerializer,
        responses={
            200: FigureSubmitResultSerializer,
            **problems(400, 401, 403, 404, 429),
            (413, CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description="More rows than one request may hold."),
            (422, CONTENT_TYPE): OpenApiResponse(
                FigureRejectedProblemSerializer, description="Every row is invalid; `rejected` says why."
            ),
        },
        examples=[
            OpenApiExample(
                "ZSK transactions",
                value={
                    "rows": [{"month": "2025-10", "leika": "99050012104000", "metric": "transactions", "value": 123}],
                    "dry_run": True,
                },
                request_only=True,
            )
        ],
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        query = MunicipalityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        municipality = access.municipality_for_request(
            request, scope=ANALYTICS_INGEST, roles=access.MANAGE_ROLES, ags=query.validated_data.get("municipality")
        )
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError(gettext('Send an object {"rows": [...], "dry_run": false}.'), code="invalid")
        unknown = [name for name in data if name not in ("rows", "dry_run")]
        if unknown:
            raise ValidationError({name: [gettext("Unknown field.")] for name in unknown}, code="unknown_field")
        items = data.get("rows")
        dry_run = data.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise ValidationError({"dry_run": [gettext("Must be true or false.")]}, code="invalid_type")
        if not isinstance(items, list):
            raise ValidationError({"rows": [gettext("Must be a list of rows.")]}, code="invalid_type")
        if not items:
            raise ValidationError({"rows": [gettext("Send at least one row.")]}, code="empty")
        if len(items) > max_rows():
            raise ContentTooLarge(gettext("A request may hold at most %(n)d rows.") % {"n": max_rows()})
        rows, rejected = _clean_api_rows(items)
        if not rows:
            body = problem(
                422, gettext("No row was accepted: every row is invalid."), "validation-error", rejected=rejected
            )
            return Response(body, status=422, content_type=CONTENT_TYPE)
        preview = actions.submit_rows(
            municipality=municipality, rows=rows, dry_run=dry_run, actor=request.user, api_key=request.auth
        )
        return Response(FigureSubmitResultSerializer(_result(preview, rejected, dry_run=dry_run)).data)
