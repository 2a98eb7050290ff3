"""Large figures files are read by the task worker; their page shows the progress and reloads itself."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import override_settings

from dikom.analytics.figures import parsing
from dikom.analytics.figures.models import FigureUpload
from dikom.analytics.figures.tests.conftest import xlsx_bytes
from dikom.analytics.models import Service
from dikom.lib.testing import run_task_worker


def _rows(count: int) -> list[list[Any]]:
    return [["month", "service", "metric", "value"]] + [["2025-01", f"s{i}", "visits", i] for i in range(count)]


@override_settings(DIKOM_ANALYTICS_FIGURES_INLINE_BYTES=1024)
def test_large_file_is_read_by_the_worker_with_progress(
    upload: Any, staff_client: Any, parking: Service, django_capture_on_commit_callbacks: Any
) -> None:
    data = xlsx_bytes(_rows(25))
    assert len(data) > 1024
    # When a file larger than the inline limit is uploaded
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(data, name="gross.xlsx")
    # Then the request answers at once with a page that says it is being read and reloads itself
    record = FigureUpload.objects.get()
    assert record.status == FigureUpload.Status.PROCESSING and record.rows == []
    html = response.content.decode()
    assert '<meta http-equiv="refresh" content="3">' in html
    assert "The file is being read in the background: 0 data rows read so far." in html
    assert f'href="/analytics/daten/fulda/uploads/{record.uuid}/"' in html  # reload without JavaScript
    # and it cannot be applied yet
    refused = staff_client.post(f"/analytics/daten/fulda/uploads/{record.uuid}/anwenden", {"fingerprint": "x"})
    assert refused.status_code == 302
    # When the worker runs, it reads the file
    run_task_worker()
    record.refresh_from_db()
    assert record.status == FigureUpload.Status.PREVIEW and len(record.rows) == 25
    assert record.pending_data is None and record.rows_read == 25
    page = staff_client.get(f"/analytics/daten/fulda/uploads/{record.uuid}/").content.decode()
    assert 'http-equiv="refresh"' not in page and "Apply figures" in page


def test_the_reader_reports_progress(monkeypatch: Any) -> None:
    monkeypatch.setattr(parsing, "PROGRESS_EVERY", 10)
    seen: list[int] = []
    parsing.read_file("gross.xlsx", xlsx_bytes(_rows(25)), seen.append)
    assert seen == [10, 20]


@override_settings(DIKOM_ANALYTICS_FIGURES_INLINE_BYTES=1024)
def test_a_hostile_large_file_fails_in_the_worker_with_its_reason(
    upload: Any, staff_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from dikom.analytics.figures.tests.test_hostile_xlsx import HEADER, _inline, _workbook

    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    data = _workbook(HEADER + "".join(f'<row r="{n}">' + _inline(f"BA{n}", "x") + "</row>" for n in range(2, 60)))
    assert len(data) > 1024
    with django_capture_on_commit_callbacks(execute=True):
        upload(data, name="breit.xlsx")
    run_task_worker()
    record = FigureUpload.objects.get()
    assert record.status == FigureUpload.Status.FAILED
    assert "mehr als 50 Spalten" in record.errors[0]["message"]
    assert "mehr als 50 Spalten" in staff_client.get(f"/analytics/daten/fulda/uploads/{record.uuid}/").content.decode()


@override_settings(DIKOM_ANALYTICS_FIGURES_INLINE_BYTES=1024)
def test_discarding_while_reading_wins(upload: Any, staff_client: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        upload(xlsx_bytes(_rows(25)), name="gross.xlsx")
    record = FigureUpload.objects.get()
    staff_client.post(f"/analytics/daten/fulda/uploads/{record.uuid}/verwerfen")
    run_task_worker()
    record.refresh_from_db()
    assert record.status == FigureUpload.Status.DISCARDED and record.rows == [] and record.pending_data is None
