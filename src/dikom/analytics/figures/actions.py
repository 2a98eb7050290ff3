"""The only code that changes aggregated figures: uploads, applying, discarding, API rows, case-fed metrics."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.analytics.figures.models import METRIC_RULES, FigureSource, FigureUpload, Metric, MonthlyFigure
from dikom.analytics.figures.parsing import FileRejected, read_file
from dikom.analytics.figures.preview import Preview, compute_preview
from dikom.analytics.figures.rows import FigureRow, clean_row
from dikom.analytics.models import Service
from dikom.audit.actions import record
from dikom.municipalities.models import Municipality

AVERAGE_PLACES = Decimal("0.0001")


class FiguresError(Exception):
    """An apply or discard that cannot be done; ``message`` says why (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StalePreview(FiguresError):
    """The stored figures of the upload's months changed after the preview was shown."""


@dataclass
class ApplyResult:
    preview: Preview
    applied: bool  # False when the upload had been applied before (nothing done again)


# --- uploads ------------------------------------------------------------------------------------


def inline_bytes() -> int:
    return int(getattr(settings, "DIKOM_ANALYTICS_FIGURES_INLINE_BYTES", 256 * 1024))


def create_upload(*, municipality: Municipality, actor: Any, file_name: str, data: bytes) -> FigureUpload:
    """Keep an uploaded file as a preview (or as failed, with the reason). Nothing is applied yet.

    A small file is read at once, so the person sees the preview on the next
    page. A larger one is stored as ``processing`` and read by the task worker
    (``tasks.read_figure_upload``): one request never holds a server thread
    for the time a large workbook takes, and its page shows the progress.
    """
    upload = FigureUpload(
        municipality=municipality,
        file_name=file_name[:255],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if len(data) > inline_bytes():
        from dikom.analytics.figures.tasks import read_figure_upload

        upload.status = FigureUpload.Status.PROCESSING
        upload.pending_data = data
        with transaction.atomic():
            upload.save()
            upload_id = upload.pk
            transaction.on_commit(lambda: read_figure_upload.enqueue(upload_id))
        return upload
    _read_into(upload, data)
    upload.save()
    return upload


def read_pending_upload(upload_id: int) -> None:
    """Read a ``processing`` upload's file (the task worker's part); does nothing for any other state."""
    upload = FigureUpload.objects.filter(pk=upload_id, status=FigureUpload.Status.PROCESSING).first()
    if upload is None or upload.pending_data is None:
        return
    data = bytes(upload.pending_data)

    def progress(rows: int) -> None:
        FigureUpload.objects.filter(pk=upload_id).update(rows_read=rows)

    _read_into(upload, data, progress)
    upload.pending_data = None
    upload.rows_read = len(upload.rows)
    # Only if still processing: a discard while the file was read wins.
    FigureUpload.objects.filter(pk=upload_id, status=FigureUpload.Status.PROCESSING).update(
        status=upload.status,
        rows=upload.rows,
        errors=upload.errors,
        ignored_columns=upload.ignored_columns,
        pending_data=None,
        rows_read=upload.rows_read,
        updated_at=timezone.now(),
    )
    FigureUpload.objects.filter(pk=upload_id, pending_data__isnull=False).update(pending_data=None)


def _read_into(upload: FigureUpload, data: bytes, progress: Callable[[int], None] | None = None) -> None:
    """Parse ``data`` and set the upload's status, rows, errors and ignored columns (not saved)."""
    try:
        parsed = read_file(upload.file_name, data, progress)
    except FileRejected as exc:
        upload.status = FigureUpload.Status.FAILED
        upload.errors = [{"row": 0, "column": "", "message": exc.message}]
        return
    today = timezone.localdate()
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for raw in parsed.rows:
        if raw.formula_columns:
            errors.extend(
                {
                    "row": raw.number,
                    "column": column,
                    "message": _("The cell contains a formula; save the sheet with values only (paste as values)."),
                }
                for column in raw.formula_columns
            )
            continue
        result = clean_row(raw.cells, decimal_comma=parsed.decimal_comma, today=today)
        if isinstance(result, FigureRow):
            rows.append(result.as_json(raw.number))
        else:
            errors.extend({"row": raw.number, "column": column, "message": message} for column, message in result)
    upload.status = FigureUpload.Status.PREVIEW
    upload.rows = rows
    upload.errors = errors
    upload.ignored_columns = parsed.ignored_columns
    if not rows and not errors:
        upload.status = FigureUpload.Status.FAILED
        upload.errors = [{"row": 0, "column": "", "message": _("The file has a header but no data rows.")}]


def upload_rows(upload: FigureUpload) -> list[tuple[int, FigureRow]]:
    return [(item["row"], FigureRow.from_json(item)) for item in upload.rows]


def preview_upload(upload: FigureUpload) -> Preview:
    return compute_preview(upload.municipality, FigureSource.UPLOAD, upload_rows(upload))


def apply_upload(upload: FigureUpload, *, actor: Any, expected_fingerprint: str | None) -> ApplyResult:
    """Replace the stored upload figures of every month in the file by the file's rows.

    Idempotent: an upload applied before is not applied again. ``expected_fingerprint``
    is the one of the preview the person saw; when the stored figures of those
    months changed since (another upload), ``StalePreview`` is raised and nothing changes.
    """
    with transaction.atomic():
        # One apply per city at a time: the month replacement reads, then deletes and inserts.
        Municipality.objects.select_for_update().filter(pk=upload.municipality_id).first()
        locked = FigureUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.status == FigureUpload.Status.APPLIED:
            return ApplyResult(preview_upload(locked), applied=False)
        if locked.status != FigureUpload.Status.PREVIEW:
            raise FiguresError(_("This upload was discarded or failed; it cannot be applied."))
        if not locked.rows:
            raise FiguresError(_("The upload has no valid rows to apply."))
        preview = preview_upload(locked)
        if expected_fingerprint is not None and expected_fingerprint != preview.fingerprint:
            raise StalePreview(
                _(
                    "The stored figures of these months changed after this preview was shown (another upload was "
                    "applied). Nothing was changed; please check the updated preview and apply again."
                )
            )
        _replace_months(upload.municipality, FigureSource.UPLOAD, preview, upload=locked)
        locked.status = FigureUpload.Status.APPLIED
        locked.applied_at = timezone.now()
        locked.applied_summary = preview.totals
        locked.save(update_fields=["status", "applied_at", "applied_summary", "updated_at"])
        record(
            "analytics.figures.upload_apply",
            actor=actor,
            municipality=upload.municipality,
            obj=locked,
            changes={"file": locked.file_name, "months": [f"{m:%Y-%m}" for m in preview.months], **preview.totals},
        )
    upload.refresh_from_db()
    return ApplyResult(preview, applied=True)


def discard_upload(upload: FigureUpload, *, actor: Any) -> None:
    with transaction.atomic():
        locked = FigureUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.status == FigureUpload.Status.DISCARDED:
            return
        if locked.status == FigureUpload.Status.APPLIED:
            raise FiguresError(_("This upload has been applied; upload a corrected file to replace its months."))
        locked.status = FigureUpload.Status.DISCARDED
        locked.pending_data = None
        locked.save(update_fields=["status", "pending_data", "updated_at"])
        record("analytics.figures.upload_discard", actor=actor, municipality=upload.municipality, obj=locked)
    upload.refresh_from_db()


# --- API rows -----------------------------------------------------------------------------------


def submit_rows(
    *,
    municipality: Municipality,
    rows: Sequence[tuple[int, FigureRow]],
    dry_run: bool,
    actor: Any = None,
    api_key: Any = None,
) -> Preview:
    """Preview (``dry_run``) or apply rows sent through the API (source ``api``), replacing their months."""
    if dry_run:
        return compute_preview(municipality, FigureSource.API, rows)
    with transaction.atomic():
        Municipality.objects.select_for_update().filter(pk=municipality.pk).first()
        preview = compute_preview(municipality, FigureSource.API, rows)
        _replace_months(municipality, FigureSource.API, preview, upload=None)
        record(
            "analytics.figures.api_apply",
            actor=actor,
            api_key=api_key,
            municipality=municipality,
            changes={"months": [f"{m:%Y-%m}" for m in preview.months], **preview.totals},
        )
    return preview


def _replace_months(municipality: Municipality, source: str, preview: Preview, *, upload: FigureUpload | None) -> None:
    MonthlyFigure.objects.filter(municipality=municipality, source=source, month__in=preview.months).delete()
    MonthlyFigure.objects.bulk_create(
        [
            MonthlyFigure(
                municipality=municipality,
                service=service,
                service_key=row.service_key,
                leika_key=row.leika_key,
                month=row.month,
                metric=row.metric,
                value=row.value,
                total=_total(row.metric, row.value, row.observations),
                observations=row.observations,
                source=source,
                upload=upload,
            )
            for _number, row, service in preview.rows
        ],
        batch_size=1000,
    )


def _total(metric: str, value: Decimal, observations: int | None) -> Decimal | None:
    if METRIC_RULES[metric].kind == "count":
        return value
    return value * observations if observations else None


# --- fed by case processing ---------------------------------------------------------------------


def record_processing(
    *, municipality: Municipality, service: Service, decided_on: date, processing_days: Decimal, media_breaks: int
) -> None:
    """Add one decided case to its month: processing time joins the average (sum and count), media breaks add up."""
    month = decided_on.replace(day=1)
    with transaction.atomic():
        _accumulate(municipality, service, month, Metric.PROCESSING_TIME_DAYS, processing_days, 1)
        _accumulate(municipality, service, month, Metric.MEDIA_BREAKS, Decimal(media_breaks), None)


def _accumulate(
    municipality: Municipality, service: Service, month: date, metric: str, amount: Decimal, observations: int | None
) -> None:
    lookup = {
        "municipality": municipality,
        "service_key": service.external_key,
        "leika_key": "",
        "month": month,
        "metric": metric,
        "source": FigureSource.CASES,
    }
    for _attempt in range(2):
        figure = MonthlyFigure.objects.select_for_update().filter(**lookup).first()
        if figure is None:
            try:
                with transaction.atomic():
                    MonthlyFigure.objects.create(
                        **lookup,
                        service=service,
                        value=amount,
                        total=amount,
                        observations=observations,
                    )
                return
            except IntegrityError:
                continue  # created concurrently: lock and add to it
        figure.total = (figure.total or Decimal(0)) + amount
        if observations is None:
            figure.value = figure.total
        else:
            figure.observations = (figure.observations or 0) + observations
            figure.value = (figure.total / figure.observations).quantize(AVERAGE_PLACES)
        figure.service = service
        figure.save(update_fields=["total", "observations", "value", "service", "updated_at"])
        return
    raise RuntimeError("could not record the case figure")  # pragma: no cover
