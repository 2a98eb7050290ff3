"""Review of a version (comments, decision), adoption by a city, and the library's search form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dikom.eservices import actions
from dikom.eservices.forms.base import (
    decimal_input,
    lang,
)
from dikom.eservices.models import Review
from dikom.lib.dateranges import DayField
from dikom.municipalities.models import Municipality, OrgUnit

# --- review -------------------------------------------------------------------------------------


class CommentForm(forms.Form):
    path = forms.ChoiceField(label=_("About"), required=False)
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)

    def __init__(self, *args: Any, paths: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "comment-%s")  # the decision form on the same page has a "body" too
        super().__init__(*args, **kwargs)
        self.fields["path"].choices = [("", _("The whole service")), *paths]  # type: ignore[attr-defined]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=Review.Decision.choices, widget=forms.RadioSelect)
    body = forms.CharField(
        label=_("Remarks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text=_("Required when you request changes."),
    )
    municipality = forms.ChoiceField(label=_("On behalf of"), required=False)

    def __init__(self, *args: Any, municipalities: list[Municipality], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if len(municipalities) > 1:
            self.fields["municipality"].choices = [(str(m.pk), m.name) for m in municipalities]  # type: ignore[attr-defined]
            self.fields["municipality"].required = True
        else:
            del self.fields["municipality"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("decision") in (Review.Decision.REQUEST_CHANGES, Review.Decision.COMMENT_ONLY)
            and not (data.get("body") or "").strip()
        ):
            self.add_error("body", _("Say which changes you request, or what you want to remark."))
        return data


# --- adoption -------------------------------------------------------------------------------------


class AdoptionForm(forms.Form):
    org_unit = forms.ModelChoiceField(
        label=_("Responsible organisational unit"), queryset=OrgUnit.objects.none(), required=True
    )
    start_date = DayField(
        label=_("Offered from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Format: 2026-01-31."),
    )
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), required=False, max_length=40)
    hint_de = forms.CharField(
        label=_("Local hint for citizens (German)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    hint_en = forms.CharField(
        label=_("Local hint for citizens (English)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    active = forms.BooleanField(label=_("Offer the service to citizens"), required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        municipality: Municipality,
        version: Any,
        fees: dict[str, Any] | None = None,
        lanes: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.municipality = municipality
        self.version = version
        units = list(OrgUnit.objects.filter(municipality=municipality).order_by("name"))
        # Any org unit may be posted; check_local_settings refuses another city's with a clear message.
        self.fields["org_unit"].queryset = OrgUnit.objects.all()  # type: ignore[attr-defined]
        self.fields["org_unit"].choices = [  # type: ignore[attr-defined]
            ("", _("Please choose")),
            *[(u.pk, str(u)) for u in units],
        ]
        self._add_lane_fields(units, lanes or {})
        self.fee_fields: list[str] = []
        for key, fee in actions.adjustable_fees(version.content).items():
            name = f"fee_{key}"
            default = fee.get("amount_cents")
            self.fields[name] = forms.DecimalField(
                label=_("Fee “%(label)s” in euros") % {"label": lang(fee.get("label"), "de") or key},
                required=False,
                max_digits=9,
                decimal_places=2,
                localize=True,
                widget=decimal_input(),
                help_text=_("Empty: the common amount (%(amount)s €).") % {"amount": _euros(default)}
                if isinstance(default, int)
                else _("Empty: calculated by the service's rule."),
            )
            if fees and key in fees:
                self.initial.setdefault(name, (Decimal(fees[key]) / 100).quantize(Decimal("0.01")))
            self.fee_fields.append(name)

    def _add_lane_fields(self, units: list[OrgUnit], chosen: dict[str, Any]) -> None:
        """One select per lane of the process: the city's own unit for its tasks, or empty for the
        unit the shared mapping (or an equal name) gives, which the help text names."""
        from dikom.eservices.process import lane_targets

        self.lane_targets = lane_targets(self.version.content, units)
        self.lane_fields: list[str] = []
        for index, target in enumerate(self.lane_targets):
            default: Any
            if target.unit is not None and target.reason == "shared":
                default = _("Without a choice: %(unit)s (shared mapping “%(target)s”).") % {
                    "unit": target.unit,
                    "target": target.shared_target,
                }
            elif target.unit is not None:
                default = _("Without a choice: %(unit)s (same name as the lane).") % {"unit": target.unit}
            else:
                default = _("Without a choice: the responsible organisational unit above.")
            name = f"lane_{index}"
            self.fields[name] = forms.TypedChoiceField(
                label=_("Tasks of the lane “%(lane)s” go to") % {"lane": target.lane},
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", _("(as described below)")), *[(u.pk, str(u)) for u in units]],
                help_text=default,
            )
            if isinstance(chosen.get(target.lane), int):
                self.initial.setdefault(name, chosen[target.lane])
            self.lane_fields.append(name)

    @property
    def general_fields(self) -> list[Any]:
        return [self[name] for name in self.fields if name not in self.lane_fields]

    @property
    def lane_bound_fields(self) -> list[Any]:
        return [self[name] for name in self.lane_fields]

    def local_settings(self) -> actions.LocalSettings:
        data = self.cleaned_data
        fees = {
            name[len("fee_") :]: int((data[name] * 100).to_integral_value())
            for name in self.fee_fields
            if data.get(name) is not None
        }
        lanes = {
            target.lane: data[f"lane_{index}"]
            for index, target in enumerate(self.lane_targets)
            if data.get(f"lane_{index}") is not None
        }
        return actions.LocalSettings(
            start_date=data["start_date"],
            org_unit=data["org_unit"],
            fees=fees,
            contact_email=data["contact_email"],
            contact_phone=data["contact_phone"],
            hint_de=data["hint_de"],
            hint_en=data["hint_en"],
            active=data["active"],
            lanes=lanes,
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            actions.check_local_settings(self.municipality, self.version, self.local_settings())
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                target = name if name in self.fields else None
                if name in ("fees", "lanes"):
                    for message in messages:
                        self.add_error(None, message)
                    continue
                for message in messages:
                    self.add_error(target, message)
        return data

    @staticmethod
    def initial_from(adoption: Any) -> dict[str, Any]:
        return {
            "org_unit": adoption.org_unit_id,
            "start_date": adoption.start_date,
            "contact_email": adoption.contact_email,
            "contact_phone": adoption.contact_phone,
            "hint_de": adoption.hint_de,
            "hint_en": adoption.hint_en,
            "active": adoption.active,
        }


def _euros(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}".replace(".", ",")


class LibrarySearchForm(forms.Form):
    q = forms.CharField(label=_("Search by title, LeiKa key or keyword"), required=False, max_length=100)
