import pytest

pytestmark = pytest.mark.django_db


def test_unknown_api_paths_outside_v1_answer_problem_json(client):
    response = client.get("/api/v2/nothing-here", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["detail"] == "No API endpoint at /api/v2/nothing-here."


def test_pages_outside_the_api_stay_html(client):
    response = client.get("/gibt-es-nicht/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_api_problem_texts_follow_the_language(client):
    response = client.get("/api/v2/nothing-here", HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 404
    assert response.json()["detail"] == "Unter /api/v2/nothing-here gibt es keinen API-Endpunkt."
