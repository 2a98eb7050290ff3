"""CKAN's Action API through HTTP: envelope, read actions, search, errors, writes of two cities."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dikom.opendata.models import Dataset, DatasetRevision
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db


def call(client: Client, name: str, data: dict[str, Any] | None = None, key: str = "", prefix: str = "/api/3/action/"):
    headers = {"HTTP_AUTHORIZATION": key} if key else {}
    response = client.post(f"{prefix}{name}", json.dumps(data or {}), content_type="application/json", **headers)
    return response, response.json()


@pytest.fixture
def datasets(org_a, org_b):
    trees = make_dataset(
        org_a,
        "baeume-fulda",
        "Bäume in Fulda",
        tags=[{"name": "Umwelt"}],
        groups=[{"name": "envi"}],
        resources=[{"url": "https://example.org/b.csv", "format": "csv"}],
    )
    cadastre = make_dataset(org_b, "baumkataster-giessen", "Baumkataster Gießen", groups=[{"name": "envi"}])
    streets = make_dataset(
        org_b,
        "strassen-giessen",
        "Straßenverzeichnis",
        resources=[{"url": "https://example.org/s.json", "format": "JSON"}],
        license_id="cc-by/4.0",
    )
    draft = make_dataset(org_a, "entwurf", "Baum-Entwurf", state="draft")
    return trees, cadastre, streets, draft


def test_status_and_envelope(client: Client) -> None:
    for prefix in ("/api/3/action/", "/api/action/"):
        response = client.get(f"{prefix}status_show")
        body = response.json()
        assert response.status_code == 200
        assert body["success"] is True
        assert body["help"].endswith("help_show?name=status_show")
        assert body["result"]["ckan_version"].startswith("2.")
    assert client.get("/api/3/action/site_read").json()["result"] is True


def test_read_actions(client: Client, datasets) -> None:
    trees = datasets[0]
    names = client.get("/api/3/action/package_list").json()["result"]
    assert names == ["baeume-fulda", "baumkataster-giessen", "strassen-giessen"]
    shown = client.get("/api/3/action/package_show", {"id": "baeume-fulda"}).json()["result"]
    assert shown["id"] == str(trees.uuid)
    assert shown["organization"]["name"] == "fulda"
    assert shown["resources"][0]["format"] == "CSV"
    assert shown["num_resources"] == 1 and shown["tags"][0]["name"] == "Umwelt"
    assert shown["groups"][0]["name"] == "envi"
    by_id = client.get("/api/3/action/package_show", {"id": str(trees.uuid)}).json()["result"]
    assert by_id["name"] == "baeume-fulda"
    resource = client.get("/api/3/action/resource_show", {"id": shown["resources"][0]["id"]}).json()["result"]
    assert resource["package_id"] == str(trees.uuid)
    orgs = client.get("/api/3/action/organization_list", {"all_fields": "true"}).json()["result"]
    assert {o["name"]: o["package_count"] for o in orgs} == {"fulda": 1, "giessen": 2}
    org = client.get("/api/3/action/organization_show", {"id": "giessen", "include_datasets": "true"}).json()
    assert sorted(p["name"] for p in org["result"]["packages"]) == ["baumkataster-giessen", "strassen-giessen"]
    group = client.get("/api/3/action/group_show", {"id": "envi"}).json()["result"]
    assert group["package_count"] == 2
    assert "envi" in client.get("/api/3/action/group_list").json()["result"]
    assert client.get("/api/3/action/tag_list").json()["result"] == ["Umwelt"]
    licences = {lic["id"] for lic in client.get("/api/3/action/license_list").json()["result"]}
    assert {"dl-by-de/2.0", "dl-zero-de/2.0", "cc-by/4.0"} <= licences
    current = client.get("/api/3/action/current_package_list_with_resources", {"limit": 2}).json()["result"]
    assert len(current) == 2 and all("resources" in p for p in current)


def test_draft_is_hidden_from_the_public(client: Client, datasets) -> None:
    response, body = call(client, "package_show", {"id": "entwurf"})
    assert response.status_code == 404
    assert body["success"] is False and body["error"]["__type"] == "Not Found Error"


def test_package_search_german_and_facets(client: Client, datasets) -> None:
    def names(**params: Any) -> list[str]:
        body = client.get("/api/3/action/package_search", params).json()
        assert body["success"] is True, body
        return sorted(r["name"] for r in body["result"]["results"])

    assert names(q="Baum") == ["baeume-fulda", "baumkataster-giessen"]
    assert names(q="Bäume") == ["baeume-fulda", "baumkataster-giessen"]
    assert names(q="baeume") == ["baeume-fulda", "baumkataster-giessen"]
    assert names(q="Strasse") == ["strassen-giessen"]
    assert names(q="Straße") == ["strassen-giessen"]
    assert names(fq="organization:giessen") == ["baumkataster-giessen", "strassen-giessen"]
    assert names(fq="res_format:JSON") == ["strassen-giessen"]
    assert names(q="Baum", fq="-organization:giessen") == ["baeume-fulda"]
    assert names(fq="metadata_modified:[2024-01-01T00:00:00Z TO *]") == [
        "baeume-fulda",
        "baumkataster-giessen",
        "strassen-giessen",
    ]
    assert names(fq="metadata_modified:[* TO 2000-01-01T00:00:00Z]") == []
    body = client.get(
        "/api/3/action/package_search",
        {"q": "", "facet.field": '["organization","groups","res_format","license_id"]', "rows": 1, "sort": "name asc"},
    ).json()["result"]
    assert body["count"] == 3 and [r["name"] for r in body["results"]] == ["baeume-fulda"]
    assert body["facets"]["organization"] == {"giessen": 2, "fulda": 1}
    assert body["facets"]["groups"] == {"envi": 2}
    items = body["search_facets"]["organization"]["items"]
    assert {"name": "giessen", "display_name": "Gießen", "count": 2} in items
    assert body["search_facets"]["license_id"]["title"] == "license_id"
    page2 = client.get("/api/3/action/package_search", {"rows": 1, "start": 1, "sort": "name asc"}).json()
    assert [r["name"] for r in page2["result"]["results"]] == ["baumkataster-giessen"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": 'title:"unclosed'},
        {"q": "(baum"},
        {"fq": "organization:giessen)"},
        {"fq": "nosuchfield:x"},
        {"fq": "free text"},
        {"sort": "DROP TABLE"},
        {"q": "[1 TO 2]"},
        {"fq": "metadata_modified:[gestern TO *]"},
    ],
)
def test_solr_syntax_errors_are_search_query_errors(client: Client, datasets, params) -> None:
    response = client.get("/api/3/action/package_search", params)
    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert body["error"]["__type"] == "Search Query Error"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"rows": "viele"}, "rows"), ({"start": "-5"}, "start"), ({"facet.field": "{"}, "facet.field")],
)
def test_bad_search_parameters_are_validation_errors(client: Client, params, field) -> None:
    response = client.get("/api/3/action/package_search", params)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["__type"] == "Validation Error" and field in error


def test_rows_are_capped_at_1000(client: Client, datasets) -> None:
    body = client.get("/api/3/action/package_search", {"rows": 5000}).json()
    assert body["success"] is True and body["result"]["count"] == 3


def test_unknown_action_and_malformed_json(client: Client) -> None:
    response = client.get("/api/3/action/no_such_action")
    assert response.status_code == 400 and response.json()["success"] is False
    response = client.post("/api/3/action/package_show", "{nope", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["__type"] == "Bad request"
    response = client.post("/api/3/action/package_show", "[1]", content_type="application/json")
    assert response.status_code == 400


def test_writes_need_a_key_of_the_owning_city(client: Client, datasets, key_a, key_b) -> None:
    new = {"name": "radwege", "title": "Radwege", "owner_org": "fulda", "license_id": "dl-by-de/2.0"}
    response, body = call(client, "package_create", new)
    assert response.status_code == 403 and body["error"]["__type"] == "Authorization Error"
    response, body = call(client, "package_create", new, key=key_b)
    assert response.status_code == 403 and body["error"]["__type"] == "Authorization Error"
    response, body = call(client, "package_create", new, key="dk_nope_nope")
    assert response.status_code == 403
    response, body = call(client, "package_create", new, key=key_a)
    assert response.status_code == 200, body
    assert body["result"]["organization"]["name"] == "fulda" and body["result"]["state"] == "active"
    # Gießen's key cannot touch Fulda's dataset, nor move one of its own to Fulda.
    for name, data in [
        ("package_patch", {"id": "radwege", "title": "Gekapert"}),
        ("package_update", {"id": "radwege", "title": "Gekapert", "license_id": "dl-by-de/2.0"}),
        ("package_delete", {"id": "radwege"}),
        ("resource_create", {"package_id": "radwege", "url": "https://evil.example/x.csv"}),
    ]:
        response, body = call(client, name, data, key=key_b)
        assert response.status_code == 403, (name, body)
    response, body = call(client, "package_patch", {"id": "strassen-giessen", "owner_org": "fulda"}, key=key_b)
    assert response.status_code == 403
    assert Dataset.objects.get(name="radwege").title == "Radwege"
    resource_id = call(client, "package_show", {"id": "baeume-fulda"})[1]["result"]["resources"][0]["id"]
    response, body = call(client, "resource_delete", {"id": resource_id}, key=key_b)
    assert response.status_code == 403


def test_write_cycle_with_history(client: Client, datasets, key_a) -> None:
    new = {
        "name": "radwege",
        "title": "Radwege",
        "owner_org": "fulda",
        "license_id": "dl-by-de/2.0",
        "tags": [{"name": "Verkehr"}],
        "groups": [{"name": "tran"}],
        "extras": [{"key": "frequency", "value": "MONTHLY"}, {"key": "temporal_start", "value": "2024-01-01"}],
        "resources": [{"url": "https://example.org/radwege.geojson", "format": "GeoJSON"}],
    }
    response, body = call(client, "package_create", new, key=key_a)
    assert response.status_code == 200, body
    created = body["result"]
    assert created["resources"][0]["format"] == "GEOJSON"
    extras = {e["key"]: e["value"] for e in created["extras"]}
    assert extras["frequency"] == "MONTHLY" and extras["spatial_ags"] == "06631009"
    response, body = call(client, "package_patch", {"id": "radwege", "notes": "Neu"}, key=key_a)
    assert body["result"]["notes"] == "Neu" and body["result"]["title"] == "Radwege"
    assert body["result"]["tags"][0]["name"] == "Verkehr"
    response, body = call(
        client,
        "resource_create",
        {"package_id": "radwege", "url": "https://example.org/r.csv", "format": "CSV"},
        key=key_a,
    )
    resource_id = body["result"]["id"]
    response, body = call(
        client, "resource_update", {"id": resource_id, "url": "https://example.org/r2.csv", "format": "CSV"}, key=key_a
    )
    assert body["result"]["url"] == "https://example.org/r2.csv"
    response, body = call(client, "resource_delete", {"id": resource_id}, key=key_a)
    assert body["success"] is True
    response, body = call(
        client, "package_update", {"id": "radwege", "title": "Radwege 2", "license_id": "cc-by/4.0"}, key=key_a
    )
    # As in CKAN 2.10: an update without "resources" keeps them.
    assert body["result"]["title"] == "Radwege 2" and len(body["result"]["resources"]) == 1
    response, body = call(client, "package_delete", {"id": "radwege"}, key=key_a)
    assert body["success"] is True
    assert call(client, "package_show", {"id": "radwege"})[0].status_code == 404
    assert call(client, "package_show", {"id": "radwege"}, key=key_a)[1]["result"]["state"] == "deleted"
    actions_done = list(DatasetRevision.objects.filter(dataset__name="radwege").values_list("action", flat=True))
    assert actions_done == [
        "state:withdrawn",
        "update",
        "resource_delete",
        "resource_update",
        "resource_create",
        "patch",
        "create",
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "x", "title": "T", "license_id": "dl-by-de/2.0"}, "name"),
        ({"name": "ok-name", "title": "", "license_id": "dl-by-de/2.0"}, "title"),
        ({"name": "ok-name", "title": "T", "license_id": "proprietary-forever"}, "license_id"),
        (
            {
                "name": "ok-name",
                "title": "T",
                "license_id": "dl-by-de/2.0",
                "resources": [{"url": "x", "format": "CSV"}],
            },
            "resources",
        ),
        (
            {
                "name": "ok-name",
                "title": "T",
                "license_id": "dl-by-de/2.0",
                "resources": [{"url": "https://a.example/x", "format": "EXE-ISH"}],
            },
            "resources",
        ),
        ({"name": "ok-name", "title": "T", "license_id": "dl-by-de/2.0", "groups": [{"name": "kittens"}]}, "groups"),
        ({"name": "ok-name", "title": "T", "license_id": "dl-by-de/2.0", "tags": "Umwelt"}, "tags"),
        ({"name": "ok-name", "title": ["T"], "license_id": "dl-by-de/2.0"}, "title"),
        (
            {
                "name": "ok-name",
                "title": "T",
                "license_id": "dl-by-de/2.0",
                "extras": [{"key": "temporal_start", "value": "gestern"}],
            },
            "temporal_start",
        ),
        ({"name": "baeume-fulda", "title": "T", "license_id": "dl-by-de/2.0"}, "name"),
    ],
)
def test_invalid_input_is_a_validation_error(client: Client, datasets, key_a, data, field) -> None:
    response, body = call(client, "package_create", {"owner_org": "fulda", **data}, key=key_a)
    assert response.status_code == 409, body
    assert body["error"]["__type"] == "Validation Error"
    assert field in body["error"]
    assert not Dataset.objects.filter(name="ok-name").exists()


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000, b"\xff\xfe", '{"name": "a\\u0000b"}'])
def test_hostile_bodies_are_bad_requests_not_errors(client: Client, key_a, body) -> None:
    response = client.post(
        "/api/3/action/package_create", body, content_type="application/json", HTTP_AUTHORIZATION=key_a
    )
    assert response.status_code in (400, 409)
    assert response.json()["success"] is False


def test_writes_refuse_get(client: Client, key_a) -> None:
    response = client.get("/api/3/action/package_create", {"name": "x"}, HTTP_AUTHORIZATION=key_a)
    assert response.status_code == 400 and response.json()["success"] is False
