"""Browser forms of the city's data publishers; they produce CKAN package dictionaries for actions.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dikom.opendata import vocab
from dikom.opendata.models import Dataset

# Form field → the key actions.InvalidData reports for it.
ERROR_KEYS = {
    "name": "name",
    "title": "title",
    "notes": "notes",
    "license_id": "license_id",
    "keywords": "tags",
    "themes": "groups",
    "contact_name": "maintainer",
    "contact_email": "maintainer_email",
    "landing_page": "url",
    "version": "version",
    "frequency": "frequency",
    "temporal_start": "temporal_start",
    "temporal_end": "temporal_end",
    "version_notes": "version_notes",
}


class DatasetForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=300)
    name = forms.SlugField(
        label=_("short name in addresses"),
        max_length=100,
        help_text=_("2–100 lower-case letters, digits, - and _ (e.g. baumkataster-2024)."),
    )
    notes = forms.CharField(label=_("description (Markdown)"), widget=forms.Textarea(attrs={"rows": 6}), required=False)
    keywords = forms.CharField(
        label=_("keywords"), required=False, help_text=_("Separated by commas, e.g. Bäume, Umwelt, Stadtgrün.")
    )
    themes = forms.MultipleChoiceField(
        label=_("themes"), required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    license_id = forms.ChoiceField(label=_("licence"), choices=())
    contact_name = forms.CharField(label=_("contact point"), max_length=200, required=False)
    contact_email = forms.EmailField(label=_("contact e-mail"), required=False)
    frequency = forms.ChoiceField(label=_("update frequency"), required=False, choices=())
    temporal_start = forms.DateField(
        label=_("covers from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    temporal_end = forms.DateField(
        label=_("covers until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    landing_page = forms.URLField(label=_("landing page"), required=False, assume_scheme="https")
    version = forms.CharField(label=_("version"), max_length=60, required=False)
    version_notes = forms.CharField(label=_("version notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: dict[str, list[tuple[str, Any]]] = {
            "themes": [(code.lower(), label) for code, label in vocab.THEMES.items()],
            "license_id": [(lic.id, lic.title) for lic in vocab.licences().values()],
            "frequency": [("", "—"), *vocab.FREQUENCIES.items()],
        }
        for name, options in choices.items():
            field = self.fields[name]
            if isinstance(field, forms.ChoiceField):
                field.choices = options

    @classmethod
    def initial_for(cls, dataset: Dataset) -> dict[str, Any]:
        return {
            "title": dataset.title,
            "name": dataset.name,
            "notes": dataset.notes,
            "keywords": ", ".join(dataset.tags.values_list("name", flat=True)),
            "themes": [code.lower() for code in dataset.theme_codes],
            "license_id": dataset.license_id,
            "contact_name": dataset.contact_name,
            "contact_email": dataset.contact_email,
            "frequency": dataset.frequency,
            "temporal_start": dataset.temporal_start,
            "temporal_end": dataset.temporal_end,
            "landing_page": dataset.landing_page,
            "version": dataset.version,
            "version_notes": dataset.version_notes,
        }

    def package(self, dataset: Dataset | None = None) -> dict[str, Any]:
        data = self.cleaned_data
        extras = dict(dataset.extras) if dataset else {}
        for key in ("frequency", "temporal_start", "temporal_end", "version_notes"):
            value = data.get(key)
            if isinstance(value, date):
                extras[key] = value.isoformat()
            else:
                extras[key] = str(value or "")
        if dataset is not None:
            extras.setdefault("spatial_ags", dataset.spatial_ags)
        return {
            "name": data["name"],
            "title": data["title"],
            "notes": data["notes"],
            "license_id": data["license_id"],
            "tags": [{"name": t.strip()} for t in data["keywords"].split(",") if t.strip()],
            "groups": [{"name": code} for code in data["themes"]],
            "maintainer": data["contact_name"],
            "maintainer_email": data["contact_email"],
            "url": data["landing_page"],
            "version": data["version"],
            "extras": [{"key": k, "value": v} for k, v in extras.items() if v],
        }

    def add_action_errors(self, errors: dict[str, list[str]]) -> None:
        reverse = {value: key for key, value in ERROR_KEYS.items()}
        for key, messages in errors.items():
            field = reverse.get(key)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class ResourceForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=300, required=False)
    url = forms.URLField(label=_("address"), required=False, assume_scheme="https", max_length=1000)
    upload = forms.FileField(label=_("file"), required=False)
    format = forms.CharField(
        label=_("format"),
        max_length=30,
        required=False,
        help_text=_("From the EU file-type list, e.g. CSV, XLSX, GEOJSON."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Shown on the same page as the dataset form, which has a "name" too: distinct ids keep labels right.
        kwargs.setdefault("auto_id", "id_resource_%s")
        super().__init__(*args, **kwargs)
