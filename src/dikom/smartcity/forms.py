"""Forms of the citizen smart-city app; every one works without JavaScript."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dikom.lib.dateranges import DayField
from dikom.smartcity.actions import MAX_LITRES
from dikom.smartcity.models import ConstructionSite

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class WateringForm(forms.Form):
    litres = forms.IntegerField(
        label=_("Litres"),
        min_value=1,
        max_value=MAX_LITRES,
        initial=50,
        help_text=_("A full watering can holds about 10 litres."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    watered_at = forms.DateTimeField(
        label=_("When did you water?"),
        input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
    )
    request_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("watered_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_watered_at(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["watered_at"]
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class ConstructionSiteForm(forms.ModelForm):
    starts_on = DayField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    ends_on = DayField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    longitude = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180, help_text=_("e.g. 9.6756"))
    latitude = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90, help_text=_("e.g. 50.5558"))

    class Meta:
        model = ConstructionSite
        fields = ["title", "street", "restriction", "detour", "starts_on", "ends_on", "longitude", "latitude"]
        widgets = {"detour": forms.Textarea(attrs={"rows": 3})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("The end lies before the start."))
        return data
