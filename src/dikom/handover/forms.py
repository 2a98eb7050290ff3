"""Forms of the hand-over pages. They validate input; ``actions.py`` validates again and changes state."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dikom.eservices.models import Adoption
from dikom.handover import transport
from dikom.handover.models import Delivery, DeliveryTarget
from dikom.municipalities.models import Municipality


def service_choices(municipality: Municipality, keep: list[str] | tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The city's adopted services (slug, title), plus slugs a target already names."""
    rows = (
        Adoption.objects.filter(municipality=municipality)
        .values_list("definition__slug", "definition__title")
        .order_by("definition__title")
    )
    choices = dict(rows)
    for slug in keep:
        choices.setdefault(slug, slug)
    return sorted(choices.items(), key=lambda item: item[1].casefold())


class TargetForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, help_text=_("For example the name of the system."))
    kind = forms.ChoiceField(label=_("Kind"), choices=DeliveryTarget.Kind.choices, widget=forms.RadioSelect)
    url = forms.CharField(
        label=_("Webhook address"),
        max_length=500,
        required=False,
        help_text=_("For webhooks: the https:// address dikom sends each application to."),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("For e-mail: the mailbox that receives the applications."),
    )
    services = forms.MultipleChoiceField(
        label=_("Only these online services"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose none to receive the applications of every online service."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, municipality: Municipality, instance: DeliveryTarget | None = None, **kwargs: Any):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "kind": instance.kind,
                "url": instance.url,
                "email": instance.email,
                "services": list(instance.services),
                "active": instance.active,
            }
        super().__init__(*args, **kwargs)
        self.instance = instance
        services_field: forms.MultipleChoiceField = self.fields["services"]  # type: ignore[assignment]
        services_field.choices = service_choices(municipality, tuple(instance.services) if instance else ())
        if instance is not None:
            # The kind is fixed once created (a webhook has a secret, a mailbox none).
            del self.fields["kind"]
            del self.fields["url" if instance.kind == DeliveryTarget.Kind.EMAIL else "email"]
        else:
            del self.fields["active"]

    def clean_url(self) -> str:
        url = str(self.cleaned_data.get("url") or "").strip()
        if url:
            transport.parse_url(url)  # the same check the action and every delivery make
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = self.instance.kind if self.instance else cleaned.get("kind")
        if (
            kind == DeliveryTarget.Kind.WEBHOOK
            and "url" in self.fields
            and not cleaned.get("url")
            and "url" not in self.errors
        ):
            self.add_error("url", _("Please enter the webhook address."))
        if (
            kind == DeliveryTarget.Kind.EMAIL
            and "email" in self.fields
            and not cleaned.get("email")
            and "email" not in self.errors
        ):
            self.add_error("email", _("Please enter the e-mail address."))
        return cleaned


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("all")), *Delivery.Status.choices])
