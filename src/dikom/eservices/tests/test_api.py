"""The API of the service library: released library (public), one version's content
(drafts only for the authoring city), a city's adoptions (its own key)."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from dikom.accounts.actions import create_api_key
from dikom.accounts.scopes import MUNICIPALITY_READ
from dikom.eservices import actions
from dikom.eservices.access import ESERVICES_READ

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _key(municipality, *scopes):
    return {
        "HTTP_AUTHORIZATION": f"Api-Key {create_api_key(municipality=municipality, name='Portal', scopes=scopes).token}"
    }


def test_the_library_is_public_and_searchable(released, draft):
    api = APIClient()
    response = api.get("/api/v1/eservices/services/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["slug"] == released.definition.slug
    assert item["title"] == "Bewohnerparkausweis"
    assert item["leika_key"] == "99058011001000"
    assert item["keywords"] == ["Parken", "Anwohner"]
    assert item["municipality"] == {"ags": "06631009", "name": "Fulda", "slug": "fulda"}
    assert item["latest_version"]["number"] == 1
    assert api.get("/api/v1/eservices/services/?q=9905801").json()["count"] == 1
    assert api.get("/api/v1/eservices/services/?q=anwohner").json()["count"] == 1
    assert api.get("/api/v1/eservices/services/?q=Hund").json()["count"] == 0


def test_unreleased_services_are_not_in_the_library(draft):
    assert APIClient().get("/api/v1/eservices/services/").json()["count"] == 0


def test_a_released_version_is_public(released):
    response = APIClient().get(f"/api/v1/eservices/services/{released.definition.slug}/versions/1/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "released"
    assert body["content"] == released.content
    assert body["content_hash"] == released.content_hash


def test_a_draft_only_for_the_authoring_city(draft, city_a, city_b, designer_a, admin_b_only, login):
    url = f"/api/v1/eservices/services/{draft.definition.slug}/versions/1/"
    api = APIClient()
    # anonymous and another city's key: it does not exist
    response = api.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert api.get(url, **_key(city_b, ESERVICES_READ)).status_code == 404
    # the authoring city's key needs the scope
    response = api.get(url, **_key(city_a, MUNICIPALITY_READ))
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    response = api.get(url, **_key(city_a, ESERVICES_READ))
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    # sessions follow the web pages' rules
    login(api, designer_a)
    assert api.get(url).status_code == 200
    other = APIClient()
    login(other, admin_b_only)
    assert other.get(url).status_code == 404
    assert api.get(f"/api/v1/eservices/services/{draft.definition.slug}/versions/9/").status_code == 404


def test_adoptions_of_the_keys_city(released, city_a, city_d, admin_d, org_unit_d, owner, login):
    actions.adopt_service(
        municipality=city_d,
        version=released,
        actor=admin_d,
        local=actions.LocalSettings(start_date=dt.date(2026, 1, 1), org_unit=org_unit_d, fees={"ausweis": 2500}),
    )
    api = APIClient()
    response = api.get("/api/v1/eservices/adoptions/", **_key(city_d, ESERVICES_READ))
    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["service"] == released.definition.slug
    assert item["version"] == 1
    assert item["pending_upgrade_to"] is None
    assert item["fees"] == {"ausweis": 2500}
    assert item["org_unit"]["name"] == "Ordnungsamt Wetzlar"
    assert item["start_date"] == "2026-01-01"
    # another city's key sees its own (none) and is refused for D
    assert api.get("/api/v1/eservices/adoptions/", **_key(city_a, ESERVICES_READ)).json()["count"] == 0
    response = api.get("/api/v1/eservices/adoptions/?municipality=06532023", **_key(city_a, ESERVICES_READ))
    assert response.status_code == 403
    assert api.get("/api/v1/eservices/adoptions/", **_key(city_d, MUNICIPALITY_READ)).status_code == 403
    assert api.get("/api/v1/eservices/adoptions/").status_code == 401
    # a signed-in person names the city
    login(api, admin_d)
    response = api.get("/api/v1/eservices/adoptions/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "municipality"
    assert api.get("/api/v1/eservices/adoptions/?municipality=06532023").json()["count"] == 1
    other = APIClient()
    login(other, owner)
    assert other.get("/api/v1/eservices/adoptions/?municipality=06532023").status_code == 403


def test_the_library_endpoint_has_constant_queries(released, designer_a, city_a, django_assert_max_num_queries):
    for number in range(5):
        version = actions.create_service(
            municipality=city_a, actor=designer_a, title=f"Dienst {number}", content=released.content
        )
        actions.submit_for_review(version, actor=designer_a)
    # (unreleased ones are not listed, but they must not cost queries either)
    with django_assert_max_num_queries(4):
        APIClient().get("/api/v1/eservices/services/")


def test_the_scope_is_registered():
    from dikom.accounts.scopes import SCOPES

    assert ESERVICES_READ == "eservices:read"
    assert ESERVICES_READ in SCOPES
