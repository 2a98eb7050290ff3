"""A database that cannot be reached is a 503 with Retry-After (German), not a 500.

The handlers are called as Django and DRF call them, while a real database exception is being
handled; the whole path with a PostgreSQL server stopped for real is in
``dikom/lib/tests/test_primary_restart.py``.
"""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from django.utils import translation

from dikom.api.problems import problem_exception_handler
from dikom.web.views import server_error


def _handled(request_path: str, error: Exception) -> tuple[int, dict[str, str], str]:
    request = RequestFactory().get(request_path)
    with translation.override("de"):
        try:
            raise error
        except Exception:
            response = server_error(request)
    return response.status_code, dict(response.headers), response.content.decode()


def test_a_page_whose_database_is_gone_is_a_german_503_page() -> None:
    status, headers, body = _handled("/opendata/", OperationalError("connection refused"))

    assert status == 503
    assert headers["Retry-After"] == "5"
    assert "Vorübergehend nicht verfügbar" in body
    assert "Die Datenbank ist gerade nicht erreichbar" in body


def test_an_api_request_whose_database_is_gone_is_a_503_problem() -> None:
    status, headers, body = _handled("/api/v1/analytics/summary", OperationalError("connection refused"))

    assert status == 503
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Retry-After"] == "5"
    problem = json.loads(body)
    assert problem["type"].endswith("unavailable")
    assert problem["detail"].startswith("Die Datenbank ist gerade nicht erreichbar")


def test_other_errors_stay_500() -> None:
    status, headers, _ = _handled("/opendata/", ValueError("a bug"))

    assert status == 500
    assert "Retry-After" not in headers


@pytest.mark.django_db
def test_drf_answers_a_database_error_with_503() -> None:
    with translation.override("de"):
        response = problem_exception_handler(OperationalError("connection refused"), {})

    assert response is not None
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data["detail"].startswith("Die Datenbank ist gerade nicht erreichbar")
