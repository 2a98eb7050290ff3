"""Preview of an upload (added / changed / removed / unchanged), applying it, re-uploads replacing months."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dikom.analytics.figures.models import FigureUpload, MonthlyFigure
from dikom.analytics.models import Service
from dikom.audit.models import AuditEvent

HEADER = "month;service;metric;value\n"


def _fingerprint(page: Any) -> str:
    return page.content.decode().split('name="fingerprint" value="')[1].split('"')[0]


def _upload_and_apply(upload: Any, staff_client: Any, body: str) -> FigureUpload:
    upload(HEADER + body)
    record = FigureUpload.objects.latest("created_at")
    page = staff_client.get(f"/analytics/daten/fulda/uploads/{record.uuid}/")
    response = staff_client.post(
        f"/analytics/daten/fulda/uploads/{record.uuid}/anwenden", {"fingerprint": _fingerprint(page)}
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == "applied"
    return record


def _stored() -> dict[tuple[str, str, str], Decimal]:
    return {(f"{f.month:%Y-%m}", f.service_key, f.metric): f.value for f in MonthlyFigure.objects.all()}


def _totals(page: Any) -> dict[str, str]:
    html = page.content.decode()
    return {
        kind: html.split(f'id="total-{kind}">')[1].split("<")[0]
        for kind in ("added", "changed", "removed", "unchanged")
    }


def test_preview_shows_added_changed_removed_unchanged(upload: Any, staff_client: Any, parking: Service) -> None:
    _upload_and_apply(
        upload,
        staff_client,
        "2025-01;anwohnerparken;visits;100\n2025-01;anwohnerparken;starts;50\n2025-01;alt;visits;7\n"
        "2025-02;anwohnerparken;visits;80\n",
    )
    # Given the stored January, a new file for January only:
    upload(HEADER + "2025-01;anwohnerparken;visits;100\n2025-01;anwohnerparken;starts;60\n2025-01;neu;visits;3\n")
    record = FigureUpload.objects.latest("created_at")
    page = staff_client.get(f"/analytics/daten/fulda/uploads/{record.uuid}/")
    assert _totals(page) == {"added": "1", "changed": "1", "removed": "1", "unchanged": "1"}
    html = page.content.decode()
    assert "2025-02" not in html.split("Months replaced")[1].split("</dd>")[0]
    # Nothing changes before applying.
    assert _stored()[("2025-01", "anwohnerparken", "starts")] == Decimal(50)


def test_reupload_replaces_only_its_months(upload: Any, staff_client: Any, parking: Service) -> None:
    _upload_and_apply(
        upload,
        staff_client,
        "2025-01;anwohnerparken;visits;100\n2025-01;alt;visits;7\n2025-02;anwohnerparken;visits;80\n",
    )
    _upload_and_apply(upload, staff_client, "2025-01;anwohnerparken;visits;110\n2025-03;anwohnerparken;visits;90\n")
    assert _stored() == {
        ("2025-01", "anwohnerparken", "visits"): Decimal(110),  # replaced; "alt" removed with its month
        ("2025-02", "anwohnerparken", "visits"): Decimal(80),  # untouched
        ("2025-03", "anwohnerparken", "visits"): Decimal(90),
    }
    assert MonthlyFigure.objects.filter(service_key="anwohnerparken").exclude(service=parking).count() == 0


def test_apply_twice_is_idempotent(upload: Any, staff_client: Any) -> None:
    record = _upload_and_apply(upload, staff_client, "2025-01;a;visits;1\n")
    before = list(MonthlyFigure.objects.values_list("pk", "value"))
    response = staff_client.post(
        f"/analytics/daten/fulda/uploads/{record.uuid}/anwenden", {"fingerprint": "x"}, follow=True
    )
    assert "already been applied" in response.content.decode()
    assert list(MonthlyFigure.objects.values_list("pk", "value")) == before
    assert AuditEvent.objects.filter(action="analytics.figures.upload_apply").count() == 1


def test_stale_preview_is_refused_and_recomputed(upload: Any, staff_client: Any) -> None:
    upload(HEADER + "2025-01;a;visits;1\n")
    first = FigureUpload.objects.latest("created_at")
    seen = _fingerprint(staff_client.get(f"/analytics/daten/fulda/uploads/{first.uuid}/"))
    # Meanwhile another upload changes January.
    _upload_and_apply(upload, staff_client, "2025-01;a;visits;5\n2025-01;b;visits;9\n")
    response = staff_client.post(f"/analytics/daten/fulda/uploads/{first.uuid}/anwenden", {"fingerprint": seen})
    assert response.status_code == 409
    assert "changed after this preview was shown" in response.content.decode()
    first.refresh_from_db()
    assert first.status == "preview" and _stored()[("2025-01", "b", "visits")] == Decimal(9)
    # The page shows the recomputed preview; applying that one works.
    assert _totals(response) == {"added": "0", "changed": "1", "removed": "1", "unchanged": "0"}
    applied = staff_client.post(
        f"/analytics/daten/fulda/uploads/{first.uuid}/anwenden", {"fingerprint": _fingerprint(response)}
    )
    assert applied.status_code == 302
    assert _stored() == {("2025-01", "a", "visits"): Decimal(1)}


def test_discard_changes_nothing_and_cannot_be_applied(upload: Any, staff_client: Any) -> None:
    upload(HEADER + "2025-01;a;visits;1\n")
    record = FigureUpload.objects.latest("created_at")
    fingerprint = _fingerprint(staff_client.get(f"/analytics/daten/fulda/uploads/{record.uuid}/"))
    staff_client.post(f"/analytics/daten/fulda/uploads/{record.uuid}/verwerfen")
    record.refresh_from_db()
    assert record.status == "discarded"
    response = staff_client.post(
        f"/analytics/daten/fulda/uploads/{record.uuid}/anwenden", {"fingerprint": fingerprint}, follow=True
    )
    assert "cannot be applied" in response.content.decode()
    assert not MonthlyFigure.objects.exists()


def test_unresolved_keys_are_kept_and_leika_resolves(upload: Any, staff_client: Any, trade: Service) -> None:
    upload("month;service;leika;metric;value\n2025-01;unbekannt;;visits;4\n2025-01;;99050012104000;transactions;8\n")
    record = FigureUpload.objects.latest("created_at")
    fingerprint = _fingerprint(staff_client.get(f"/analytics/daten/fulda/uploads/{record.uuid}/"))
    staff_client.post(f"/analytics/daten/fulda/uploads/{record.uuid}/anwenden", {"fingerprint": fingerprint})
    unknown = MonthlyFigure.objects.get(metric="visits")
    assert unknown.service is None and unknown.service_key == "unbekannt"
    assert MonthlyFigure.objects.get(metric="transactions").service == trade


def test_figure_table_filters_and_csv_export_is_injection_safe(
    upload: Any, staff_client: Any, parking: Service
) -> None:
    _upload_and_apply(
        upload,
        staff_client,
        "2025-01;anwohnerparken;visits;100\n2025-02;anwohnerparken;visits;80\n2025-02;x;satisfaction_avg;4,5\n",
    )
    Service.objects.filter(pk=parking.pk).update(name='=HYPERLINK("http://evil")')
    page = staff_client.get("/analytics/daten/fulda/kennzahlen/", {"start": "2025-02", "metric": "visits"})
    assert page.status_code == 200
    assert "1 figure" in page.content.decode()
    export = staff_client.get("/analytics/daten/fulda/kennzahlen/", {"start": "2025-02", "format": "csv"})
    text = b"".join(export.streaming_content).decode()
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == "month;service;service_name;leika;metric;value;observations;source"
    assert len(lines) == 3
    assert any(";4,5;" in line for line in lines)
    assert "'=HYPERLINK" in text and ";=HYPERLINK" not in text.replace('"', "")
    assert staff_client.get("/analytics/daten/fulda/kennzahlen/", {"start": "2025-13"}).status_code == 400
