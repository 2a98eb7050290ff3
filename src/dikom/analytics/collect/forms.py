"""Forms of the collection pages: sites, mapping rules, the Matomo dry run."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from dikom.analytics.collect.actions import RULE_FIELDS
from dikom.analytics.collect.models import CollectionSite, MatomoRule
from dikom.analytics.collect.origins import normalise_origin

MAX_ORIGINS = 50


class OriginsField(forms.CharField):
    """One origin per line (https://host[:port]); stored as a normalised list."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) > MAX_ORIGINS:
            raise forms.ValidationError(_("At most %(n)d origins.") % {"n": MAX_ORIGINS}, code="too_many")
        result: list[str] = []
        for line in lines:
            origin = normalise_origin(line)
            try:
                parts = urlsplit(line)
            except ValueError:
                origin = None
            if origin is None or parts.path not in {"", "/"} or parts.query or parts.fragment:
                raise forms.ValidationError(
                    _("“%(value)s” is not an origin of the form https://host or https://host:port."),
                    code="invalid_origin",
                    params={"value": line[:100]},
                )
            if origin not in result:
                result.append(origin)
        return result


class SiteForm(forms.ModelForm):
    allowed_origins = OriginsField(
        label=_("Allowed origins"),
        required=False,
        help_text=_(
            "One per line, e.g. https://formulare.fulda.de. Browser requests from other origins are refused; "
            "requests from servers carry no origin and are accepted."
        ),
    )

    class Meta:
        model = CollectionSite
        fields = ["name", "matomo_idsite", "allowed_origins", "require_origin", "enabled"]


class RuleForm(forms.ModelForm):
    class Meta:
        model = MatomoRule
        fields = list(RULE_FIELDS)


class DryRunForm(forms.Form):
    request = forms.CharField(
        label=_("Matomo request"),
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "A tracking URL or its query string, e.g. "
            "?idsite=3&rec=1&url=https%3A%2F%2Fformulare.example%2Fantrag%2Fparken%2Fschritt-2. Nothing is stored."
        ),
    )
