"""Usage analytics: the services a city measures, raw usage events, daily salts
and the daily rollups that dashboards read.

Privacy (see ``docs/privacy.md``): no model here holds an IP address, a user
agent, a cookie or any identifier that outlives the 48 hours of a daily salt.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from dikom.lib.fields import FastJSONField
from dikom.municipalities.models import Municipality

LEIKA_PATTERN = r"^99\d{12}$"
SERVICE_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"

validate_leika_key = RegexValidator(
    LEIKA_PATTERN, _("A LeiKa key has 14 digits and starts with 99, e.g. 99050012104000."), code="invalid_leika"
)
validate_service_key = RegexValidator(
    SERVICE_KEY_PATTERN,
    _("Use 1 to 100 letters, digits, dots, colons, underscores or hyphens, starting with a letter or digit."),
    code="invalid_service_key",
)


class EventType(models.TextChoices):
    SERVICE_STARTED = "service_started", _("Service started")
    STEP_VIEWED = "step_viewed", _("Step viewed")
    STEP_COMPLETED = "step_completed", _("Step completed")
    SUBMITTED = "submitted", _("Submitted")
    ABORTED = "aborted", _("Aborted")
    AUTH_CHOSEN = "auth_chosen", _("Authentication chosen")
    AUTH_COMPLETED = "auth_completed", _("Authentication completed")
    PAYMENT_CHOSEN = "payment_chosen", _("Payment method chosen")
    PAYMENT_COMPLETED = "payment_completed", _("Payment completed")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    TRANSMISSION_ERROR = "transmission_error", _("Transmission error")
    FEEDBACK = "feedback", _("Feedback")


class AuthMethod(models.TextChoices):
    BUNDID = "bundid", _("BundID")
    ELSTER = "elster", _("ELSTER certificate")
    EID = "eid", _("eID (online ID card)")
    EU_WALLET = "eu_wallet", _("EU digital identity wallet")
    ORGANISATION_ACCOUNT = "organisation_account", _("Organisation account")
    NONE = "none", _("No authentication")


class PaymentMethod(models.TextChoices):
    GIROPAY = "giropay", _("giropay")
    PAYDIREKT = "paydirekt", _("paydirekt")
    CREDITCARD = "creditcard", _("Credit card")
    PAYPAL = "paypal", _("PayPal")
    SEPA_DIRECT_DEBIT = "sepa_direct_debit", _("SEPA direct debit")
    INVOICE = "invoice", _("Invoice")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    APP_IOS = "app_ios", _("App (iOS)")
    APP_ANDROID = "app_android", _("App (Android)")
    KIOSK = "kiosk", _("Kiosk")
    OTHER = "other", _("Other")


class DeviceClass(models.TextChoices):
    DESKTOP = "desktop", _("Desktop")
    MOBILE = "mobile", _("Mobile")
    TABLET = "tablet", _("Tablet")
    OTHER = "other", _("Other")


class EventSource(models.TextChoices):
    API = "api", _("Native API")
    MATOMO = "matomo", _("Matomo tracking API")
    PORTAL = "portal", _("dikom portal")
    UPLOAD = "upload", _("Upload")
    COLLECTOR = "collector", _("JavaScript collector")


class SourceSystem(models.TextChoices):
    PORTAL = "portal", _("dikom portal")
    CIVENTO = "civento", _("Civento")
    MATOMO = "matomo", _("Matomo-instrumented form")
    CSV = "csv", _("CSV export")
    OTHER = "other", _("Other system")


class Service(models.Model):
    """An online service a municipality measures. ``external_key`` is what source systems send."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="analytics_services"
    )
    name = models.CharField(_("name"), max_length=200)
    external_key = models.CharField(
        _("service key"),
        max_length=100,
        validators=[validate_service_key],
        help_text=_("The identifier source systems send with each event, unique within the municipality."),
    )
    leika_key = models.CharField(
        _("LeiKa key"),
        max_length=14,
        blank=True,
        validators=[validate_leika_key],
        help_text=_("Federal service catalogue key (14 digits, 99…); makes the service comparable across cities."),
    )
    ozg_topic = models.CharField(_("OZG topic"), max_length=200, blank=True)
    channel = models.CharField(
        _("default channel"),
        max_length=20,
        choices=Channel.choices,
        default=Channel.WEB,
        help_text=_("Used for events that do not name their channel."),
    )
    source_system = models.CharField(
        _("source system"), max_length=20, choices=SourceSystem.choices, default=SourceSystem.OTHER
    )
    step_labels = models.JSONField(
        _("step labels"),
        default=dict,
        blank=True,
        help_text=_(
            "What people call the funnel steps: {step_key: label} or {step_key: {language: label}}. "
            "The portal fills it from the service definition; other systems set it in the service registry."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("measured service")
        verbose_name_plural = _("measured services")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "external_key"], name="analytics_service_key_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def step_label(self, step_key: str) -> str:
        """The label of a funnel step in the active language; the key itself when none is known."""
        return resolve_step_label(self.step_labels, step_key)


def resolve_step_label(labels: Any, step_key: str) -> str:
    """``labels[step_key]`` as text in the active language (German, then any), else ``step_key``."""
    value = labels.get(step_key) if isinstance(labels, dict) else None
    if isinstance(value, dict):
        language = (get_language() or "de").split("-")[0]
        value = value.get(language) or value.get("de") or next((v for v in value.values() if v), None)
    return value if isinstance(value, str) and value.strip() else step_key


class ServiceKeyAlias(models.Model):
    """Another service key that belongs to a service (set when unassigned events are mapped)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("service key alias")
        verbose_name_plural = _("service key aliases")
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "key"], name="analytics_alias_key_unique"),
        ]

    def __str__(self) -> str:
        return self.key


class UsageEvent(models.Model):
    """One anonymous usage event, as received. Expires after DIKOM_ANALYTICS_RAW_RETENTION_DAYS."""

    # No index of its own: every index of this table starts with the municipality, and each
    # index costs every ingested row a write (the hot path, see docs/benchmarks.md).
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+", db_index=False)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    service_key = models.CharField(max_length=100)
    # NULL, not "": only set ids take part in the partial unique constraint.
    event_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    type = models.CharField(max_length=30, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # NULL, not "": COUNT(DISTINCT visit) must ignore events without a visit key.
    visit = models.CharField(  # noqa: DJ001
        max_length=32, null=True, blank=True, help_text="Pseudonymous per-day visit key (salted hash), or null."
    )
    step_key = models.CharField(max_length=100, blank=True)
    step_position = models.PositiveIntegerField(null=True, blank=True)
    auth_method = models.CharField(max_length=30, choices=AuthMethod.choices, blank=True)
    payment_method = models.CharField(max_length=30, choices=PaymentMethod.choices, blank=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.WEB)
    device_class = models.CharField(max_length=20, choices=DeviceClass.choices, blank=True)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True, help_text="Scrubbed of e-mail addresses, phone numbers and IBANs.")
    source = models.CharField(max_length=20, choices=EventSource.choices, default=EventSource.API)
    api_key_prefix = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "event_id"],
                condition=Q(event_id__isnull=False),
                name="analytics_event_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "service", "occurred_at"], name="analytics_event_rollup_idx"),
            models.Index(fields=["municipality", "occurred_at"], name="analytics_event_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.service_key} {self.occurred_at:%Y-%m-%d %H:%M}"


class DailySalt(models.Model):
    """The random salt of one local day; deleted 48 hours after it was created."""

    day = models.DateField(unique=True)
    salt = models.BinaryField(max_length=32)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("daily salt")
        verbose_name_plural = _("daily salts")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"salt {self.day}"


class PendingRollup(models.Model):
    """A (municipality, day) whose rollups must be rebuilt; ``version`` grows with every new batch."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    version = models.PositiveBigIntegerField(default=1)

    class Meta:
        verbose_name = _("pending rollup")
        verbose_name_plural = _("pending rollups")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "day"], name="analytics_pending_rollup_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id} {self.day}"


class RollupState(models.Model):
    """How far the rollups of a (municipality, day) are brought up to date incrementally.

    Kept only for today and yesterday (``analytics.incremental``); deleted by a full
    rebuild of the day and by housekeeping, and then built anew from the day's events.
    Every event with an id up to ``settled_id`` is applied; above it, the ids in
    ``data["recent"]`` are (PostgreSQL: events may become visible out of id order).
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    settled_id = models.BigIntegerField(default=0)
    # A sample of the largest event id and when it was read: once older than the commit lag,
    # every id up to it is committed or gone, and it becomes ``settled_id``.
    horizon_id = models.BigIntegerField(null=True, blank=True)
    horizon_at = models.DateTimeField(null=True, blank=True)
    data = models.BinaryField(default=b"", help_text="orjson: {'groups': fold state, 'recent': applied ids}")
    ran_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "day"], name="analytics_rollup_state_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id} {self.day}"


class ServiceDailyStats(models.Model):
    """Daily rollup per (municipality, service, day in Europe/Berlin, channel).

    ``service`` is null for unassigned events; then ``service_key`` holds the
    key they were sent with (it is blank for assigned services). Everything a
    dashboard shows is computed from these rows, never from raw events.
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE, related_name="daily_stats")
    service_key = models.CharField(max_length=100, blank=True)
    day = models.DateField()
    channel = models.CharField(max_length=20, choices=Channel.choices)
    visits = models.PositiveIntegerField(default=0)
    starts = models.PositiveIntegerField(default=0)
    completions = models.PositiveIntegerField(default=0)
    aborts = models.PositiveIntegerField(default=0)
    transmission_errors = models.PositiveIntegerField(default=0)
    feedback_count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    rating_histogram = FastJSONField(default=dict, help_text='{"1": n, …, "5": n}')
    funnel = FastJSONField(
        default=dict, help_text='{step_key: {"position", "viewed", "completed", "aborted"}} (distinct visits)'
    )
    auth_mix = FastJSONField(default=dict, help_text='{method: {"chosen": n, "completed": n}}')
    payment_mix = FastJSONField(default=dict, help_text='{method: {"chosen": n, "completed": n, "failed": n}}')
    device_mix = FastJSONField(default=dict, help_text="{device_class: distinct visits}")
    completion_seconds = FastJSONField(
        default=dict, help_text="{lower bound in seconds: visits} — fine buckets of the time from start to submission"
    )
    built_at = models.DateTimeField()

    class Meta:
        verbose_name = _("daily service figures")
        verbose_name_plural = _("daily service figures")
        ordering = ["day", "pk"]
        indexes = [
            models.Index(fields=["municipality", "service", "day"], name="analytics_stats_service_idx"),
            models.Index(fields=["municipality", "day"], name="analytics_stats_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id or self.service_key} {self.day} {self.channel}"
