"""Forms of roadMAP; all work without JavaScript."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from dikom.competences import exchange
from dikom.competences.models import CitySettings, Cluster, FrameworkVersion, Training


def level_choices(version: FrameworkVersion, language: str) -> list[tuple[int, str]]:
    choices = []
    for level in version.levels:
        title = level["title"].get(language) or level["title"]["de"]
        descriptor = level["descriptor"].get(language) or level["descriptor"]["de"]
        choices.append((level["value"], f"{level['value']} – {title}: {descriptor}" if descriptor else title))
    return choices


class SelfAssessmentForm(forms.Form):
    """One radio group per required competence; the labels carry the level descriptors."""

    def __init__(
        self,
        *args: Any,
        version: FrameworkVersion,
        competences: list[tuple[str, str]],
        initial_levels: dict[str, int],
        language: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = level_choices(version, language)
        for code, title in competences:
            self.fields[f"level_{code}"] = forms.TypedChoiceField(
                label=f"{code} {title}",
                choices=choices,
                coerce=int,
                widget=forms.RadioSelect,
                initial=initial_levels.get(code),
                error_messages={"required": _("Please choose a level for this competence.")},
            )

    def levels(self) -> dict[str, int]:
        return {name.removeprefix("level_"): value for name, value in self.cleaned_data.items()}


class ReviewForm(forms.Form):
    level = forms.TypedChoiceField(label=_("Confirmed level"), coerce=int, choices=[])
    comment = forms.CharField(label=_("Comment (optional)"), max_length=500, required=False)

    def __init__(self, *args: Any, version: FrameworkVersion, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = [(v, f"{v}") for v, _label in level_choices(version, language)]  # type: ignore[attr-defined]


class EvidenceForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    file = forms.FileField(
        label=_("Certificate (PDF, PNG or JPEG, at most 5 MB)"),
        required=False,
    )


class FrameworkImportForm(forms.Form):
    file = forms.FileField(label=_("Framework file (.json or .csv)"))

    def clean_file(self) -> dict[str, Any]:
        upload = self.cleaned_data["file"]
        if upload.size > exchange.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(limit)d KB).") % {"limit": exchange.MAX_BYTES // 1000}
            )
        try:
            return exchange.parse_upload(str(upload.name), upload.read(exchange.MAX_BYTES + 1))
        except exchange.FrameworkFormatError as exc:
            raise forms.ValidationError(str(exc)) from exc


# Longest retention and review interval a city may set: ten years. Without a bound a huge number
# overflows the date arithmetic of the reminders and of the retention task (for every city).
MAX_SETTING_DAYS = 3660


class CitySettingsForm(forms.ModelForm):
    class Meta:
        model = CitySettings
        fields = ["compare_across_cities", "retention_days", "review_interval_days"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, minimum in (("retention_days", 0), ("review_interval_days", 1)):
            field = self.fields[name]
            field.min_value, field.max_value = minimum, MAX_SETTING_DAYS  # type: ignore[attr-defined]
            field.validators += [MinValueValidator(minimum), MaxValueValidator(MAX_SETTING_DAYS)]
            field.widget.attrs.update({"min": minimum, "max": MAX_SETTING_DAYS})


class TrainingForm(forms.Form):
    """A training for the catalogue; up to three competences with the level each builds."""

    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    provider = forms.CharField(label=_("Provider"), max_length=200, required=False)
    format = forms.ChoiceField(label=_("Format"), choices=Training.Format.choices)
    place = forms.CharField(label=_("Place (for in-person trainings)"), max_length=300, required=False)
    starts_at = forms.DateTimeField(
        label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("Ends at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    seats = forms.IntegerField(label=_("Seats"), min_value=1, max_value=1000)

    TARGET_ROWS = 3

    def __init__(self, *args: Any, version: FrameworkVersion, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        competences = [("", _("– none –"))] + [
            (c["code"], f"{c['code']} {c['title'].get(language) or c['title']['de']}") for c in version.competences()
        ]
        levels = [("", "–")] + [(v, str(v)) for v, _label in level_choices(version, language)]
        for i in range(1, self.TARGET_ROWS + 1):
            self.fields[f"competence_{i}"] = forms.ChoiceField(
                label=_("Competence %(n)d") % {"n": i}, choices=competences, required=i == 1
            )
            self.fields[f"level_{i}"] = forms.TypedChoiceField(
                label=_("Target level %(n)d") % {"n": i}, choices=levels, coerce=int, required=i == 1, empty_value=None
            )

    def targets(self) -> dict[str, int]:
        result = {}
        for i in range(1, self.TARGET_ROWS + 1):
            code, level = self.cleaned_data.get(f"competence_{i}"), self.cleaned_data.get(f"level_{i}")
            if code and level:
                result[code] = level
        return result

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for i in range(1, self.TARGET_ROWS + 1):
            if bool(cleaned.get(f"competence_{i}")) != bool(cleaned.get(f"level_{i}")):
                self.add_error(f"level_{i}", _("Please choose a competence and its target level together."))
        return cleaned


class ExpertForm(forms.Form):
    competences = forms.MultipleChoiceField(
        label=_("Competences I can help with"), required=False, widget=forms.CheckboxSelectMultiple
    )
    clusters = forms.ModelMultipleChoiceField(
        label=_("Clusters"), queryset=Cluster.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    availability = forms.CharField(
        label=_("When and how colleagues can reach me"),
        max_length=300,
        required=False,
        help_text=_("For example: Tuesdays and Thursdays, by e-mail."),
    )
    unavailable_until = forms.DateField(
        label=_("Not available until (e.g. holidays)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Until this day colleagues see that you are away and cannot send you a request."),
    )
    share_email = forms.BooleanField(
        label=_("Show my e-mail address to staff of other cities"),
        required=False,
        help_text=_("Otherwise they reach you through a contact form; your address stays hidden."),
    )

    def __init__(self, *args: Any, version: FrameworkVersion, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["competences"].choices = [  # type: ignore[attr-defined]
            (c["code"], f"{c['code']} {c['title'].get(language) or c['title']['de']}") for c in version.competences()
        ]


class DocumentForm(forms.Form):
    """A new document of a cluster's library, with its first version."""

    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    file = forms.FileField(label=_("File (PDF, office document, image or text)"))


class DocumentVersionForm(forms.Form):
    note = forms.CharField(label=_("What changed?"), max_length=500)
    file = forms.FileField(label=_("New version (file)"))


class ExpertContactForm(forms.Form):
    message = forms.CharField(
        label=_("Your question or request"), max_length=2000, widget=forms.Textarea(attrs={"rows": 6})
    )
