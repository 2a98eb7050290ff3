"""The public list of member municipalities: no credentials, no personal data."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from dikom.municipalities.models import Municipality
from dikom.municipalities.tests.factories import MunicipalityFactory

PUBLIC_FIELDS = {
    "uuid",
    "name",
    "slug",
    "ags",
    "kind",
    "district",
    "state_key",
    "population",
    "size_class",
    "membership",
    "website",
}


def test_list_is_public_and_holds_no_personal_data(
    api: APIClient, city_a: Municipality, city_b: Municipality, owner: Any
) -> None:
    response = api.get("/api/v1/municipalities/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    by_ags = {row["ags"]: row for row in body["results"]}
    assert set(by_ags) == {"06631009", "06531005"}
    fulda = by_ags["06631009"]
    assert set(fulda) == PUBLIC_FIELDS
    assert fulda["district"] == {"key": "06631", "name": "Landkreis Fulda"}
    assert fulda["state_key"] == "06"
    assert fulda["size_class"] == "medium_town"
    assert fulda["uuid"] == str(city_a.uuid)
    # The municipality administrator exists, but nothing about people leaks.
    assert "owner" not in response.content.decode()
    assert "@" not in response.content.decode()


def test_list_queries_do_not_grow_with_the_number_of_municipalities(
    api: APIClient, django_assert_max_num_queries: Any, city_a: Municipality
) -> None:
    MunicipalityFactory.create_batch(15)

    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/municipalities/")

    assert response.status_code == 200
    assert response.json()["count"] == 16


def test_detail_by_ags(api: APIClient, city_a: Municipality) -> None:
    response = api.get("/api/v1/municipalities/06631009/")

    assert response.status_code == 200
    assert response.json()["name"] == "Fulda"
    assert response.json()["district"]["key"] == "06631"


def test_unknown_ags_is_a_404_problem(api: APIClient, city_a: Municipality) -> None:
    response = api.get("/api/v1/municipalities/06611000/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "https://dikom.de/problems/not-found"


def test_malformed_ags_is_a_400_naming_the_field(api: APIClient, city_a: Municipality) -> None:
    for malformed in ("0663100", "abcdefgh", "99631009"):
        response = api.get(f"/api/v1/municipalities/{malformed}/", HTTP_ACCEPT_LANGUAGE="en")

        assert response.status_code == 400, malformed
        problem = response.json()
        assert problem["type"] == "https://dikom.de/problems/validation-error"
        assert [error["field"] for error in problem["errors"]] == ["ags"]


def test_public_list_answers_401_for_a_wrong_key_rather_than_ignoring_it(api: APIClient, city_a: Municipality) -> None:
    response = api.get("/api/v1/municipalities/", HTTP_AUTHORIZATION="Api-Key dk_nope_nope")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
