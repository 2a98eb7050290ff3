"""Case statistics for leaders: a page per city and CSV/XLSX exports with the same columns.

Who: municipality administrators, analysts and caseworkers of the city (and
platform administrators). Someone without a role in the city gets 404 (the
city's figures do not exist for them); staff of the city with another role
get 403. What the figures mean: :mod:`dikom.cases.statistics`.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from dikom.accounts.access import roles_in
from dikom.accounts.roles import Role
from dikom.cases import statistics
from dikom.lib import spreadsheet_safety
from dikom.lib.dateranges import DayField
from dikom.municipalities.models import Municipality

STATISTICS_ROLES = frozenset({Role.MUNICIPALITY_ADMIN, Role.ANALYST, Role.CASEWORKER})
MAX_PERIOD_DAYS = 3660
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def get_municipality_for_statistics(user: Any, slug: str) -> Municipality:
    """The city if ``user`` may see its case statistics: 404 without any role there, 403 with another role."""
    municipality = Municipality.objects.filter(slug=slug).first()
    if municipality is None:
        raise Http404
    if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
        return municipality
    held = roles_in(user, municipality)
    if not held:
        raise Http404
    if not held & STATISTICS_ROLES:
        raise PermissionDenied
    return municipality


class PeriodForm(forms.Form):
    PRESETS = {"30": 30, "90": 90, "365": 365}

    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        choices=[
            ("30", gettext_lazy("Last 30 days")),
            ("90", gettext_lazy("Last 90 days")),
            ("365", gettext_lazy("Last 365 days")),
            ("custom", gettext_lazy("Custom period")),
        ],
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": gettext_lazy("Please choose one of the offered periods.")},
    )
    start = DayField(
        label=gettext_lazy("From"),
        required=False,
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = DayField(
        label=gettext_lazy("To"),
        required=False,
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") != "custom":
            data["period"] = data.get("period") or "30"
            return data
        if "start" in self.errors or "end" in self.errors:
            return data
        start, end = data.get("start"), data.get("end")
        if start is None:
            self.add_error("start", _("Please enter the first day of the period."))
        if end is None:
            self.add_error("end", _("Please enter the last day of the period."))
        if start and end:
            if start > end:
                self.add_error("end", _("The last day must not be before the first day."))
            elif (end - start).days >= MAX_PERIOD_DAYS:
                self.add_error("end", _("Please choose a period of at most ten years."))
        return data

    def get_period(self, now: dt.datetime | None = None) -> statistics.Period:
        """The chosen period (call after ``is_valid()``); the last 30 days when nothing was chosen."""
        data = self.cleaned_data
        if data.get("period") == "custom":
            return statistics.Period.between(data["start"], data["end"])
        days = self.PRESETS.get(str(data.get("period") or "30"), 30)
        return statistics.Period.last_days(days, now)


def _form(request: HttpRequest) -> PeriodForm:
    return PeriodForm(request.GET or {"period": "30"})


def _figures(municipality: Municipality, period: statistics.Period) -> list[statistics.Figures]:
    return statistics.unit_statistics(
        municipality, period, no_unit_label=_("No responsible unit"), total_label=_("Total (whole city)")
    )


def _headers() -> list[str]:
    return [_(header) for _key, header in statistics.COLUMNS]


def _kind(key: str) -> str:
    if key in ("average_days", "p90_days"):
        return "days"
    return "percent" if key.endswith("_share") else "count"


def _table_row(figures: statistics.Figures) -> dict[str, Any]:
    """The page shows exactly the values the exports contain (:func:`statistics.row_values`)."""
    values = statistics.row_values(figures)
    keys = [key for key, _header in statistics.COLUMNS]
    depth = getattr(figures.unit, "depth", 0) if figures.unit is not None else 0
    return {
        "label": figures.label,
        "is_total": figures.is_total,
        "indent": "– " * depth,
        "cells": [{"value": v, "kind": _kind(k)} for k, v in zip(keys[1:], values[1:], strict=True)],
    }


@login_required
@require_GET
def statistics_page(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = get_municipality_for_statistics(request.user, slug)
    form = _form(request)
    context: dict[str, Any] = {"municipality": municipality, "form": form}
    if not form.is_valid():
        return render(request, "cases/statistics.html", context, status=400)
    period = form.get_period()
    query = request.GET.urlencode() or "period=30"
    context.update(
        period=period,
        rows=[_table_row(figures) for figures in _figures(municipality, period)],
        headers=_headers(),
        query=query,
        now=timezone.now(),
    )
    return render(request, "cases/statistics.html", context)


def _filename(municipality: Municipality, period: statistics.Period, extension: str) -> str:
    return f"statistik-{municipality.slug}-{period.first_day:%Y-%m-%d}-{period.last_day:%Y-%m-%d}.{extension}"


def _export_rows(municipality: Municipality, period: statistics.Period) -> list[list[Any]]:
    rows = []
    for figures in _figures(municipality, period):
        values = statistics.row_values(figures)
        values[0] = str(values[0])
        rows.append(values)
    return rows


def _invalid_export(form: PeriodForm) -> HttpResponse:
    messages = []
    for name, errors in form.errors.items():
        label = str(form.fields[name].label) if name in form.fields else ""
        text = " ".join(str(e) for e in errors)
        messages.append(f"{label}: {text}" if label else text)
    return HttpResponse("\n".join(messages) + "\n", status=400, content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def statistics_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """Comma-separated, UTF-8, decimal point; empty cells where a figure does not exist (no decisions)."""
    municipality = get_municipality_for_statistics(request.user, slug)
    form = _form(request)
    if not form.is_valid():
        return _invalid_export(form)
    period = form.get_period()
    buffer = io.StringIO()
    writer = spreadsheet_safety.csv_writer(buffer)
    writer.writerow(_headers())
    for values in _export_rows(municipality, period):
        writer.writerow(["" if v is None else v for v in values])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(municipality, period, "csv")}"'
    return response


@login_required
@require_GET
def statistics_xlsx(request: HttpRequest, slug: str) -> HttpResponse:
    """One sheet with the same columns as the CSV; numbers as numbers, empty cells where no figure exists."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    municipality = get_municipality_for_statistics(request.user, slug)
    form = _form(request)
    if not form.is_valid():
        return _invalid_export(form)
    period = form.get_period()
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101 - a new workbook always has one sheet
    sheet.title = _("Statistics")[:31]
    headers = _headers()
    spreadsheet_safety.append_row(sheet, headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in _export_rows(municipality, period):
        spreadsheet_safety.append_row(sheet, values)
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(12, min(len(header), 40))
    sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename(municipality, period, "xlsx")}"'
    return response
