"""Self-service dashboards: saved views composed of widgets, private or shared within the city."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.analytics.dashboards.periods import GRANULARITIES, PRESETS
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality


class Metric(models.TextChoices):
    VISITS = "visits", _("Visits")
    STARTS = "starts", _("Starts")
    COMPLETIONS = "completions", _("Completions")
    CONVERSION_RATE = "conversion_rate", _("Conversion rate")
    ABANDONMENT_RATE = "abandonment_rate", _("Abandonment rate")
    SATISFACTION_AVG = "satisfaction_avg", _("Average satisfaction")
    FEEDBACK_COUNT = "feedback_count", _("Number of feedbacks")
    TRANSMISSION_ERRORS = "transmission_errors", _("Transmission errors")
    COMPLETION_MEDIAN = "completion_median", _("Median time to complete")
    FUNNEL = "funnel", _("Funnel")
    AUTH_MIX = "auth_mix", _("Authentication methods")
    PAYMENT_MIX = "payment_mix", _("Payment methods")
    CHANNEL_MIX = "channel_mix", _("Channels")
    DEVICE_MIX = "device_mix", _("Devices")


class Breakdown(models.TextChoices):
    NONE = "none", _("Over time")
    CHANNEL = "channel", _("By channel")
    SERVICE = "service", _("By service")
    STEP = "step", _("By step")
    METHOD = "method", _("By method")


class ChartKind(models.TextChoices):
    TABLE = "table", _("Table")
    BARS = "bars", _("Bars")
    LINE = "line", _("Line")


class Dashboard(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="analytics_dashboards"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="analytics_dashboards",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    shared = models.BooleanField(
        _("shared with the city"),
        default=False,
        help_text=_("Analysts and administrators of the city can view (not change) a shared dashboard."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dashboard")
        verbose_name_plural = _("dashboards")
        ordering = ["title", "pk"]
        indexes = [models.Index(fields=["municipality", "owner"], name="analytics_dash_owner_idx")]

    def __str__(self) -> str:
        return self.title


class Widget(models.Model):
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(_("title"), max_length=200, blank=True)
    metric = models.CharField(_("metric"), max_length=30, choices=Metric.choices)
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: all services of the city."),
    )
    preset = models.CharField(
        _("period"), max_length=20, choices=[(k, v) for k, v in PRESETS.items()], default="last_30"
    )
    since = models.DateField(_("from"), null=True, blank=True)
    until = models.DateField(_("to"), null=True, blank=True)
    granularity = models.CharField(
        _("granularity"), max_length=10, choices=[(k, v) for k, v in GRANULARITIES.items()], default="day"
    )
    breakdown = models.CharField(_("breakdown"), max_length=10, choices=Breakdown.choices, default=Breakdown.NONE)
    chart = models.CharField(_("chart"), max_length=10, choices=ChartKind.choices, default=ChartKind.TABLE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("widget")
        verbose_name_plural = _("widgets")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title or self.get_metric_display()
