"""Forms of the designer, review and adoption pages.

The designer edits a JSON definition piece by piece. Each editor form reads
its piece from the definition (``initial_from``) and writes it back into a
copy (``apply``); the view hands the new definition to
``actions.update_draft``. Nothing here touches the database except the
adoption form's org-unit choices.
"""

from __future__ import annotations

import copy
import io
import json
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from dikom.eservices import actions
from dikom.eservices.models import Review
from dikom.lib.dateranges import DayField
from dikom.lib.jsonparse import loads_limited
from dikom.lib.slugs import german_slugify as slugify
from dikom.municipalities.models import Municipality, OrgUnit

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

FIELD_TYPE_LABELS = {
    "text": _("Text"),
    "long_text": _("Long text"),
    "number": _("Number"),
    "date": _("Date"),
    "email": _("E-mail address"),
    "phone": _("Phone number"),
    "iban": _("IBAN"),
    "postcode": _("German postcode"),
    "address": _("Address"),
    "select": _("Selection (one)"),
    "multi_select": _("Selection (several)"),
    "checkbox": _("Checkbox"),
    "yes_no": _("Yes/no question"),
    "file": _("File upload"),
    "repeating_group": _("Repeating group"),
    "info": _("Info text"),
}
TRUST_LEVEL_LABELS = {
    "none": _("None (anonymous)"),
    "low": _("Low"),
    "substantial": _("Substantial"),
    "high": _("High"),
}
AUTH_METHOD_LABELS = {
    "bundid": _("BundID"),
    "elster": _("ELSTER certificate"),
    "eid": _("Online ID card (eID)"),
    "eu_wallet": _("EU digital identity wallet"),
    "organisation_account": _("Organisation account (Mein Unternehmenskonto)"),
    "none": _("None (anonymous use)"),
}
DOCUMENT_KIND_LABELS = {"receipt": _("Receipt"), "decision": _("Decision letter")}


def translated(de: str, en: str) -> dict[str, str]:
    value = {"de": de.strip()}
    if en.strip():
        value["en"] = en.strip()
    return value


def lang(value: Any, language: str) -> str:
    if isinstance(value, dict):
        text = value.get(language)
        return text if isinstance(text, str) else ""
    return value if isinstance(value, str) and language == "de" else ""


def unique_key(base: str, taken: set[Any], fallback: str) -> str:
    key = slugify(base).replace("-", "_")
    key = re.sub(r"[^a-z0-9_]", "", key)[:50] or fallback
    if not key[0].isalpha():
        key = f"{fallback}_{key}"
    candidate, counter = key, 2
    while candidate in taken:
        candidate = f"{key}_{counter}"
        counter += 1
    return candidate


def _decimal_input() -> forms.TextInput:
    """A text input for decimal numbers, read in the page's language ("30,00" in German).

    Not ``type="number"``: browsers read a comma there by their own locale, not the page's,
    so "30,00" could arrive as 3000."""
    return forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


class ConcurrencyMixin(forms.Form):
    """Every editor form carries the hash of the content it was shown with: a change made
    meanwhile by a colleague is not silently overwritten."""

    content_hash = forms.CharField(widget=forms.HiddenInput)


def parse_rule(raw: str, label: str, known_variables: set[str] | None) -> Any:
    """A JSON-Logic rule from its text; empty → None. Raises ``ValidationError`` with a clear message."""
    from dikom.eservices.definition import logic

    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        rule = loads_limited(raw)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("%(label)s is not valid JSON (line %(line)s, column %(column)s: %(error)s).")
            % {"label": label, "line": exc.lineno, "column": exc.colno, "error": exc.msg}
        ) from exc
    try:
        names = logic.variables(rule)
    except logic.LogicError as exc:
        raise ValidationError(_("%(label)s is not a valid rule: %(error)s.") % {"label": label, "error": exc}) from exc
    if known_variables is not None:
        unknown = sorted(name for name in names if name not in known_variables)
        if unknown:
            raise ValidationError(
                _("%(label)s refers to fields that do not exist: %(names)s. Use “step.field” keys.")
                % {"label": label, "names": ", ".join(unknown)}
            )
    return rule


def rule_text(rule: Any) -> str:
    return "" if rule is None else json.dumps(rule, ensure_ascii=False, indent=1)


def variables_of(content: Any) -> set[str]:
    from dikom.eservices.definition.schema import iter_fields

    return {ref.variable for ref in iter_fields(content)}


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
        widget=_decimal_input(),
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


def rename_variables(content: dict[str, Any], old: str, new: str) -> None:
    """After a key changed, rewrite ``{"var": "old…"}`` to ``{"var": "new…"}`` in every rule
    (``old`` is a variable name such as ``step`` or ``step.field``; names below it move along)."""

    def rename_rule(node: Any) -> Any:
        if isinstance(node, list):
            return [rename_rule(item) for item in node]
        if isinstance(node, dict):
            if len(node) == 1 and "var" in node:
                args = node["var"]
                name = args[0] if isinstance(args, list) and args else args
                if isinstance(name, str) and (name == old or name.startswith(old + ".")):
                    renamed = new + name[len(old) :]
                    return {"var": [renamed, *args[1:]] if isinstance(args, list) else renamed}
                return node
            return {key: rename_rule(value) for key, value in node.items()}
        return node

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in RULE_KEYS:
                    node[key] = rename_rule(value)
                else:
                    walk(value)

    walk(content.get("steps"))
    walk(content.get("fees"))


RULE_KEYS = {"visible_if", "required_if", "amount_rule"}


# --- fields ----------------------------------------------------------------------------------------


class AddFieldForm(ConcurrencyMixin):
    type = forms.ChoiceField(label=_("Field type"), choices=list(FIELD_TYPE_LABELS.items()))
    label_de = forms.CharField(label=_("Label (German)"), max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shares its page with another form: its own element ids keep them unique.
        kwargs.setdefault("auto_id", "add-field-%s")
        super().__init__(*args, **kwargs)

    def apply(self, container: list[Any]) -> dict[str, Any]:
        """Append the new field to ``container`` (a step's or group's field list) and return it."""
        kind = self.cleaned_data["type"]
        label = self.cleaned_data["label_de"]
        taken = {f.get("key") for f in container if isinstance(f, dict)}
        new: dict[str, Any] = {
            "key": unique_key(label, taken, "feld"),
            "type": kind,
            "label": translated(label, ""),
            "required": kind not in ("info", "checkbox", "repeating_group"),
        }
        if kind in ("select", "multi_select"):
            new["options"] = [
                {"value": "option_1", "label": {"de": "Option 1"}},
                {"value": "option_2", "label": {"de": "Option 2"}},
            ]
        elif kind == "file":
            new["accept"] = ["application/pdf", "image/jpeg", "image/png"]
            new["max_bytes"] = 10 * 1024 * 1024
        elif kind == "repeating_group":
            new["fields"] = [{"key": "eintrag", "type": "text", "label": {"de": "Eintrag"}, "required": True}]
            new["min_items"] = 1
        elif kind == "info":
            new["text"] = {"de": label}
            new.pop("required")
        container.append(new)
        return new


def _optional_int(label: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=0)


class FieldForm(ConcurrencyMixin):
    """Everything of one field; the template shows only what its type uses."""

    key = forms.RegexField(
        label=_("Key"),
        regex=KEY_RE,
        help_text=_("Used in rules as “step.key”. Lower-case letters, digits and underscores."),
        error_messages={"invalid": _("Use lower-case letters, digits and underscores, starting with a letter.")},
    )
    label_de = forms.CharField(label=_("Label (German)"), max_length=300, required=False)
    label_en = forms.CharField(label=_("Label (English)"), max_length=300, required=False)
    help_de = forms.CharField(label=_("Help text (German)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    help_en = forms.CharField(label=_("Help text (English)"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    text_de = forms.CharField(label=_("Info text (German)"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    text_en = forms.CharField(label=_("Info text (English)"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    required = forms.BooleanField(label=_("Required"), required=False)
    options = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=_("One per line: value | German label | English label (optional)."),
    )
    min = forms.DecimalField(label=_("Smallest number"), required=False, localize=True, widget=_decimal_input())
    max = forms.DecimalField(label=_("Largest number"), required=False, localize=True, widget=_decimal_input())
    min_length = _optional_int(_("Shortest length (characters)"))
    max_length = _optional_int(_("Longest length (characters)"))
    pattern = forms.CharField(
        label=_("Pattern (regular expression)"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    min_date = forms.CharField(
        label=_("Earliest date"),
        required=False,
        max_length=20,
        help_text=_("ISO date (2026-01-31) or today, today+30, today-365."),
    )
    max_date = forms.CharField(label=_("Latest date"), required=False, max_length=20)
    message_de = forms.CharField(
        label=_("Message when the value does not fit (German)"), required=False, max_length=300
    )
    accept = forms.CharField(
        label=_("Accepted file types"),
        required=False,
        help_text=_("Media types separated by commas, e.g. application/pdf, image/jpeg."),
    )
    max_megabytes = forms.DecimalField(
        label=_("Largest file (MB)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=6,
        decimal_places=2,
        localize=True,
        widget=_decimal_input(),
    )
    min_items = _optional_int(_("Fewest entries"))
    max_items = forms.IntegerField(label=_("Most entries"), required=False, min_value=1)
    visible_if = forms.CharField(
        label=_("Show this field only if (JSON-Logic)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        help_text=_('Empty: always shown. For example {"==": [{"var": "start.hund"}, "yes"]}.'),
    )
    required_if = forms.CharField(
        label=_("Required only if (JSON-Logic)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
        help_text=_("Empty: the “Required” box decides."),
    )

    def __init__(self, *args: Any, content: dict[str, Any], field: dict[str, Any], siblings: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.content = content
        self.field = field
        self.siblings = siblings
        self.kind = field.get("type")

    @staticmethod
    def initial_from(field: dict[str, Any]) -> dict[str, Any]:
        validation = field.get("validation") or {}
        options = "\n".join(
            " | ".join(
                part
                for part in (str(o.get("value", "")), lang(o.get("label"), "de"), lang(o.get("label"), "en"))
                if part
            )
            for o in field.get("options") or []
            if isinstance(o, dict)
        )
        max_bytes = field.get("max_bytes")
        return {
            "key": field.get("key", ""),
            "label_de": lang(field.get("label"), "de"),
            "label_en": lang(field.get("label"), "en"),
            "help_de": lang(field.get("help"), "de"),
            "help_en": lang(field.get("help"), "en"),
            "text_de": lang(field.get("text"), "de"),
            "text_en": lang(field.get("text"), "en"),
            "required": bool(field.get("required")),
            "options": options,
            "min": validation.get("min"),
            "max": validation.get("max"),
            "min_length": validation.get("min_length"),
            "max_length": validation.get("max_length"),
            "pattern": validation.get("pattern", ""),
            "min_date": validation.get("min_date", ""),
            "max_date": validation.get("max_date", ""),
            "message_de": lang(validation.get("message"), "de"),
            "accept": ", ".join(field.get("accept") or []),
            "max_megabytes": (Decimal(max_bytes) / (1024 * 1024)).quantize(Decimal("0.01"))
            if isinstance(max_bytes, int)
            else None,
            "min_items": field.get("min_items"),
            "max_items": field.get("max_items"),
            "visible_if": rule_text(field.get("visible_if")),
            "required_if": rule_text(field.get("required_if")),
        }

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if any(isinstance(f, dict) and f is not self.field and f.get("key") == key for f in self.siblings):
            raise ValidationError(_("Another field of this step already uses this key."))
        return key

    def clean_visible_if(self) -> Any:
        return parse_rule(self.cleaned_data["visible_if"], str(_("The visibility rule")), variables_of(self.content))

    def clean_required_if(self) -> Any:
        return parse_rule(
            self.cleaned_data["required_if"], str(_("The rule for required-ness")), variables_of(self.content)
        )

    def clean_options(self) -> list[dict[str, Any]] | None:
        if self.kind not in ("select", "multi_select"):
            return None
        options = []
        seen: set[str] = set()
        for number, line in enumerate(self.cleaned_data["options"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            value = parts[0]
            label_de = parts[1] if len(parts) > 1 and parts[1] else value
            label_en = parts[2] if len(parts) > 2 else ""
            if not value:
                raise ValidationError(_("Line %(number)s has no value.") % {"number": number})
            if value in seen:
                raise ValidationError(_("The value “%(value)s” appears twice.") % {"value": value})
            seen.add(value)
            options.append({"value": value, "label": translated(label_de, label_en)})
        if not options:
            raise ValidationError(_("A selection field needs at least one option."))
        return options

    def clean_pattern(self) -> str:
        from dikom.eservices.definition.validation import pattern_problem

        pattern = self.cleaned_data["pattern"]
        if pattern:
            problem = pattern_problem(pattern)
            if problem:
                raise ValidationError(_("The pattern is not usable: %(reason)s") % {"reason": problem})
        return pattern

    def _clean_date_bound(self, name: str) -> str:
        from dikom.eservices.definition.validation import is_date_bound

        value = self.cleaned_data[name].strip()
        if value and not is_date_bound(value):
            raise ValidationError(_("Enter an ISO date (2026-01-31) or today, today+30, today-365."))
        return value

    def clean_min_date(self) -> str:
        return self._clean_date_bound("min_date")

    def clean_max_date(self) -> str:
        return self._clean_date_bound("max_date")

    def clean_accept(self) -> list[str]:
        types = [t.strip().lower() for t in self.cleaned_data["accept"].split(",") if t.strip()]
        if self.kind == "file":
            if not types:
                raise ValidationError(_("Name at least one accepted file type."))
            bad = [t for t in types if not re.fullmatch(r"[a-z0-9.+-]+/[a-z0-9.+*-]+", t)]
            if bad:
                raise ValidationError(_("Not a media type: %(types)s") % {"types": ", ".join(bad)})
        return types

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.kind == "info":
            if not (data.get("text_de") or "").strip():
                self.add_error("text_de", _("Enter the info text."))
        elif not (data.get("label_de") or "").strip():
            self.add_error("label_de", _("Enter a label."))
        for low, high in (("min", "max"), ("min_length", "max_length"), ("min_items", "max_items")):
            a, b = data.get(low), data.get(high)
            if a is not None and b is not None and a > b:
                self.add_error(high, _("The upper bound is smaller than the lower bound."))
        if self.kind == "file" and data.get("max_megabytes") is None:
            self.add_error("max_megabytes", _("Enter the largest file size."))
        return data

    def apply(self, field: dict[str, Any]) -> str | None:
        """Write the cleaned values into ``field`` (in place); return its old key if it changed."""
        data = self.cleaned_data
        old_key = field.get("key")
        field["key"] = data["key"]
        if self.kind == "info":
            field["text"] = translated(data["text_de"], data["text_en"])
            if data["label_de"].strip():
                field["label"] = translated(data["label_de"], data["label_en"])
            else:
                field.pop("label", None)
        else:
            field["label"] = translated(data["label_de"], data["label_en"])
            field["required"] = data["required"]
        if data["help_de"].strip():
            field["help"] = translated(data["help_de"], data["help_en"])
        else:
            field.pop("help", None)
        for rule in ("visible_if", "required_if"):
            if data[rule] is None:
                field.pop(rule, None)
            else:
                field[rule] = data[rule]
        if self.kind in ("select", "multi_select"):
            field["options"] = data["options"]
        if self.kind == "file":
            field["accept"] = data["accept"]
            field["max_bytes"] = int(data["max_megabytes"] * 1024 * 1024)
        if self.kind == "repeating_group":
            field["min_items"] = data["min_items"] or 0
            if data["max_items"] is not None:
                field["max_items"] = data["max_items"]
            else:
                field.pop("max_items", None)
        validation: dict[str, Any] = {}
        if self.kind == "number":
            for name in ("min", "max"):
                if data[name] is not None:
                    number = data[name]
                    validation[name] = int(number) if number == number.to_integral_value() else float(number)
        if self.kind in ("text", "long_text"):
            for name in ("min_length", "max_length"):
                if data[name] is not None:
                    validation[name] = data[name]
            if data["pattern"]:
                validation["pattern"] = data["pattern"]
        if self.kind == "date":
            for name in ("min_date", "max_date"):
                if data[name]:
                    validation[name] = data[name]
        if validation and data["message_de"].strip():
            validation["message"] = {"de": data["message_de"].strip()}
        if validation:
            field["validation"] = validation
        else:
            field.pop("validation", None)
        return old_key if old_key != data["key"] else None


# --- processing: BPMN process, lanes, decision settings, letter template ------------------------


class ProcessUploadForm(ConcurrencyMixin):
    """A BPMN 2.0 file for the service. It is checked on upload; with errors it is not stored."""

    file = forms.FileField(
        label=_("BPMN 2.0 file"),
        help_text=_(
            "A .bpmn or .xml file as saved by a modelling tool (Camunda Modeler, Signavio, ADONIS, Bizagi, …), "
            "at most 5 MB. It replaces the current process."
        ),
        widget=forms.FileInput(attrs={"accept": ".bpmn,.xml,application/xml,text/xml"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "upload-%s")  # shares its page with the settings form
        super().__init__(*args, **kwargs)
        self.report: Any = None

    def clean_file(self) -> str:
        from dikom.cases.bpmn.checks import inspect
        from dikom.eservices import process
        from dikom.scanning.service import check_upload

        upload = self.cleaned_data["file"]
        if not str(upload.name or "").lower().endswith(process.UPLOAD_SUFFIXES):
            raise ValidationError(_("Upload a BPMN file: its name must end in .bpmn or .xml."))
        limit_mb = process.MAX_UPLOAD_BYTES // 2**20
        if upload.size > process.MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than %(size)s MB.") % {"size": limit_mb})
        data = upload.read(process.MAX_UPLOAD_BYTES + 1)
        if len(data) > process.MAX_UPLOAD_BYTES:
            raise ValidationError(_("The file is larger than %(size)s MB.") % {"size": limit_mb})
        refused = check_upload(io.BytesIO(data))
        if refused:
            raise ValidationError(refused)
        try:
            xml = process.decode_upload(data)
        except process.UploadError as exc:
            raise ValidationError(exc.message) from exc
        from dikom.eservices.service import released_process

        self.report = report = inspect(xml, resolve_process=released_process)
        if report.errors:
            first = report.errors[0]
            if report.process_id is None and len(report.errors) == 1:
                reason = str(first.message)
                if first.line:
                    reason += " " + str(_("(line %(line)s)") % {"line": first.line})
                raise ValidationError(_("The process was not stored: %(reason)s") % {"reason": reason})
            raise ValidationError(
                ngettext_lazy(
                    "The process was not stored: the file contains %(count)s error that dikom cannot run. "
                    "The import report below names the element and line.",
                    "The process was not stored: the file contains %(count)s errors that dikom cannot run. "
                    "The import report below names the elements and lines.",
                    "count",
                )
                % {"count": len(report.errors)}
            )
        if report.process_id is None:
            raise ValidationError(_("The process was not stored: the file contains no process."))
        return xml


class ProcessSettingsForm(ConcurrencyMixin):
    """Lane mapping, decision settings and the letter template of ``processing``."""

    sign_off_required = forms.BooleanField(
        label=_("Decisions need a second sign-off"),
        required=False,
        help_text=_("A second person of the unit signs each decision off before the letter is sent."),
    )
    automatic_decision_allowed = forms.BooleanField(
        label=_("May be decided automatically"),
        required=False,
        help_text=_("For fully rule-based services: a city's automation rule may decide; the letter says so."),
    )
    letter_template_de = forms.CharField(
        label=_("Letter template (German)"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 12, "class": "code", "spellcheck": "false"}),
        help_text=_(
            "HTML with Django template tags, placed into the city's letter frame. Available: "
            "{{ case.reference }}, {{ case.service }}, {{ case.outcome_label }}, {{ case.reasons }}, "
            "{{ case.decided_at }}, {{ answers.<step>.<field> }}, {{ fees.total }}, {{ municipality.name }}. "
            "No include, extends or load."
        ),
    )

    def __init__(self, *args: Any, lanes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lanes = lanes
        self.lane_fields: list[str] = []
        for index, lane in enumerate(lanes):
            name = f"lane_{index}"
            self.fields[name] = forms.CharField(
                label=_("Lane “%(lane)s”") % {"lane": lane},
                required=False,
                max_length=200,
                help_text=_("Name or short name of the organisational unit, as the cities call it."),
            )
            self.lane_fields.append(name)
        # lanes first, as on the page
        self.order_fields([*self.lane_fields, "sign_off_required", "automatic_decision_allowed"])

    @staticmethod
    def initial_from(content: dict[str, Any], lanes: list[str]) -> dict[str, Any]:
        found = content.get("processing")
        processing: dict[str, Any] = found if isinstance(found, dict) else {}
        mapping: dict[str, Any] = processing["lanes"] if isinstance(processing.get("lanes"), dict) else {}
        template = processing.get("letter_template")
        initial: dict[str, Any] = {
            "sign_off_required": processing.get("sign_off_required") is True,
            "automatic_decision_allowed": processing.get("automatic_decision_allowed") is True,
            "letter_template_de": template.get("de", "") if isinstance(template, dict) else "",
        }
        for index, lane in enumerate(lanes):
            value = mapping.get(lane)
            initial[f"lane_{index}"] = value if isinstance(value, str) else ""
        return initial

    def clean_letter_template_de(self) -> str:
        from dikom.cases.letters import LetterTemplateError, check_template

        source = self.cleaned_data["letter_template_de"].replace("\r\n", "\n")
        if source.strip():
            try:
                check_template(source)
            except LetterTemplateError as error:
                raise ValidationError(
                    _("The letter template cannot be used: %(reason)s") % {"reason": error}
                ) from error
        return source

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("sign_off_required") and data.get("automatic_decision_allowed"):
            self.add_error(
                "automatic_decision_allowed",
                _("A service whose decisions need a second sign-off cannot be decided automatically."),
            )
        return data

    def apply(self, content: dict[str, Any]) -> dict[str, Any]:
        data = self.cleaned_data
        content = copy.deepcopy(content)
        processing = content.get("processing")
        if not isinstance(processing, dict):
            processing = content["processing"] = {}
        processing["sign_off_required"] = data["sign_off_required"]
        processing["automatic_decision_allowed"] = data["automatic_decision_allowed"]
        lanes = {
            lane: data[f"lane_{index}"].strip()
            for index, lane in enumerate(self.lanes)
            if data[f"lane_{index}"].strip()
        }
        if lanes:
            processing["lanes"] = lanes
        else:
            processing.pop("lanes", None)
        if data["letter_template_de"].strip():
            processing["letter_template"] = {"de": data["letter_template_de"]}
        else:
            processing.pop("letter_template", None)
        return content


def with_process(content: dict[str, Any], xml: str | None, lanes: list[str]) -> dict[str, Any]:
    """A copy of ``content`` with the process ``xml`` (None: without a process). The lane mapping
    keeps the lanes the new process still has."""
    content = copy.deepcopy(content)
    processing = content.get("processing")
    if not isinstance(processing, dict):
        processing = {}
    old: dict[str, Any] = processing["lanes"] if isinstance(processing.get("lanes"), dict) else {}
    mapping = {lane: target for lane, target in old.items() if lane in lanes}
    if xml is None:
        processing.pop("bpmn", None)
    else:
        processing["bpmn"] = xml
    if mapping:
        processing["lanes"] = mapping
    else:
        processing.pop("lanes", None)
    if processing:
        content["processing"] = processing
    else:
        content.pop("processing", None)
    return content


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
                widget=_decimal_input(),
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
