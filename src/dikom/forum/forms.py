"""Forms of the transfer forum; all work without JavaScript."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dikom.forum.models import Category, Flag, NotificationSetting

MARKDOWN_HELP = _("You can format with Markdown (e.g. **bold**, lists with -, links). HTML is shown as text.")


class QuestionForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all())
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Your question"), max_length=20000, widget=forms.Textarea(attrs={"rows": 8}), help_text=MARKDOWN_HELP
    )
    competences = forms.MultipleChoiceField(
        label=_("Competences the question is about"), required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    clusters = forms.MultipleChoiceField(
        label=_("Competence clusters"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    services = forms.MultipleChoiceField(
        label=_("Shared online services the question is about"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    tags = forms.CharField(
        label=_("Further tags (comma-separated)"),
        max_length=300,
        required=False,
        help_text=_("For example: E-Akte, OZG"),
    )

    def __init__(
        self,
        *args: Any,
        competences: list[tuple[str, str]],
        clusters: list[tuple[str, str]] | None = None,
        services: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["competences"].choices = [(c, f"{c} {t}") for c, t in competences]  # type: ignore[attr-defined]
        self.fields["clusters"].choices = clusters or []  # type: ignore[attr-defined]
        self.fields["services"].choices = services or []  # type: ignore[attr-defined]

    def free_tags(self) -> list[str]:
        return [t for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


class AnswerForm(forms.Form):
    body = forms.CharField(
        label=_("Your answer"), max_length=20000, widget=forms.Textarea(attrs={"rows": 6}), help_text=MARKDOWN_HELP
    )


class EventForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=10000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    starts_at = forms.DateTimeField(
        label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("Ends at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    online = forms.BooleanField(label=_("Online"), required=False, initial=True)
    place = forms.CharField(label=_("Place (for in-person events)"), max_length=300, required=False)
    seats = forms.IntegerField(label=_("Seats"), min_value=1, max_value=5000)


class EditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Text"), max_length=20000, widget=forms.Textarea(attrs={"rows": 10}), help_text=MARKDOWN_HELP
    )

    def __init__(self, *args: Any, with_title: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_title:
            self.fields["title"].required = True
        else:
            del self.fields["title"]


class FlagForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=Flag.Reason.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment for the moderators"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for “Something else”."),
    )


class NotificationSettingForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("E-mail notifications"), choices=NotificationSetting.Mode.choices, widget=forms.RadioSelect
    )
