"""Anonymous open data: the perturbed monthly and yearly usage tables of publishing cities.

Stable addresses (see ``docs/analytics.md``): an index (HTML and JSON), the
column description, ``<ags>/<YYYY>-<MM>.csv|json`` for complete past months and
``<ags>/<YYYY>.csv|json`` for complete past years. A city that does not publish
is a 404, as are incomplete months and years.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from dikom.analytics.sharing import opendata
from dikom.lib import spreadsheet_safety
from dikom.lib.dateranges import EARLIEST, LATEST

CACHE_SECONDS = 3600


def _cached(request: HttpRequest, response: HttpResponse, last_modified: datetime | None) -> HttpResponse:
    """ETag from the body, Last-Modified from the table's own publication or correction time; 304 on a match.

    Never the time of the newest rollup: that would tell when people use a city's services.
    """
    etag = '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    timestamp = int(last_modified.timestamp()) if last_modified else None
    conditional = get_conditional_response(request, etag=etag, last_modified=timestamp, response=response)
    if conditional is not None and conditional is not response:
        return conditional
    response["ETag"] = etag
    if timestamp is not None:
        response["Last-Modified"] = http_date(timestamp)
    patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    return response


def _index_data() -> dict[str, Any]:
    cities = []
    for municipality in opendata.published_municipalities():
        months = opendata.available_months(municipality)
        years = sorted({m[:4] for m in months if opendata.is_complete_year(int(m[:4]))})
        cities.append(
            {
                "ags": municipality.ags,
                "municipality": municipality.name,
                "months": [
                    {
                        "month": month,
                        "csv": reverse("analytics_opendata:month", args=[municipality.ags, month, "csv"]),
                        "json": reverse("analytics_opendata:month", args=[municipality.ags, month, "json"]),
                    }
                    for month in months
                ],
                "years": [
                    {
                        "year": year,
                        "csv": reverse("analytics_opendata:year", args=[municipality.ags, year, "csv"]),
                        "json": reverse("analytics_opendata:year", args=[municipality.ags, year, "json"]),
                    }
                    for year in years
                ],
            }
        )
    return {
        "k": opendata.k_threshold(),
        "protection": opendata.method_parameters(),
        "columns": reverse("analytics_opendata:columns_json"),
        "cities": cities,
    }


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics_sharing/opendata_index.html", _index_data() | _method_context())


@require_safe
def index_json(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(_index_data(), json_dumps_params={"ensure_ascii": False})
    return _cached(request, response, None)


def _method_context() -> dict[str, Any]:
    from dikom.analytics.sharing import cellkey

    return {
        "max_deviation": cellkey.MAX_DEVIATION,
        "variance": cellkey.VARIANCE,
        "smallest_published": cellkey.SMALLEST_PUBLISHED,
    }


def _columns() -> list[dict[str, str]]:
    return [{"name": name, "type": kind, "description": str(text)} for name, kind, text in opendata.COLUMNS]


@require_safe
def columns(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "analytics_sharing/opendata_columns.html",
        {"columns": _columns(), "k": opendata.k_threshold()} | _method_context(),
    )


@require_safe
def columns_json(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(
        {"k": opendata.k_threshold(), "protection": opendata.method_parameters(), "columns": _columns()},
        json_dumps_params={"ensure_ascii": False},
    )
    return _cached(request, response, None)


def _serve(request: HttpRequest, table: opendata.Table, fmt: str, filename: str) -> HttpResponse:
    if fmt == "json":
        body = json.dumps(
            {"metadata": table.metadata, "columns": opendata.COLUMN_NAMES, "rows": table.rows},
            ensure_ascii=False,
            indent=1,
        )
        response = HttpResponse(body.encode("utf-8"), content_type="application/json; charset=utf-8")
    else:
        buffer = io.StringIO()
        writer = spreadsheet_safety.csv_writer(buffer, lineterminator="\r\n")
        writer.writerow(opendata.COLUMN_NAMES)
        for row in table.rows:
            cells = []
            for name in opendata.COLUMN_NAMES:
                value = row[name]
                cells.append(" ".join(value) if isinstance(value, list) else "" if value is None else value)
            writer.writerow(cells)
        response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}.{fmt}"'
    response["Access-Control-Allow-Origin"] = "*"
    return _cached(request, response, table.last_modified)


@require_safe
def month_file(request: HttpRequest, ags: str, month: str, fmt: str) -> HttpResponse:
    municipality = opendata.published_municipality(ags)
    year, number = int(month[:4]), int(month[5:])
    if (
        municipality is None
        or not EARLIEST.year <= year <= LATEST.year
        or not 1 <= number <= 12
        or not opendata.is_complete_month(year, number)
    ):
        raise Http404
    table = opendata.month_table(municipality, year, number)
    return _serve(request, table, fmt, f"nutzungsstatistik-{ags}-{month}")


@require_safe
def year_file(request: HttpRequest, ags: str, year: str, fmt: str) -> HttpResponse:
    municipality = opendata.published_municipality(ags)
    if (
        municipality is None
        or not EARLIEST.year <= int(year) <= LATEST.year
        or not opendata.is_complete_year(int(year))
    ):
        raise Http404
    table = opendata.year_table(municipality, int(year))
    return _serve(request, table, fmt, f"nutzungsstatistik-{ags}-{year}")
