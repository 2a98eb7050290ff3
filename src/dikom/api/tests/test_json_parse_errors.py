"""A malformed JSON body is explained in the client's language, with where the error is."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = [pytest.mark.urls("dikom.api.tests.urls"), pytest.mark.django_db]


def post_broken_json(language: str) -> dict[str, object]:
    response = APIClient().generic(
        "POST",
        "/api/v1/test-echo/",
        '{"name": "Fulda",\n "ags": }',
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def test_malformed_json_is_explained_in_german() -> None:
    body = post_broken_json("de")

    assert body["type"] == "https://dikom.de/problems/malformed-request"
    assert body["detail"] == (
        "Der Anfragetext ist kein gültiges JSON: Fehler in Zeile 2, Spalte 9. "
        "Prüfen Sie dort Anführungszeichen, Kommas und Klammern."
    )
    assert (body["line"], body["column"]) == (2, 9)


def test_malformed_json_is_explained_in_english() -> None:
    body = post_broken_json("en")

    assert body["detail"].startswith("The request body is not valid JSON: error in line 2, column 9.")
    assert "Expecting value" not in body["detail"]
