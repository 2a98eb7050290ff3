"""POST /api/v1/analytics/figures (dry run and apply) and GET (read), with two cities' keys."""

from __future__ import annotations

from typing import Any

from django.test import Client

from dikom.analytics.figures.models import FigureUpload, MonthlyFigure
from dikom.analytics.figures.tests.conftest import FIGURES_API, auth, key_for, post_json
from dikom.analytics.models import Service
from dikom.municipalities.models import Municipality


def row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"month": "2025-01", "service": "anwohnerparken", "metric": "visits", "value": 10}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def test_dry_run_changes_nothing_and_apply_replaces_months(
    client: Client, city_a: Municipality, parking: Service
) -> None:
    token = key_for(city_a, "analytics:ingest")
    rows = [row(), row(metric="starts", value=4), row(month="2025-02", value=7)]
    dry = post_json(client, FIGURES_API, token, {"rows": rows, "dry_run": True})
    assert dry.status_code == 200, dry.content
    body = dry.json()
    assert body["dry_run"] is True and body["applied"] is False
    assert body["summary"] == {"added": 3, "changed": 0, "removed": 0, "unchanged": 0, "skipped": 0}
    assert not MonthlyFigure.objects.exists()

    applied = post_json(client, FIGURES_API, token, {"rows": rows})
    assert applied.json()["applied"] is True
    assert MonthlyFigure.objects.filter(source="api", service=parking).count() == 3

    # January again, without "starts": changed visits, removed starts; February untouched.
    again = post_json(client, FIGURES_API, token, {"rows": [row(value=11)], "dry_run": False}).json()
    assert again["months"] == ["2025-01"]
    assert again["summary"] == {"added": 0, "changed": 1, "removed": 1, "unchanged": 0, "skipped": 0}
    changed = next(c for c in again["changes"] if c["change"] == "changed")
    assert (changed["old"], changed["new"], changed["service"]) == ("10", "11", str(parking.uuid))
    assert sorted(MonthlyFigure.objects.values_list("month", "metric", "value")) == [
        (__import__("datetime").date(2025, 1, 1), "visits", 11),
        (__import__("datetime").date(2025, 2, 1), "visits", 7),
    ]
    # Sending the same rows twice changes nothing the second time.
    same = post_json(client, FIGURES_API, token, {"rows": [row(value=11)]}).json()
    assert same["summary"]["unchanged"] == 1 and same["summary"]["changed"] == 0


def test_api_and_upload_sources_do_not_replace_each_other(
    client: Client, city_a: Municipality, owner: Any, login: Any
) -> None:
    token = key_for(city_a, "analytics:ingest")
    post_json(client, FIGURES_API, token, {"rows": [row(service="a")]})
    MonthlyFigure.objects.create(
        municipality=city_a, service_key="a", month="2025-01-01", metric="visits", value=3, total=3, source="upload"
    )
    post_json(client, FIGURES_API, token, {"rows": [row(service="a", value=20)]})
    assert sorted(MonthlyFigure.objects.values_list("source", "value")) == [("api", 20), ("upload", 3)]
    assert not FigureUpload.objects.exists()


def test_per_row_errors_with_index_and_valid_rows_applied(client: Client, city_a: Municipality) -> None:
    token = key_for(city_a, "analytics:ingest")
    body = post_json(
        client,
        FIGURES_API,
        token,
        {
            "rows": [
                row(),
                row(value="10"),
                row(value=True),
                row(metric="satisfaction_avg", value=6),
                row(month="Okt"),
                row(colour="red"),
                "nope",
                row(service=None),
                row(value=1.5),
                row(),
            ]
        },
    ).json()
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    fields = {r["index"]: [e["field"] for e in r["errors"]] for r in body["rejected"]}
    assert fields[1] == ["value"] and fields[5] == ["colour"] and fields[7] == ["service"]
    assert body["rejected"][-1]["errors"][0]["code"] == "duplicate"
    assert body["summary"]["skipped"] == 9 and body["summary"]["added"] == 1
    assert MonthlyFigure.objects.count() == 1


def test_all_rows_invalid_is_422_problem(client: Client, city_a: Municipality) -> None:
    token = key_for(city_a, "analytics:ingest")
    response = post_json(client, FIGURES_API, token, {"rows": [row(metric="x")]})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["rejected"][0]["index"] == 0


def test_bad_envelopes_are_problems(client: Client, city_a: Municipality, settings: Any) -> None:
    token = key_for(city_a, "analytics:ingest")
    for body, status in [
        ([], 400),
        ({"rows": []}, 400),
        ({"rows": {}}, 400),
        ({"rows": [row()], "x": 1}, 400),
        ({"rows": [row()], "dry_run": "yes"}, 400),
    ]:
        response = post_json(client, FIGURES_API, token, body)
        assert response.status_code == status and response["Content-Type"] == "application/problem+json"
    settings.DIKOM_ANALYTICS_FIGURES_MAX_ROWS = 2
    assert post_json(client, FIGURES_API, token, {"rows": [row()] * 3}).status_code == 413
    bad = client.post(FIGURES_API, data="{", content_type="application/json", **auth(token))
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"


def test_read_filters(client: Client, city_a: Municipality, parking: Service) -> None:
    ingest = key_for(city_a, "analytics:ingest")
    post_json(
        client,
        FIGURES_API,
        ingest,
        {"rows": [row(), row(month="2025-02"), row(month="2025-03", metric="starts"), row(service="other")]},
    )
    read = auth(key_for(city_a, "analytics:read"))
    response = client.get(FIGURES_API, {"from": "2025-02", "to": "2025-03"}, **read)
    assert response.status_code == 200
    assert [(r["month"], r["metric"]) for r in response.json()["results"]] == [
        ("2025-02", "visits"),
        ("2025-03", "starts"),
    ]
    by_uuid = client.get(FIGURES_API, {"service": str(parking.uuid), "metric": "visits"}, **read).json()
    assert by_uuid["count"] == 2 and by_uuid["results"][0]["service"] == str(parking.uuid)
    assert client.get(FIGURES_API, {"service": "other"}, **read).json()["count"] == 1
    assert client.get(FIGURES_API, {"from": "2025-13"}, **read).status_code == 400


def test_scopes_and_cities(client: Client, city_a: Municipality, city_b: Municipality, parking: Service) -> None:
    a_ingest = key_for(city_a, "analytics:ingest")
    post_json(client, FIGURES_API, a_ingest, {"rows": [row()]})
    b_read = auth(key_for(city_b, "analytics:read"))
    b_ingest = key_for(city_b, "analytics:ingest")
    # B's key reads only B (nothing); naming A is refused, as documented.
    assert client.get(FIGURES_API, **b_read).json()["count"] == 0
    assert client.get(FIGURES_API, {"municipality": city_a.ags}, **b_read).status_code == 403
    # A's service is a 404 for B.
    assert client.get(FIGURES_API, {"service": str(parking.uuid)}, **b_read).status_code == 404
    # B's rows land in B and never replace A's month.
    post_json(client, FIGURES_API, b_ingest, {"rows": [row(value=99)]})
    assert MonthlyFigure.objects.get(municipality=city_a).value == 10
    assert MonthlyFigure.objects.get(municipality=city_b).value == 99
    # Missing scopes: 403 problem.
    assert post_json(client, FIGURES_API, key_for(city_a, "analytics:read"), {"rows": [row()]}).status_code == 403
    assert client.get(FIGURES_API, **auth(a_ingest)).status_code == 403
    assert client.get(FIGURES_API).status_code == 401


def test_staff_read_with_municipality(
    client: Client, city_a: Municipality, owner: Any, outsider: Any, colleague: Any, login: Any
) -> None:
    post_json(client, FIGURES_API, key_for(city_a, "analytics:ingest"), {"rows": [row()]})
    login(client, owner)
    assert client.get(FIGURES_API, {"municipality": city_a.ags}).json()["count"] == 1
    login(client, colleague)
    assert client.get(FIGURES_API, {"municipality": city_a.ags}).status_code == 403
    login(client, outsider)
    assert client.get(FIGURES_API, {"municipality": city_a.ags}).status_code == 403
