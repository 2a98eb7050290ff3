"""The designer's forms for one field of a step: add a field, edit its label, type, options and rules."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dikom.eservices.forms.base import (
    FIELD_TYPE_LABELS,
    KEY_RE,
    ConcurrencyMixin,
    decimal_input,
    lang,
    parse_rule,
    rule_text,
    translated,
    unique_key,
    variables_of,
)

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
    min = forms.DecimalField(label=_("Smallest number"), required=False, localize=True, widget=decimal_input())
    max = forms.DecimalField(label=_("Largest number"), required=False, localize=True, widget=decimal_input())
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
        widget=decimal_input(),
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
