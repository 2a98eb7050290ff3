"""Forms: the period/channel filter (GET) and the self-service dashboard editor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dikom.analytics.dashboards.models import Breakdown, Dashboard, Metric, Widget
from dikom.analytics.dashboards.periods import DEFAULT_PRESET, GRANULARITIES, MAX_DAYS, PRESETS, Period, preset_range
from dikom.analytics.dashboards.reports import ALLOWED_BREAKDOWNS
from dikom.analytics.models import Channel, Service
from dikom.lib.dateranges import DayField
from dikom.municipalities.models import Municipality


class FilterForm(forms.Form):
    # The fields as ``includes/filters.html`` lays them out; ``{{ form }}`` there, so that the
    # analytics pages can hand over the HTML kept by ``dikom.lib.formcache`` (issue 21).
    template_name = "analytics_dashboards/includes/filter_fields.html"

    period = forms.ChoiceField(label=_("Period"), choices=list(PRESETS.items()), required=False)
    since = DayField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Custom period only."),
    )
    until = DayField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Custom period only."),
    )
    granularity = forms.ChoiceField(label=_("Granularity"), choices=list(GRANULARITIES.items()), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", _("All channels")), *Channel.choices], required=False)

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        # Without a chosen period the default applies: show it as chosen, not the list's first entry.
        if data is not None and not data.get("period"):
            data = data.copy()
            data["period"] = DEFAULT_PRESET
        super().__init__(data, *args, **kwargs)
        self.fields["period"].initial = DEFAULT_PRESET

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == "custom":
            since, until = data.get("since"), data.get("until")
            if not since or not until:
                raise forms.ValidationError(_("Enter both dates of the custom period."))
            if until < since:
                self.add_error("until", _("“To” must not be before “from”."))
            elif (until - since).days > MAX_DAYS:
                self.add_error("until", _("The period may span at most ten years."))
        return data

    def get_period(self) -> Period:
        """The chosen period; the default (last 30 days, by day) when the form is invalid or empty."""
        data = self.cleaned_data if self.is_valid() else {}
        preset = data.get("period") or DEFAULT_PRESET
        granularity = data.get("granularity") or "day"
        if preset == "custom":
            return Period(data["since"], data["until"], granularity, preset)
        since, until = preset_range(preset)
        return Period(since, until, granularity, preset)

    def get_channel(self) -> str:
        return (self.cleaned_data.get("channel") or "") if self.is_valid() else ""


class DashboardForm(forms.ModelForm):
    class Meta:
        model = Dashboard
        fields = ["title", "description", "shared"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class WidgetForm(forms.ModelForm):
    class Meta:
        model = Widget
        fields = ["title", "metric", "service", "preset", "since", "until", "granularity", "breakdown", "chart"]
        field_classes = {"since": DayField, "until": DayField}
        widgets = {
            "since": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service = self.fields["service"]
        assert isinstance(service, forms.ModelChoiceField)  # noqa: S101 - narrows the type for mypy
        service.queryset = Service.objects.filter(municipality=municipality).order_by("name")
        service.empty_label = str(_("All services"))
        self.fields["breakdown"].help_text = _(
            "Counts and rates: over time, by channel or by service. Funnel: by step. "
            "Authentication, payment and devices: by method. Channels: by channel."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        metric, breakdown = data.get("metric"), data.get("breakdown")
        if metric and breakdown and breakdown not in ALLOWED_BREAKDOWNS[metric]:
            allowed = ", ".join(str(Breakdown(value).label) for value in sorted(ALLOWED_BREAKDOWNS[metric]))
            self.add_error(
                "breakdown",
                _("For %(metric)s choose: %(allowed)s.") % {"metric": Metric(metric).label, "allowed": allowed},
            )
        if data.get("preset") == "custom":
            since, until = data.get("since"), data.get("until")
            if not since or not until:
                self.add_error("since", _("Enter both dates of the custom period."))
            elif until < since:
                self.add_error("until", _("“To” must not be before “from”."))
            elif until - since > timedelta(days=MAX_DAYS):
                self.add_error("until", _("The period may span at most ten years."))
        else:
            data["since"] = data["until"] = None
        return data
