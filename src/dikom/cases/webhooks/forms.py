"""The city administrator's form for a new case webhook subscription."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from dikom.cases.webhooks.models import WebhookSubscription


class SubscriptionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    url = forms.CharField(
        label=_("Webhook address"), max_length=500, help_text=_("https:// address of the specialist procedure.")
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookSubscription.Event.choices, widget=forms.CheckboxSelectMultiple
    )
    services = forms.CharField(
        label=_("Only these services"),
        required=False,
        max_length=1000,
        help_text=_("Short names of the services, comma-separated; empty: all services."),
    )

    def clean_services(self) -> list[str]:
        return [s.strip() for s in self.cleaned_data["services"].split(",") if s.strip()]
