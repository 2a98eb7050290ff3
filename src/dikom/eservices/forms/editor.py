"""The designer's editor forms for a service as a whole: create, import, identity, settings, documents, fees, steps.

Each reads its piece of the definition (``initial_from``) and writes it back into a copy (``apply``)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dikom.eservices.forms.base import (
    AUTH_METHOD_LABELS,
    DOCUMENT_KIND_LABELS,
    KEY_RE,
    TRUST_LEVEL_LABELS,
    ConcurrencyMixin,
    decimal_input,
    lang,
    parse_rule,
    rename_variables,
    rule_text,
    translated,
    unique_key,
    variables_of,
)
from dikom.municipalities.models import Municipality

# --- create --------------------------------------------------------------------------------


class CreateServiceForm(forms.Form):
    municipality = forms.ModelChoiceField(
        label=_("Authoring city"), queryset=Municipality.objects.none(), empty_label=None
    )
    title = forms.CharField(label=_("Title (German)"), max_length=200)

    def __init__(self, *args: Any, municipalities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["municipality"].queryset = municipalities  # type: ignore[attr-defined]


class ImportServiceForm(forms.Form):
    """A new draft from a FIM XDatenfelder schema (XML) or a dikom service archive (ZIP)."""

    municipality = forms.ModelChoiceField(
        label=_("Authoring city"), queryset=Municipality.objects.none(), empty_label=None
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_("A FIM XDatenfelder 1, 2 or 3 schema (.xml) or a service exported from dikom (.zip)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xml,.zip,application/xml,text/xml,application/zip"}),
    )

    def __init__(self, *args: Any, municipalities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["municipality"].queryset = municipalities  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        from dikom.scanning.service import check_upload

        upload = self.cleaned_data["file"]
        refused = check_upload(upload.file if hasattr(upload, "file") else upload)
        if refused:
            raise ValidationError(refused)
        return upload


# --- identity ----------------------------------------------------------------------------------


class IdentityForm(ConcurrencyMixin):
    title_de = forms.CharField(label=_("Title (German)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    description_de = forms.CharField(
        label=_("Description (German)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    description_en = forms.CharField(
        label=_("Description (English)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    leika_key = forms.RegexField(
        label=_("LeiKa key"),
        regex=r"^99\d{12}$",
        required=False,
        help_text=_("14 digits starting with 99, e.g. 99050012104000."),
        error_messages={"invalid": _("A LeiKa key has 14 digits and starts with 99.")},
    )
    ozg_topic = forms.CharField(label=_("OZG topic"), max_length=200, required=False)
    keywords = forms.CharField(label=_("Keywords"), required=False, help_text=_("Separated by commas."))

    @staticmethod
    def initial_from(content: dict[str, Any]) -> dict[str, Any]:
        identity = content.get("identity") or {}
        return {
            "title_de": lang(identity.get("title"), "de"),
            "title_en": lang(identity.get("title"), "en"),
            "description_de": lang(identity.get("description"), "de"),
            "description_en": lang(identity.get("description"), "en"),
            "leika_key": identity.get("leika_key") or "",
            "ozg_topic": identity.get("ozg_topic") or "",
            "keywords": ", ".join(str(k) for k in identity.get("keywords") or []),
        }

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        content = copy.deepcopy(content)
        identity = content.setdefault("identity", {})
        identity["title"] = translated(data["title_de"], data["title_en"])
        identity["description"] = translated(data["description_de"], data["description_en"])
        identity["leika_key"] = data["leika_key"]
        identity["ozg_topic"] = data["ozg_topic"].strip()
        identity["keywords"] = [k.strip() for k in data["keywords"].split(",") if k.strip()]
        return content


# --- settings and documents ------------------------------------------------------------------


class SettingsForm(ConcurrencyMixin):
    trust_level = forms.ChoiceField(
        label=_("Required trust level"), choices=list(TRUST_LEVEL_LABELS.items()), widget=forms.RadioSelect
    )
    auth_methods = forms.MultipleChoiceField(
        label=_("Allowed authentication methods"),
        choices=list(AUTH_METHOD_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    payment_required = forms.BooleanField(label=_("Payment required before submission"), required=False)
    summary_step = forms.BooleanField(label=_("Show a summary step before submission"), required=False)

    @staticmethod
    def initial_from(content: dict[str, Any]) -> dict[str, Any]:
        return {
            "trust_level": content.get("trust_level", "none"),
            "auth_methods": content.get("auth_methods") or [],
            "payment_required": bool(content.get("payment_required")),
            "summary_step": bool(content.get("summary_step", True)),
        }

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        content = copy.deepcopy(content)
        for name in ("trust_level", "auth_methods", "payment_required", "summary_step"):
            content[name] = self.cleaned_data[name]
        return content


class DocumentForm(ConcurrencyMixin):
    kind = forms.ChoiceField(label=_("Kind"), choices=list(DOCUMENT_KIND_LABELS.items()))
    title_de = forms.CharField(label=_("Title (German)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shares its page with another form: its own element ids keep them unique.
        kwargs.setdefault("auto_id", "add-document-%s")
        super().__init__(*args, **kwargs)

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        content = copy.deepcopy(content)
        documents = content.setdefault("documents", [])
        taken = {d.get("key") for d in documents if isinstance(d, dict)}
        documents.append(
            {
                "key": unique_key(self.cleaned_data["title_de"], taken, "dokument"),
                "title": translated(self.cleaned_data["title_de"], self.cleaned_data["title_en"]),
                "kind": self.cleaned_data["kind"],
            }
        )
        return content


# --- fees ----------------------------------------------------------------------------------------


class FeeForm(ConcurrencyMixin):
    key = forms.RegexField(
        label=_("Key"),
        regex=KEY_RE,
        required=False,
        help_text=_("Lower-case letters, digits and underscores; left empty, it is made from the label."),
        error_messages={"invalid": _("Use lower-case letters, digits and underscores, starting with a letter.")},
    )
    label_de = forms.CharField(label=_("Label (German)"), max_length=200)
    label_en = forms.CharField(label=_("Label (English)"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount in euros"),
        required=False,
        min_value=Decimal(0),
        max_digits=9,
        decimal_places=2,
        help_text=_("A fixed amount. Leave empty when a calculation rule sets it."),
        localize=True,
        widget=decimal_input(),
    )
    amount_rule = forms.CharField(
        label=_("Calculation rule (JSON-Logic, result in cents)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        help_text=_('For example {"*": [{"var": "hund.anzahl"}, 9000]}.'),
    )
    locally_adjustable = forms.BooleanField(label=_("Each city may set its own amount"), required=False)

    def __init__(self, *args: Any, content: dict[str, Any], index: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.content = content
        self.index = index

    @staticmethod
    def initial_from(fee: dict[str, Any]) -> dict[str, Any]:
        amount = fee.get("amount_cents")
        return {
            "key": fee.get("key", ""),
            "label_de": lang(fee.get("label"), "de"),
            "label_en": lang(fee.get("label"), "en"),
            "amount": (Decimal(amount) / 100).quantize(Decimal("0.01")) if isinstance(amount, int) else None,
            "amount_rule": rule_text(fee.get("amount_rule")),
            "locally_adjustable": bool(fee.get("locally_adjustable")),
        }

    def clean_amount_rule(self) -> Any:
        return parse_rule(self.cleaned_data["amount_rule"], str(_("The calculation rule")), variables_of(self.content))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("amount") is None and data.get("amount_rule") is None and not self.errors:
            raise ValidationError(_("Enter an amount or a calculation rule."))
        fees = self.content.get("fees") or []
        taken = {f.get("key") for i, f in enumerate(fees) if isinstance(f, dict) and i != self.index}
        if data.get("key") and data["key"] in taken:
            self.add_error("key", _("Another fee already uses this key."))
        return data

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        content = copy.deepcopy(content)
        fees = content.setdefault("fees", [])
        taken = {f.get("key") for i, f in enumerate(fees) if isinstance(f, dict) and i != self.index}
        fee: dict[str, Any] = dict(fees[self.index]) if self.index is not None else {}
        fee["key"] = data["key"] or unique_key(data["label_de"], taken, "gebuehr")
        fee["label"] = translated(data["label_de"], data["label_en"])
        for name in ("amount_cents", "amount_rule"):
            fee.pop(name, None)
        if data.get("amount") is not None:
            fee["amount_cents"] = int((data["amount"] * 100).to_integral_value())
        if data.get("amount_rule") is not None:
            fee["amount_rule"] = data["amount_rule"]
        fee["locally_adjustable"] = data["locally_adjustable"]
        if self.index is None:
            fees.append(fee)
        else:
            fees[self.index] = fee
        return content


# --- steps ---------------------------------------------------------------------------------------


class StepForm(ConcurrencyMixin):
    key = forms.RegexField(
        label=_("Key"),
        regex=KEY_RE,
        help_text=_("Used in rules as “key.field”. Lower-case letters, digits and underscores."),
        error_messages={"invalid": _("Use lower-case letters, digits and underscores, starting with a letter.")},
    )
    title_de = forms.CharField(label=_("Title (German)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    visible_if = forms.CharField(
        label=_("Show this step only if (JSON-Logic)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        help_text=_('Empty: always shown. For example {"==": [{"var": "start.hund"}, "yes"]}.'),
    )

    def __init__(self, *args: Any, content: dict[str, Any], index: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.content = content
        self.index = index

    @staticmethod
    def initial_from(step: dict[str, Any]) -> dict[str, Any]:
        return {
            "key": step.get("key", ""),
            "title_de": lang(step.get("title"), "de"),
            "title_en": lang(step.get("title"), "en"),
            "visible_if": rule_text(step.get("visible_if")),
        }

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        others = {
            s.get("key")
            for i, s in enumerate(self.content.get("steps") or [])
            if i != self.index and isinstance(s, dict)
        }
        if key in others:
            raise ValidationError(_("Another step already uses this key."))
        return key

    def clean_visible_if(self) -> Any:
        return parse_rule(self.cleaned_data["visible_if"], str(_("The visibility rule")), variables_of(self.content))

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        content = copy.deepcopy(content)
        step = content["steps"][self.index]
        old_key = step.get("key")
        step["key"] = data["key"]
        step["title"] = translated(data["title_de"], data["title_en"])
        if data["visible_if"] is None:
            step.pop("visible_if", None)
        else:
            step["visible_if"] = data["visible_if"]
        if old_key and old_key != data["key"]:
            rename_variables(content, old_key, data["key"])
        return content


class AddStepForm(ConcurrencyMixin):
    title_de = forms.CharField(label=_("Title of the new step (German)"), max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shares its page with another form: its own element ids keep them unique.
        kwargs.setdefault("auto_id", "add-step-%s")
        super().__init__(*args, **kwargs)

    def apply(self, content: dict[str, Any]) -> tuple[dict[str, Any], int]:
        content = copy.deepcopy(content)
        steps = content.setdefault("steps", [])
        taken = {s.get("key") for s in steps if isinstance(s, dict)}
        steps.append(
            {
                "key": unique_key(self.cleaned_data["title_de"], taken, "schritt"),
                "title": translated(self.cleaned_data["title_de"], ""),
                "fields": [],
            }
        )
        return content, len(steps) - 1
