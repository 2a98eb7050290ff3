import pytest

pytestmark = pytest.mark.django_db


def test_unknown_api_paths_outside_v1_answer_problem_json(client):
    response = client.get("/api/v2/nothing-here")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["detail"] == "No API endpoint at /api/v2/nothing-here."


def test_pages_outside_the_api_stay_html(client):
    response = client.get("/gibt-es-nicht/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
