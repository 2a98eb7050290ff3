"""What a city chose to share: services in the city comparison, and its usage tables as open data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality


class ComparisonShare(models.Model):
    """A service whose figures its city shares by name in the city comparison (GoDonu)."""

    service = models.OneToOneField(
        Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="comparison_share"
    )
    shared_since = models.DateTimeField(_("shared since"))
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shared by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("shared service")
        verbose_name_plural = _("shared services")
        ordering = ["service__name", "pk"]

    def __str__(self) -> str:
        return str(self.service)


class OpenDataPublication(models.Model):
    """Whether a city publishes its monthly usage tables as open data."""

    municipality = models.OneToOneField(
        Municipality, verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="usage_open_data"
    )
    enabled = models.BooleanField(_("published"), default=False)
    since = models.DateTimeField(_("published since"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("usage open data publication")
        verbose_name_plural = _("usage open data publications")
        ordering = ["municipality__name"]

    def __str__(self) -> str:
        return str(self.municipality)


class PublishedMonth(models.Model):
    """A month of a city's open usage table as first published, and its marked corrections.

    Frozen when the month is first served: later events do not change it. A
    correction (``actions.correct_published_month``) adds a perturbed
    *difference* to each changed count, so two versions never reveal what
    changed. ``cells`` maps a service id to, per count metric,
    ``{"true": n, "published": p}`` — the true counts stay on the server.
    """

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="+"
    )
    month = models.DateField(_("month"), help_text="The first day of the month.")
    published_at = models.DateTimeField(_("published at"))
    version = models.PositiveIntegerField(_("version"), default=1)
    cells = models.JSONField(default=dict)
    corrections = models.JSONField(
        default=list, help_text="One entry per correction: version, time, reason and the changed cells (no counts)."
    )
    updated_at = models.DateTimeField(_("last changed"))

    class Meta:
        verbose_name = _("published usage month")
        verbose_name_plural = _("published usage months")
        ordering = ["municipality", "month"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "month"], name="analytics_published_month_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.municipality} {self.month:%Y-%m}"
