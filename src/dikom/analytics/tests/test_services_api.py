"""Measured services, unassigned keys and their assignment."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dikom.analytics.models import Service, ServiceDailyStats, ServiceKeyAlias, UsageEvent
from dikom.analytics.service import record_usage_events
from dikom.analytics.tests.conftest import at, auth, event, key_for, local_day, post_json, run_worker
from dikom.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

SERVICES_URL = "/api/v1/analytics/services/"
UNASSIGNED_URL = "/api/v1/analytics/unassigned/"
ASSIGN_URL = "/api/v1/analytics/unassigned/assign"

NEW_SERVICE = {
    "name": "Hundesteuer anmelden",
    "external_key": "hundesteuer",
    "leika_key": "99108008001000",
    "channel": "web",
    "source_system": "civento",
}


def test_services_are_listed_with_leika_keys_in_a_bounded_number_of_queries(client, parking, city_a, read_token):
    Service.objects.create(municipality=city_a, name="Geburtsurkunde", external_key="geburtsurkunde")

    with CaptureQueriesContext(connection) as queries:
        response = client.get(SERVICES_URL, **auth(read_token))

    assert response.status_code == 200
    results = response.json()["results"]
    assert [(s["name"], s["leika_key"]) for s in results] == [
        ("Bewohnerparkausweis", "99106001010000"),
        ("Geburtsurkunde", ""),
    ]
    assert len(queries) <= 5


def test_another_citys_services_are_not_listed(client, parking, city_b):
    response = client.get(SERVICES_URL, **auth(key_for(city_b, "analytics:read")))

    assert response.json()["results"] == []


def test_creating_a_service_needs_the_manage_scope_and_is_audited(client, manage_token, read_token, city_a):
    denied = post_json(client, SERVICES_URL, read_token, NEW_SERVICE)
    created = post_json(client, SERVICES_URL, manage_token, NEW_SERVICE)

    assert denied.status_code == 403 and "analytics:manage" in denied.json()["detail"]
    assert created.status_code == 201, created.content
    service = Service.objects.get(uuid=created.json()["uuid"])
    assert (service.municipality, service.leika_key, service.source_system) == (city_a, "99108008001000", "civento")
    assert AuditEvent.objects.filter(action="analytics.service.create", municipality=city_a).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"leika_key": "12345678901234"}, "leika_key"),
        ({"leika_key": "9910800800100"}, "leika_key"),
        ({"external_key": "mit leerzeichen"}, "external_key"),
        ({"channel": "fax"}, "channel"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_services_are_refused(client, manage_token, changes, field):
    response = post_json(client, SERVICES_URL, manage_token, {**NEW_SERVICE, **changes})

    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert not Service.objects.exists()


def test_a_service_key_is_unique_per_city_only(client, manage_token, city_b):
    assert post_json(client, SERVICES_URL, manage_token, NEW_SERVICE).status_code == 201

    again = post_json(client, SERVICES_URL, manage_token, NEW_SERVICE)
    elsewhere = post_json(client, SERVICES_URL, key_for(city_b, "analytics:manage"), NEW_SERVICE)

    # A taken key is a conflict with a stored service, not malformed input (the contract: 409 with `errors`).
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "external_key"
    assert elsewhere.status_code == 201


def test_unassigned_keys_are_listed_with_counts(client, send, parking, read_token, city_b):
    send({"events": [event(service="hundesteuer"), event(service="hundesteuer"), event(service="kita"), event()]})
    send(event(service="nur-in-giessen"), token=key_for(city_b, "analytics:ingest"))

    response = client.get(UNASSIGNED_URL, **auth(read_token))

    assert response.status_code == 200
    assert [(row["service_key"], row["events"]) for row in response.json()] == [("hundesteuer", 2), ("kita", 1)]


def test_assigning_a_key_maps_stored_and_future_events_and_rebuilds_rollups(
    client, send, parking, manage_token, city_a, django_capture_on_commit_callbacks
):
    day = local_day(days_ago=3)
    send({"events": [event(service="parken-alt", occurred_at=at(day, 600)) for _ in range(2)]})
    run_worker()
    assert ServiceDailyStats.objects.get().service is None

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            client, ASSIGN_URL, manage_token, {"service_key": "parken-alt", "service": str(parking.uuid)}
        )
    run_worker()
    send(event(service="parken-alt"))

    assert response.status_code == 200, response.content
    assert response.json() == {"assigned": 2}
    assert UsageEvent.objects.filter(service=parking).count() == 3
    rollup = ServiceDailyStats.objects.get(day=day.date())
    assert (rollup.service, rollup.starts) == (parking, 2)
    assert ServiceKeyAlias.objects.get().service == parking
    assert AuditEvent.objects.filter(action="analytics.unassigned.assign").exists()


def test_assigning_to_another_citys_service_is_404(client, send, city_b, parking):
    token = key_for(city_b, "analytics:manage")

    response = post_json(client, ASSIGN_URL, token, {"service_key": "x", "service": str(parking.uuid)})

    assert response.status_code == 404


def test_in_process_callers_use_the_same_validation_and_storage(parking, city_a):
    result = record_usage_events(city_a, [event(event_id="p-1"), event(type="bogus"), event(event_id="p-1")])

    assert (result.accepted, result.duplicates) == (1, 1)
    assert [r["index"] for r in result.rejected] == [1]
    assert UsageEvent.objects.get().source == "portal"


def test_assigning_refuses_unknown_fields_as_its_schema_says(client, send, parking, manage_token):
    # The schema documents the body as closed (additionalProperties: false): a field it does not
    # know is a 400 naming it, and nothing is assigned.
    send(event(service="parken-alt"))
    body = {"service_key": "parken-alt", "service": str(parking.uuid), "servcie_key": "tippfehler"}

    response = post_json(client, ASSIGN_URL, manage_token, body)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == ["servcie_key"]
    assert not ServiceKeyAlias.objects.exists()
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["schemas"]["AssignRequest"]["additionalProperties"] is False
