"""Collection sites: where form systems send usage data from (Matomo tracker, JavaScript snippet).

A ``CollectionSite`` belongs to one municipality and has a public ``site_id``
(used by the JavaScript collector) and optionally a Matomo ``idsite``.
``MatomoRule`` rows, in order, turn a Matomo tracking request into dikom usage
events. ``UnmatchedRequests`` counts, per site and local day, the requests no
rule matched, so administrators see gaps in their mapping.

Privacy: none of these models holds anything about a visitor; the counters
hold only numbers.
"""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.analytics.models import AuthMethod, Channel, EventType, PaymentMethod, validate_service_key
from dikom.municipalities.models import Municipality

SITE_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud and typed by people
SITE_ID_LENGTH = 12
MAX_PATTERN_LENGTH = 200
MAX_MATCH_VALUE_LENGTH = 200
MAX_DIMENSION = 999


def new_site_id() -> str:
    return "".join(secrets.choice(SITE_ID_ALPHABET) for _ in range(SITE_ID_LENGTH))


def validate_origins(value: object) -> None:
    """``value`` must be a list of ``scheme://host[:port]`` (http or https, nothing after the host)."""
    from dikom.analytics.collect.origins import normalise_origin

    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of origins."), code="invalid")
    for item in value:
        if not isinstance(item, str) or normalise_origin(item) != item:
            raise ValidationError(
                _("“%(value)s” is not an origin of the form https://host or https://host:port."),
                code="invalid_origin",
                params={"value": str(item)[:100]},
            )


class CollectionSite(models.Model):
    """A form system (or a website) that sends usage data through Matomo requests or the JavaScript snippet."""

    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="collection_sites"
    )
    site_id = models.CharField(_("site id"), max_length=20, unique=True, default=new_site_id, editable=False)
    name = models.CharField(_("name"), max_length=200)
    matomo_idsite = models.PositiveIntegerField(
        _("Matomo site id"),
        null=True,
        blank=True,
        unique=True,
        validators=[MinValueValidator(1)],
        help_text=_("The idsite the form's Matomo tracker sends; unique across the installation. Empty: no Matomo."),
    )
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        blank=True,
        validators=[validate_origins],
        help_text=_("Origins (https://host[:port]) whose pages may send data for this site from the browser."),
    )
    require_origin = models.BooleanField(
        _("require an origin"),
        default=False,
        help_text=_(
            "Refuse anonymous requests that name no origin (no Origin or Referer header): only browsers on the "
            "allowed origins may send. Requests with an API key are not affected."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("collection site")
        verbose_name_plural = _("collection sites")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class MatchOn(models.TextChoices):
    URL_PREFIX = "url_prefix", _("Page URL path starts with")
    URL_REGEX = "url_regex", _("Page URL path matches the regular expression")
    EVENT = "event", _("Matomo event (category / action / name)")
    DIMENSION = "dimension", _("Custom dimension")


class MatomoRule(models.Model):
    """One mapping rule: when a Matomo request matches, emit one dikom usage event.

    Rules are tried in ``position`` order. Every matching rule emits its event;
    a rule with ``stop`` set ends the evaluation (the default: first match wins).
    Empty match fields match anything (but a rule must test at least one thing).
    """

    site = models.ForeignKey(CollectionSite, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(_("order"), default=10, validators=[MaxValueValidator(100000)])
    match_on = models.CharField(_("match on"), max_length=20, choices=MatchOn.choices)
    pattern = models.CharField(
        _("URL path prefix or pattern"),
        max_length=MAX_PATTERN_LENGTH,
        blank=True,
        help_text=_("Matched against the path of the page URL only (no host, no query string), e.g. /antrag/parken/."),
    )
    event_category = models.CharField(_("event category (e_c)"), max_length=MAX_MATCH_VALUE_LENGTH, blank=True)
    event_action = models.CharField(_("event action (e_a)"), max_length=MAX_MATCH_VALUE_LENGTH, blank=True)
    event_name = models.CharField(_("event name (e_n)"), max_length=MAX_MATCH_VALUE_LENGTH, blank=True)
    dimension_index = models.PositiveSmallIntegerField(
        _("custom dimension number"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DIMENSION)],
    )
    dimension_value = models.CharField(
        _("custom dimension value"),
        max_length=MAX_MATCH_VALUE_LENGTH,
        blank=True,
        help_text=_("Exact value of dimensionN; empty: any non-empty value."),
    )
    # Target
    service_key = models.CharField(_("service key"), max_length=100, validators=[validate_service_key])
    event_type = models.CharField(_("event type"), max_length=30, choices=EventType.choices)
    step_key = models.CharField(_("step key"), max_length=100, blank=True)
    step_position = models.PositiveIntegerField(
        _("step position"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    auth_method = models.CharField(_("authentication method"), max_length=30, choices=AuthMethod.choices, blank=True)
    payment_method = models.CharField(_("payment method"), max_length=30, choices=PaymentMethod.choices, blank=True)
    channel = models.CharField(
        _("channel"),
        max_length=20,
        choices=Channel.choices,
        blank=True,
        help_text=_("Empty: the service's default channel."),
    )
    stop = models.BooleanField(
        _("stop after this rule"),
        default=True,
        help_text=_("Off: later rules may add further events for the same request (e.g. start and first step)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Matomo mapping rule")
        verbose_name_plural = _("Matomo mapping rules")
        ordering = ["site", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.position}: {self.get_match_on_display()} → {self.event_type} {self.service_key}"

    def clean(self) -> None:
        from dikom.analytics.collect.mapping import rule_errors

        errors = rule_errors(self)
        if errors:
            raise ValidationError(errors)


class UnmatchedRequests(models.Model):
    """How many Matomo requests of a site no rule matched, per local day (numbers only)."""

    site = models.ForeignKey(CollectionSite, on_delete=models.CASCADE, related_name="unmatched")
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("unmatched requests")
        verbose_name_plural = _("unmatched requests")
        ordering = ["site", "-day"]
        constraints = [models.UniqueConstraint(fields=["site", "day"], name="analytics_collect_unmatched_unique")]

    def __str__(self) -> str:
        return f"{self.site_id} {self.day}: {self.count}"
