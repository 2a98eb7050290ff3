"""Forms of roadMAP; all work without JavaScript."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from dikom.competences import exchange
from dikom.competences.models import CitySettings, FrameworkVersion


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
