"""Forms of the automation pages. They parse and check input; ``actions.py`` checks again and saves."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dikom.cases.automation import actions, rules
from dikom.cases.automation.models import Rule, RuleExecution, Trigger
from dikom.municipalities.models import Municipality


def service_choices(municipality: Municipality, keep: str = "") -> list[tuple[str, str]]:
    from dikom.eservices.models import Adoption

    rows = dict(
        Adoption.objects.filter(municipality=municipality)
        .values_list("definition__slug", "definition__title")
        .order_by("definition__title")
    )
    if keep:
        rows.setdefault(keep, keep)
    ordered = sorted(rows.items(), key=lambda item: str(item[1]).casefold())
    return [("", str(_("every online service"))), *ordered]


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What the rule is for, in a sentence (optional)."),
    )  # fmt: skip
    trigger = forms.ChoiceField(label=_("When"), choices=Trigger.choices, widget=forms.RadioSelect)
    service_slug = forms.ChoiceField(label=_("Online service"), required=False)
    task_filter = forms.CharField(
        label=_("Only for the task"),
        max_length=200,
        required=False,
        help_text=_("For “task completed” and “deadline passed”: the task's BPMN id or name; empty: every task."),
    )
    condition = forms.CharField(
        label=_("If (condition, JSON-Logic)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"}),
        help_text=_(
            'Empty: always. Example: {"==": [{"var": "answers.hund.gefaehrlich"}, "no"]}. '
            "Variables: answers.STEP.FIELD, service, fee_total_cents, auth_method, trust_level, status, outcome, "
            "task.bpmn_id, task.name, task.result."
        ),
    )
    actions = forms.CharField(
        label=_("Then (actions, JSON list)"),
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "code"}),
        help_text=_(
            'Example: [{"type": "assign_to_unit", "unit": "Ordnungsamt"}, '
            '{"type": "decide", "outcome": "approved", "reasons": "Alle Voraussetzungen liegen vor."}]. '
            "Types: assign_to_unit, assign_to_user, set_status, complete_task, decide, generate_document, notify, "
            "call_webhook."
        ),
    )
    active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("Only active rules run. Try a dry run first.")
    )

    def __init__(self, *args: Any, municipality: Municipality, instance: Rule | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "description": instance.description,
                "trigger": instance.trigger,
                "service_slug": instance.service_slug,
                "task_filter": instance.task_filter,
                "condition": "" if instance.condition is None else pretty(instance.condition),
                "actions": pretty(instance.actions),
                "active": instance.active,
            }
        super().__init__(*args, **kwargs)
        self.municipality = municipality
        self.instance = instance
        field: forms.ChoiceField = self.fields["service_slug"]  # type: ignore[assignment]
        field.choices = service_choices(municipality, instance.service_slug if instance else "")

    def clean_condition(self) -> Any:
        text = str(self.cleaned_data.get("condition") or "").strip()
        if not text:
            return None
        return rules.parse_json(text, str(_("condition")))

    def clean_actions(self) -> Any:
        text = str(self.cleaned_data.get("actions") or "").strip()
        return rules.parse_json(text, str(_("action list")))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            actions.check_rule(self.municipality, cleaned)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned

    def unsaved_rule(self) -> Rule:
        """The rule as entered (not saved), for a dry run while editing."""
        data = self.cleaned_data
        return Rule(
            municipality=self.municipality,
            name=data["name"],
            trigger=data["trigger"],
            service_slug=data.get("service_slug") or "",
            task_filter=data.get("task_filter") or "",
            condition=data.get("condition"),
            actions=data["actions"],
        )


class DryRunForm(forms.Form):
    days = forms.IntegerField(
        label=_("Cases opened in the last … days"), min_value=1, max_value=365, initial=90,
        help_text=_("At most 200 cases, newest first."),
    )  # fmt: skip


class ExecutionFilterForm(forms.Form):
    MODES = (("real", _("real executions")), ("dry", _("dry runs")), ("all", _("both")))

    rule = forms.ChoiceField(label=_("Rule"), required=False)
    reference = forms.CharField(label=_("Case reference number"), required=False, max_length=32)
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", _("all")), *RuleExecution.Outcome.choices]
    )
    mode = forms.ChoiceField(label=_("Dry run"), required=False, choices=MODES)

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.ChoiceField = self.fields["rule"]  # type: ignore[assignment]
        field.choices = [
            ("", str(_("all"))),
            *((str(u), n) for u, n in Rule.objects.filter(municipality=municipality).values_list("uuid", "name")),
        ]
