from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dikom.analytics.figures.models import Metric
from dikom.analytics.figures.parsing import CellError, parse_month
from dikom.analytics.models import Service

ACCEPT = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        help_text=_(
            "Columns: month (Monat), service (Dienst) and/or leika (LeiKa), metric (Kennzahl), value (Wert); "
            "optionally count (Anzahl) of observations behind an average."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )


class MonthField(forms.CharField):
    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if not value:
            return None
        try:
            return parse_month(value)
        except CellError as exc:
            raise forms.ValidationError(str(exc)) from exc


class FigureFilterForm(forms.Form):
    start = MonthField(label=_("From month"), required=False, help_text=_("e.g. 2026-01"))
    end = MonthField(label=_("To month"), required=False, help_text=_("e.g. 2026-12"))
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.none(), required=False, to_field_name="uuid"
    )
    metric = forms.ChoiceField(label=_("Metric"), choices=[("", _("All metrics")), *Metric.choices], required=False)
    source = forms.ChoiceField(
        label=_("Source"),
        choices=[
            ("", _("All sources")),
            ("upload", _("File upload")),
            ("api", _("API")),
            ("cases", _("Case processing")),
        ],
        required=False,
    )

    def __init__(self, *args: Any, municipality: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(municipality=municipality).order_by("name")  # type: ignore[attr-defined]
