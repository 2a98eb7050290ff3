"""Imports by city staff: the tree inventory (Baumkataster, with progress and report) and the DWD rain series.

Thin views: the permission check is ``access.can_manage``, the work is in
``inventory_import``. The progress page reloads itself every few seconds with
a ``<meta http-equiv="refresh">`` while the task worker reads the file, so it
needs no JavaScript.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from dikom.smartcity import access, actions, inventory_import
from dikom.smartcity.actions import Refused
from dikom.smartcity.models import RainDay, TreeImport
from dikom.smartcity.rain import MAX_FILE_BYTES as MAX_RAIN_FILE_BYTES
from dikom.smartcity.rain import RainUnreadable
from dikom.web.branding import brand_for


class InventoryForm(forms.Form):
    file = forms.FileField(
        label=_("Tree inventory file"),
        help_text=_(
            "CSV (separated by semicolons or commas, UTF-8 or Windows-1252) or GeoJSON, with a column for the tree "
            "number and coordinates (WGS 84 or UTM zone 32), and optionally species, planting year, street and "
            "district."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.geojson,.json"}),
    )


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "web/error.html", {"status": 403}, status=403)


@login_required
def tree_import(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return _forbidden(request)
    form = InventoryForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = inventory_import.start_import(municipality, request.user, form.cleaned_data["file"])
        except Refused as refusal:
            form.add_error("file", str(refusal))
        else:
            return redirect("smartcity:tree_import_status", municipality.slug, job.uuid)
    return render(
        request,
        "smartcity/tree_import.html",
        {
            "city": municipality,
            "brand": brand_for(municipality.brand_colour),
            "tab": "trees",
            "form": form,
            "imports": TreeImport.objects.filter(municipality=municipality)[:10],
            "max_rows": inventory_import.max_rows(),
            "max_mb": inventory_import.max_bytes() // (1024 * 1024),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def tree_import_status(request: HttpRequest, city: str, job: uuid.UUID) -> HttpResponse:
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        raise Http404
    found = get_object_or_404(TreeImport, municipality=municipality, uuid=job)
    return render(
        request,
        "smartcity/tree_import_status.html",
        {
            "city": municipality,
            "brand": brand_for(municipality.brand_colour),
            "tab": "trees",
            "job": found,
            "running": found.status in (TreeImport.Status.WAITING, TreeImport.Status.RUNNING),
            "more_rejected": max(found.rejected_count - len(found.rejected), 0),
        },
    )


class RainForm(forms.Form):
    file = forms.FileField(
        label=_("DWD daily values"),
        help_text=_(
            "The product file produkt_klima_tag_….txt (or produkt_nieder_tag_….txt) of the weather station nearest to "
            "the city, or the ZIP file as downloaded from the DWD's Climate Data Center."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.zip"}),
    )


RAIN_DAYS_SHOWN = 60


def rain(request: HttpRequest, city: str) -> HttpResponse:
    """The city's daily rain series (the last 60 days), on which the watering need model is based."""
    municipality = access.get_city(city)
    today = timezone.localdate()
    days = list(
        RainDay.objects.filter(
            municipality=municipality, day__gt=today - dt.timedelta(days=RAIN_DAYS_SHOWN), day__lte=today
        ).order_by("-day")
    )
    last_30 = sum(d.millimetres for d in days if d.day > today - dt.timedelta(days=30))
    return render(
        request,
        "smartcity/rain.html",
        {
            "city": municipality,
            "brand": brand_for(municipality.brand_colour),
            "tab": "trees",
            "days": days,
            "last_30": last_30,
            "can_manage": access.can_manage(request.user, municipality),
        },
    )


@login_required
def rain_import(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return _forbidden(request)
    form = RainForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_RAIN_FILE_BYTES:
            form.add_error("file", gettext("The file is larger than 20 MB."))
        else:
            try:
                result = actions.import_rain(municipality, upload.read(), request.user)
            except RainUnreadable as error:
                form.add_error("file", error.message)
    return render(
        request,
        "smartcity/rain_import.html",
        {
            "city": municipality,
            "brand": brand_for(municipality.brand_colour),
            "tab": "trees",
            "form": form,
            "result": result,
        },
        status=400 if form.is_bound and form.errors else 200,
    )
