"""Aggregated monthly figures from systems that can only export counts.

A ``MonthlyFigure`` is one number per (municipality, service, month, metric,
source). Averages keep the sum and the number of observations behind them
(``total`` and ``observations``), so figures of several sources or of many
single cases combine into a correct average instead of an average of averages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality


def plain_decimal(value: Decimal) -> str:
    """1200.0000 → "1200", 2.5000 → "2.5" (``normalize`` alone would give 1.2E+3)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Metric(models.TextChoices):
    TRANSACTIONS = "transactions", _("Transactions (first applications)")
    VISITS = "visits", _("Visits")
    STARTS = "starts", _("Starts")
    COMPLETIONS = "completions", _("Completions")
    SUBMISSIONS_CORRECT = "submissions_correct", _("Correctly submitted applications")
    SUBMISSIONS_INCORRECT = "submissions_incorrect", _("Incorrectly submitted applications")
    TRANSMISSION_ERRORS = "transmission_errors", _("Transmission errors")
    PROCESSING_TIME_DAYS = "processing_time_days", _("Average processing time (days)")
    MEDIA_BREAKS = "media_breaks", _("Media breaks")
    SUPPORT_REQUESTS = "support_requests", _("Support requests")
    FEEDBACK_COUNT = "feedback_count", _("Feedback count")
    SATISFACTION_AVG = "satisfaction_avg", _("Average satisfaction (1–5)")


@dataclass(frozen=True)
class MetricRule:
    """What values a metric takes: a count (whole, ≥ 0) or an average within a range."""

    kind: str  # "count" or "average"
    unit: Promise
    minimum: Decimal
    maximum: Decimal


MAX_COUNT = Decimal("1000000000000")  # 10^12: far above any monthly count, far below the column's limit

METRIC_RULES: dict[str, MetricRule] = {
    **{
        metric: MetricRule("count", _("number"), Decimal(0), MAX_COUNT)
        for metric in Metric.values
        if metric not in (Metric.PROCESSING_TIME_DAYS, Metric.SATISFACTION_AVG)
    },
    Metric.PROCESSING_TIME_DAYS: MetricRule("average", _("days"), Decimal(0), Decimal(3650)),
    Metric.SATISFACTION_AVG: MetricRule("average", _("rating 1–5"), Decimal(1), Decimal(5)),
}


class FigureSource(models.TextChoices):
    UPLOAD = "upload", _("File upload")
    API = "api", _("API")
    CASES = "cases", _("Case processing")


class FigureUpload(models.Model):
    """One uploaded file: parsed into rows, previewed, then applied or discarded.

    Files above ``DIKOM_ANALYTICS_FIGURES_INLINE_BYTES`` start as ``processing``
    and are read by the task worker, which reports ``rows_read`` as it goes.
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Being read")
        PREVIEW = "preview", _("Preview")
        APPLIED = "applied", _("Applied")
        DISCARDED = "discarded", _("Discarded")
        FAILED = "failed", _("Failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PREVIEW)
    rows = models.JSONField(
        default=list,
        help_text='Valid rows: [{"row", "month", "service_key", "leika_key", "metric", "value", "observations"}]',
    )
    errors = models.JSONField(default=list, help_text='[{"row", "column", "message"}]; row 0 = the whole file')
    ignored_columns = models.JSONField(default=list)
    applied_summary = models.JSONField(default=dict, help_text="Counts of added/changed/removed/unchanged when applied")
    # Large files are read by the task worker: the bytes wait here until then and are cleared after.
    pending_data = models.BinaryField(null=True, blank=True, editable=False)
    rows_read = models.PositiveIntegerField(default=0, help_text="Data rows read so far while the file is being read")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("figure upload")
        verbose_name_plural = _("figure uploads")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.file_name


class MonthlyFigure(models.Model):
    """One monthly figure of a service (or of a key no service is registered for yet)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="monthly_figures"
    )
    # As sent (blank when not sent); unresolved figures keep them, like unassigned events.
    service_key = models.CharField(_("service key"), max_length=100, blank=True)
    leika_key = models.CharField(_("LeiKa key"), max_length=14, blank=True)
    month = models.DateField(_("month"), help_text="First day of the month.")
    metric = models.CharField(_("metric"), max_length=30, choices=Metric.choices)
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=4)
    # For averages: the sum of all observations and their number (null when the source did not say).
    # For counts: total = value, observations = null.
    total = models.DecimalField(max_digits=24, decimal_places=4, null=True, blank=True)
    observations = models.PositiveBigIntegerField(null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=FigureSource.choices)
    upload = models.ForeignKey(FigureUpload, null=True, blank=True, on_delete=models.SET_NULL, related_name="figures")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("monthly figure")
        verbose_name_plural = _("monthly figures")
        ordering = ["month", "metric", "service_key", "leika_key", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "service_key", "leika_key", "month", "metric", "source"],
                name="analytics_figure_unique",
            ),
            models.CheckConstraint(condition=~models.Q(service_key="", leika_key=""), name="analytics_figure_has_key"),
        ]
        indexes = [
            models.Index(fields=["municipality", "source", "month"], name="analytics_figure_month_idx"),
            models.Index(fields=["municipality", "service", "month"], name="analytics_figure_service_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service_key or self.leika_key} {self.month:%Y-%m} {self.metric}={self.value}"

    @property
    def plain_value(self) -> str:
        """The value without trailing zeros or exponent: 1200, 2.5."""
        return plain_decimal(self.value)
