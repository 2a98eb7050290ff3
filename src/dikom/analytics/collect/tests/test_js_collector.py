"""POST /api/v1/analytics/collect/<site_id>: the endpoint of the JavaScript snippet."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.utils import timezone

from dikom.analytics.collect.tests.conftest import FORM_ORIGIN, auth, key_for
from dikom.analytics.models import UsageEvent

pytestmark = pytest.mark.django_db


def url(site) -> str:
    return f"/api/v1/analytics/collect/{site.site_id}"


def event(**fields):
    base = {
        "type": "step_viewed",
        "service": "anwohnerparken",
        "occurred_at": timezone.now().isoformat(),
        "visit_id": "0123456789abcdef",
        "step_key": "antragsteller",
        "step_position": 2,
    }
    base.update(fields)
    return base


def test_text_plain_beacon_from_an_allowed_origin_is_stored(client, site):
    response = client.post(
        url(site), data=json.dumps(event()), content_type="text/plain;charset=UTF-8", HTTP_ORIGIN=FORM_ORIGIN
    )

    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert response["Access-Control-Allow-Origin"] == FORM_ORIGIN
    stored = UsageEvent.objects.get()
    assert (stored.municipality_id, stored.service.external_key, stored.step_key) == (
        site.municipality_id,
        "anwohnerparken",
        "antragsteller",
    )


def test_json_batch_with_an_invalid_event(client, site):
    body = {"events": [event(), event(type="payment_chosen")]}

    response = client.post(url(site), data=json.dumps(body), content_type="application/json", HTTP_ORIGIN=FORM_ORIGIN)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"][0]["index"] == 1


def test_forbidden_origin_is_403_without_cors_header(client, site):
    response = client.post(
        url(site), data=json.dumps(event()), content_type="text/plain", HTTP_ORIGIN="https://evil.example"
    )
    referer = client.post(
        url(site), data=json.dumps(event()), content_type="text/plain", HTTP_REFERER="https://evil.example/seite"
    )

    assert response.status_code == referer.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "Access-Control-Allow-Origin" not in response
    assert not UsageEvent.objects.exists()


def test_preflight_only_for_allowed_origins(client, site):
    allowed = client.options(
        url(site),
        HTTP_ORIGIN=FORM_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    forbidden = client.options(url(site), HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")

    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == FORM_ORIGIN
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    assert "content-type" in allowed["Access-Control-Allow-Headers"].lower()
    assert forbidden.status_code == 403
    assert "Access-Control-Allow-Origin" not in forbidden


def test_unknown_and_disabled_sites_are_404(client, site):
    assert client.post("/api/v1/analytics/collect/unbekannt", data="{}", content_type="text/plain").status_code == 404
    site.enabled = False
    site.save()
    assert client.post(url(site), data=json.dumps(event()), content_type="text/plain").status_code == 404


def test_events_land_in_the_sites_city_whatever_the_sender_claims(client, site, site_b, city_b):
    # a signed-in session or an API key of another city changes nothing: the site decides
    token = key_for(city_b, "analytics:ingest")
    client.post(url(site), data=json.dumps(event()), content_type="text/plain", HTTP_ORIGIN=FORM_ORIGIN, **auth(token))

    assert UsageEvent.objects.get().municipality_id == site.municipality_id
    other = client.post(url(site_b), data=json.dumps(event()), content_type="text/plain", HTTP_ORIGIN=FORM_ORIGIN)
    assert other.status_code == 403  # Fulda's form origin is not allowed for Gießen's site


def test_all_invalid_is_422_and_too_many_is_413(client, site):
    invalid = client.post(
        url(site), data=json.dumps(event(type="nope")), content_type="text/plain", HTTP_ORIGIN=FORM_ORIGIN
    )
    many = client.post(
        url(site), data=json.dumps({"events": [event()] * 101}), content_type="text/plain", HTTP_ORIGIN=FORM_ORIGIN
    )
    malformed = client.post(url(site), data="{kaputt", content_type="text/plain", HTTP_ORIGIN=FORM_ORIGIN)

    assert invalid.status_code == 422
    assert many.status_code == 413
    assert malformed.status_code == 400
    assert not UsageEvent.objects.exists()


def test_rate_limit_per_site(client, site):
    with override_settings(DIKOM_ANALYTICS_COLLECT_RATE="1/min"):
        first = client.post(url(site), data=json.dumps(event()), content_type="text/plain", HTTP_ORIGIN=FORM_ORIGIN)
        second = client.post(url(site), data=json.dumps(event()), content_type="text/plain", HTTP_ORIGIN=FORM_ORIGIN)

    assert first.status_code == 200
    assert second.status_code == 429
    assert int(second["Retry-After"]) >= 1


def test_collector_script_is_served_for_other_origins(client):
    response = client.get("/analytics-erfassung/collect.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    body = response.content.decode()
    assert len(response.content) < 4096
    for forbidden in ("document.cookie", "localStorage", "sessionStorage"):
        assert forbidden not in body


def test_client_time_is_accepted_only_within_minutes_of_the_servers(client, site):
    from datetime import timedelta

    now = timezone.now()
    body = {
        "events": [
            event(occurred_at=(now - timedelta(minutes=2)).isoformat()),
            event(occurred_at=(now - timedelta(days=40)).isoformat(), step_key="zahlung"),
            {k: v for k, v in event(step_key="fertig").items() if k != "occurred_at"},
        ]
    }

    response = client.post(url(site), data=json.dumps(body), content_type="application/json", HTTP_ORIGIN=FORM_ORIGIN)

    assert response.json()["accepted"] == 3
    times = dict(UsageEvent.objects.values_list("step_key", "occurred_at"))
    assert abs(times["antragsteller"] - (now - timedelta(minutes=2))) < timedelta(minutes=1)
    # A backdated event (e.g. into a published month) counts now, not then; so does one without a time.
    assert abs(times["zahlung"] - now) < timedelta(minutes=2)
    assert abs(times["fertig"] - now) < timedelta(minutes=2)


def test_a_site_that_requires_an_origin_refuses_server_side_senders(client, site):
    assert client.post(url(site), data=json.dumps(event()), content_type="application/json").status_code == 200
    site.require_origin = True
    site.save()
    assert client.post(url(site), data=json.dumps(event()), content_type="application/json").status_code == 403
    with_origin = client.post(
        url(site), data=json.dumps(event()), content_type="application/json", HTTP_ORIGIN=FORM_ORIGIN
    )
    assert with_origin.status_code == 200
