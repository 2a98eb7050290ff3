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
