"""Staff pages for aggregated figures: upload, preview, apply or discard, and the table of stored figures.

Thin: ``access.py`` decides who may (403 for a city where the user is neither
analyst nor administrator, 404 for another city's upload), ``actions.py`` changes state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dikom.analytics.figures import access, actions
from dikom.analytics.figures.forms import FigureFilterForm, UploadForm
from dikom.analytics.figures.models import METRIC_RULES, FigureUpload, Metric, MonthlyFigure
from dikom.analytics.figures.parsing import max_upload_bytes
from dikom.analytics.figures.preview import Preview
from dikom.lib import spreadsheet_safety
from dikom.municipalities.models import Municipality

PAGE_SIZE = 100
SHOWN_CHANGES = 1000
SHOWN_ERRORS = 500


def _render(request: HttpRequest, template: str, municipality: Municipality, **context: Any) -> HttpResponse:
    status = context.pop("status", 200)
    context["municipality"] = municipality
    context.setdefault("section", "figures" if template == "figures.html" else "uploads")
    context["metrics"] = Metric.choices
    return render(request, f"analytics_figures/{template}", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest, slug: str) -> HttpResponse:
    """The upload form and the city's uploads."""
    municipality = access.get_figures_municipality(request.user, slug)
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        upload_file = request.FILES.get("file")
        if upload_file is not None and upload_file.size is not None and upload_file.size > max_upload_bytes():
            form.is_valid()
            form.add_error(
                "file", _("The file is larger than %(mb)s MB.") % {"mb": round(max_upload_bytes() / 1024 / 1024, 1)}
            )
            status = 413
        elif form.is_valid():
            uploaded = form.cleaned_data["file"]
            upload = actions.create_upload(
                municipality=municipality, actor=request.user, file_name=uploaded.name or "", data=uploaded.read()
            )
            return redirect("analytics_figures:upload", slug=municipality.slug, upload_uuid=upload.uuid)
        else:
            status = 400
    uploads = FigureUpload.objects.filter(municipality=municipality).select_related("uploaded_by")[:50]
    return _render(request, "index.html", municipality, form=form, uploads=uploads, status=status)


def _preview_context(upload: FigureUpload) -> dict[str, Any]:
    preview: Preview | None = None
    if upload.status in (FigureUpload.Status.PREVIEW, FigureUpload.Status.APPLIED) and upload.rows:
        preview = actions.preview_upload(upload)
    errors = list(upload.errors)
    if preview is not None and upload.status == FigureUpload.Status.PREVIEW:
        errors += preview.duplicate_errors
        errors.sort(key=lambda e: e["row"])
    skipped_rows = len({e["row"] for e in errors if e["row"]})
    changes = [c for c in preview.changes if c.kind != "unchanged"] if preview else []
    return {
        "upload": upload,
        "preview": preview,
        "errors": errors[:SHOWN_ERRORS],
        "more_errors": max(0, len(errors) - SHOWN_ERRORS),
        "skipped_rows": skipped_rows,
        "changes": changes[:SHOWN_CHANGES],
        "more_changes": max(0, len(changes) - SHOWN_CHANGES),
        "units": {metric: rule.unit for metric, rule in METRIC_RULES.items()},
    }


@login_required
def upload_detail(request: HttpRequest, slug: str, upload_uuid: str) -> HttpResponse:
    """The preview of an upload: errors per row, and what applying would change."""
    municipality = access.get_figures_municipality(request.user, slug)
    upload = access.get_upload(municipality, upload_uuid)
    return _render(request, "upload.html", municipality, **_preview_context(upload))


@login_required
@require_POST
def upload_apply(request: HttpRequest, slug: str, upload_uuid: str) -> HttpResponse:
    municipality = access.get_figures_municipality(request.user, slug)
    upload = access.get_upload(municipality, upload_uuid)
    try:
        result = actions.apply_upload(
            upload, actor=request.user, expected_fingerprint=request.POST.get("fingerprint", "")
        )
    except actions.StalePreview as exc:
        # Refused, and the page shows the recomputed preview to check again.
        upload.refresh_from_db()
        return _render(request, "upload.html", municipality, stale=exc.message, status=409, **_preview_context(upload))
    except actions.FiguresError as exc:
        messages.error(request, exc.message)
        return redirect("analytics_figures:upload", slug=municipality.slug, upload_uuid=upload.uuid)
    if result.applied:
        messages.success(request, _("The figures were applied."))
    else:
        messages.info(request, _("This upload had already been applied; nothing was changed."))
    return redirect("analytics_figures:upload", slug=municipality.slug, upload_uuid=upload.uuid)


@login_required
@require_POST
def upload_discard(request: HttpRequest, slug: str, upload_uuid: str) -> HttpResponse:
    municipality = access.get_figures_municipality(request.user, slug)
    upload = access.get_upload(municipality, upload_uuid)
    try:
        actions.discard_upload(upload, actor=request.user)
    except actions.FiguresError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The upload was discarded; no figures were changed."))
    return redirect("analytics_figures:index", slug=municipality.slug)


def _filtered(municipality: Municipality, form: FigureFilterForm) -> QuerySet[MonthlyFigure]:
    figures = MonthlyFigure.objects.filter(municipality=municipality).select_related("service")
    if form.is_valid():
        data = form.cleaned_data
        if data.get("start"):
            figures = figures.filter(month__gte=data["start"])
        if data.get("end"):
            figures = figures.filter(month__lte=data["end"])
        if data.get("service"):
            figures = figures.filter(service=data["service"])
        if data.get("metric"):
            figures = figures.filter(metric=data["metric"])
        if data.get("source"):
            figures = figures.filter(source=data["source"])
    return figures.order_by("-month", "service__name", "service_key", "leika_key", "metric", "source")


@login_required
def figure_list(request: HttpRequest, slug: str) -> HttpResponseBase:
    """Stored figures, filterable by month range, service, metric and source; ``?format=csv`` exports them."""
    municipality = access.get_figures_municipality(request.user, slug)
    form = FigureFilterForm(request.GET or None, municipality=municipality)
    invalid = form.is_bound and not form.is_valid()
    if invalid:
        return _render(request, "figures.html", municipality, form=form, page=None, status=400)
    figures = _filtered(municipality, form)
    if request.GET.get("format") == "csv":
        return _csv(municipality, figures)
    page = Paginator(figures, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, "figures.html", municipality, form=form, page=page)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(municipality: Municipality, figures: QuerySet[MonthlyFigure]) -> StreamingHttpResponse:
    writer = spreadsheet_safety.csv_writer(_Echo(), delimiter=";")

    def rows() -> Iterator[str]:
        yield "\ufeff"  # Excel opens UTF-8 with a BOM correctly
        yield writer.writerow(
            ["month", "service", "service_name", "leika", "metric", "value", "observations", "source"]
        )
        for figure in figures.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    f"{figure.month:%Y-%m}",
                    figure.service.external_key if figure.service else figure.service_key,
                    figure.service.name if figure.service else "",
                    figure.leika_key or (figure.service.leika_key if figure.service else ""),
                    figure.metric,
                    figure.plain_value.replace(".", ","),
                    "" if figure.observations is None else figure.observations,
                    figure.source,
                ]
            )

    filename = f"kennzahlen-{municipality.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response
