"""Forms of the caseworker pages. They validate input; ``actions.py`` checks again and changes state.

Choices that depend on the city (colleagues, org units, services) are passed in
as plain lists, so a page with many task forms asks the database once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dikom.cases.models import Case
from dikom.lib.dateranges import DayField

TABS = ("mine", "unit", "all")
SORTS = (("due", _("Due date, earliest first")), ("-due", _("Due date, latest first")))
DECISIONS = [
    (Case.Outcome.APPROVED.value, Case.Outcome.APPROVED.label),
    (Case.Outcome.PARTLY_APPROVED.value, Case.Outcome.PARTLY_APPROVED.label),
    (Case.Outcome.REJECTED.value, Case.Outcome.REJECTED.label),
]

LOCK_VERSION_ERRORS = {
    "required": _("The form was incomplete. Please reload the page and try again."),
    "invalid": _("The form was incomplete. Please reload the page and try again."),
    "min_value": _("The form was incomplete. Please reload the page and try again."),
}


def lock_version_field() -> forms.IntegerField:
    return forms.IntegerField(min_value=0, widget=forms.HiddenInput, error_messages=LOCK_VERSION_ERRORS)


def _set_choices(form: forms.Form, name: str, choices: list[tuple[str, Any]]) -> None:
    field: forms.ChoiceField = form.fields[name]  # type: ignore[assignment]
    field.choices = choices


class InboxFilterForm(forms.Form):
    """Filters of the inbox (GET). Invalid values are shown as errors, never a 500."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        help_text=_("Reference number or online service."),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses")), *Case.Status.choices]
    )
    service = forms.ChoiceField(label=_("Online service"), required=False)
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORTS)

    def __init__(
        self,
        *args: Any,
        services: list[tuple[str, str]],
        units: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "service", [("", _("All online services")), *services])
        _set_choices(self, "unit", [("", _("All units")), *units])


class ClaimForm(forms.Form):
    lock_version = lock_version_field()


class AssignForm(forms.Form):
    lock_version = lock_version_field()
    assignee = forms.ChoiceField(label=_("Hand over to"))

    def __init__(self, *args: Any, colleagues: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "assignee", [("", _("Please choose")), *colleagues])


class CompleteForm(forms.Form):
    lock_version = lock_version_field()
    result = forms.CharField(
        label=_("Result"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was checked or done; it appears in the history."),
    )

    def __init__(self, *args: Any, choices: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if choices:
            # A gateway of the process where a person decides: the paths, as the process names them.
            self.fields["choice"] = forms.ChoiceField(
                label=_("How does the case continue?"),
                choices=[(str(value), str(label)) for value, label in choices],
                widget=forms.RadioSelect,
            )
            self.order_fields(["lock_version", "choice", "result"])


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))


class InformationRequestForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("What is missing"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The citizen reads this in the portal and answers there; the case waits until then."),
    )


class ConsultForm(forms.Form):
    org_unit = forms.ChoiceField(label=_("Department to consult"))
    question = forms.CharField(label=_("Question"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    due_date = DayField(
        label=_("Answer needed by"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Optional."),
    )

    def __init__(self, *args: Any, units: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "org_unit", [("", _("Please choose")), *units])

    def clean_due_date(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("due_date")
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError(_("Please choose a date that is not in the past."))
        return value


class MediaBreakForm(forms.Form):
    description = forms.CharField(
        label=_("Step done outside dikom"),
        max_length=300,
        help_text=_("For example: “Proof requested by post”. It is counted for the service's statistics."),
    )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=DECISIONS, widget=forms.RadioSelect)
    reasons = forms.CharField(
        label=_("Reasons"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Required for a partial approval or a rejection; they appear in the decision letter."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        outcome = data.get("outcome")
        if outcome and outcome != Case.Outcome.APPROVED and not (data.get("reasons") or "").strip():
            self.add_error("reasons", _("Please give the reasons for the decision."))
        return data
