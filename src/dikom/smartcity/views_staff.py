"""City staff: thresholds per species or location, the bins to empty in route order, and the readings export.

Thin views: ``access`` decides (staff of this city only; others get 403, a
foreign object 404), ``actions`` changes and audit-logs, ``forms_staff``
validates, ``thresholds``/``bins``/``bin_route`` compute, and
``dikom.sensors.service.readings_export`` streams. Every page works without
JavaScript.
"""

from __future__ import annotations

import io
import uuid
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.lib.spreadsheet_safety import csv_writer
from dikom.municipalities.models import Municipality
from dikom.sensors import service as sensors
from dikom.smartcity import access, actions
from dikom.smartcity.bin_route import Route, plan
from dikom.smartcity.bins import fills_for
from dikom.smartcity.forms_staff import ReadingExportForm, RouteStartForm, ThresholdForm
from dikom.smartcity.mapping import HEIGHT, WIDTH, project
from dikom.smartcity.models import LitterBin, RouteStart, Threshold
from dikom.smartcity.thresholds import (
    DEFAULT_FULL_FROM_PERCENT,
    DEFAULT_GOOD_UP_TO_CBAR,
    DEFAULT_MODERATE_UP_TO_CBAR,
    describe,
)
from dikom.smartcity.views import _context


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "web/error.html", {"status": 403}, status=403)


@login_required
def thresholds(request: HttpRequest, city: str) -> HttpResponse:
    """The city's thresholds for the watering need and the bins, and a form to add (or replace) one."""
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return _forbidden(request)
    form = ThresholdForm(request.POST or None, city=municipality)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("tree_number", None)
        actions.save_threshold(municipality, actor=request.user, **data)
        messages.success(request, _("The threshold has been saved."))
        return redirect("smartcity:thresholds", municipality.slug)
    rules = list(Threshold.objects.filter(municipality=municipality).select_related("tree", "litter_bin"))
    for rule in rules:
        rule.description = describe(rule)  # type: ignore[attr-defined]
    return render(
        request,
        "smartcity/thresholds.html",
        _context(
            municipality,
            form=form,
            tree_rules=[r for r in rules if r.subject == Threshold.Subject.TREES],
            bin_rules=[r for r in rules if r.subject == Threshold.Subject.BINS],
            default_good=DEFAULT_GOOD_UP_TO_CBAR,
            default_moderate=DEFAULT_MODERATE_UP_TO_CBAR,
            default_full=DEFAULT_FULL_FROM_PERCENT,
        ),
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def threshold_delete(request: HttpRequest, city: str, rule: uuid.UUID) -> HttpResponse:
    municipality = access.get_city(city)
    obj = access.get_threshold_for_staff(request.user, municipality, rule)
    actions.delete_threshold(obj, actor=request.user)
    messages.success(request, _("The threshold has been deleted; the default applies again."))
    return redirect("smartcity:thresholds", municipality.slug)


def _route(municipality: Municipality) -> tuple[Route, RouteStart | None, int, int]:
    """The round through the bins that need emptying; also the numbers of bins and of bins without a reading."""
    bins: list[Any] = list(LitterBin.objects.filter(municipality=municipality))
    fills = fills_for(bins)
    due = []
    for bin_ in bins:
        bin_.fill = fills.get(bin_.pk)
        if bin_.fill is not None and bin_.fill.needs_emptying:
            due.append(bin_)
    start = RouteStart.objects.filter(municipality=municipality).first()
    route = plan(due, (start.longitude, start.latitude) if start else None)
    return route, start, len(bins), sum(1 for b in bins if b.fill is None)


@login_required
def bin_route(request: HttpRequest, city: str) -> HttpResponse:
    """Staff: the bins at or above their "needs emptying" level, in route order, with the round's length."""
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return _forbidden(request)
    start_obj = RouteStart.objects.filter(municipality=municipality).first()
    form = RouteStartForm(request.POST or None, instance=start_obj)
    if request.method == "POST" and form.is_valid():
        actions.set_route_start(municipality, actor=request.user, **form.cleaned_data)
        messages.success(request, _("The start of the round has been saved."))
        return redirect("smartcity:bin_route", municipality.slug)
    route, start, total_bins, unknown = _route(municipality)
    markers: list[Any] = [s.item for s in route.stops]
    if start is not None:
        markers = [start, *markers]
    points = project(markers)
    stop_points = points[1:] if start is not None else points
    line = " ".join(f"{p.x},{p.y}" for p in points)
    if start is not None and points:
        line += f" {points[0].x},{points[0].y}"
    return render(
        request,
        "smartcity/bin_route.html",
        _context(
            municipality,
            form=form,
            route=route,
            start=start,
            total_km=route.total_m / 1000,
            total_bins=total_bins,
            unknown=unknown,
            start_point=points[0] if start is not None and points else None,
            stop_points=list(zip(stop_points, range(1, len(stop_points) + 1), strict=True)),
            line=line,
            map_width=WIDTH,
            map_height=HEIGHT,
            now=timezone.now(),
        ),
        status=400 if form.is_bound else 200,
    )


def _route_name(municipality: Municipality) -> str:
    return f"leerungstour-{municipality.slug}-{timezone.localdate():%Y-%m-%d}"


@login_required
def bin_route_csv(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return _forbidden(request)
    route, start, _total, _unknown = _route(municipality)
    buffer = io.StringIO()
    writer = csv_writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Halt", "Behälter", "Straße", "Füllstand (%)", "Breite", "Länge", "Strecke (m)", "Gesamt (m)"])
    if start is not None:
        writer.writerow([0, start.name, "", "", start.latitude, start.longitude, 0, 0])
    for number, stop in enumerate(route.stops, 1):
        bin_ = stop.item
        writer.writerow(
            [
                number,
                bin_.name,
                bin_.street,
                bin_.fill.percent,
                bin_.latitude,
                bin_.longitude,
                round(stop.leg_m),
                round(stop.cumulative_m),
            ]
        )
    if start is not None:
        writer.writerow(
            ["", start.name, "", "", start.latitude, start.longitude, round(route.return_m), round(route.total_m)]
        )
    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_route_name(municipality)}.csv"'
    return response


@login_required
def bin_route_gpx(request: HttpRequest, city: str) -> HttpResponse:
    """The round as GPX 1.1: the stops as waypoints and a route in order (for navigation devices and apps)."""
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return _forbidden(request)
    route, start, _total, _unknown = _route(municipality)
    points: list[tuple[str, float, float]] = [(s.item.name, s.item.latitude, s.item.longitude) for s in route.stops]
    if start is not None:
        points = [(start.name, start.latitude, start.longitude), *points, (start.name, start.latitude, start.longitude)]
    name = escape(_("Emptying round %(city)s") % {"city": municipality.name})
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<gpx version="1.1" creator="dikom" xmlns="http://www.topografix.com/GPX/1/1">\n',
        f"<metadata><name>{name}</name><time>{timezone.now().isoformat(timespec='seconds')}</time></metadata>\n",
    ]
    for label, lat, lon in points[1:-1] if start is not None else points:
        parts.append(f'<wpt lat="{lat}" lon="{lon}"><name>{escape(label)}</name></wpt>\n')
    parts.append(f"<rte><name>{name}</name>\n")
    for label, lat, lon in points:
        parts.append(
            f"<rtept lat={quoteattr(str(lat))} lon={quoteattr(str(lon))}><name>{escape(label)}</name></rtept>\n"
        )
    parts.append("</rte>\n</gpx>\n")
    response = HttpResponse("".join(parts).encode("utf-8"), content_type="application/gpx+xml")
    response["Content-Disposition"] = f'attachment; filename="{_route_name(municipality)}.gpx"'
    return response


@login_required
def readings_export(request: HttpRequest, city: str) -> HttpResponseBase:
    """Staff export their city's readings: the form, and with ``download`` the streamed CSV or JSON file."""
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return _forbidden(request)
    bound = "download" in request.GET
    form = ReadingExportForm(request.GET if bound else None, city=municipality)
    if bound and form.is_valid():
        data = form.cleaned_data
        start, end = form.period()
        count, chunks = sensors.readings_export(
            municipality, data["datastream_ids"], start, end, data["fmt"], data["decimal_comma"]
        )
        from dikom.audit.actions import record

        record(
            "sensors.readings_exported",
            request=request,
            municipality=municipality,
            changes={
                "datastreams": data["datastream_ids"],
                "from": data["start"].isoformat(),
                "until": data["end"].isoformat(),
                "format": data["fmt"],
            },
        )
        fmt = data["fmt"]
        response = StreamingHttpResponse(
            chunks,
            content_type="application/json; charset=utf-8" if fmt == "json" else "text/csv; charset=utf-8",
        )
        name = f"messwerte-{municipality.slug}-{data['start']:%Y%m%d}-{data['end']:%Y%m%d}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["X-Datastreams"] = str(count)
        return response
    return render(
        request,
        "smartcity/readings_export.html",
        _context(municipality, form=form),
        status=400 if bound else 200,
    )
