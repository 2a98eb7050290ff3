"""Who may use the figures pages: analysts and administrators of the city; others 403, other cities' uploads 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.analytics.figures.models import FigureUpload, MonthlyFigure
from dikom.municipalities.models import Municipality


@pytest.fixture
def a_upload(city_a: Municipality) -> FigureUpload:
    return FigureUpload.objects.create(
        municipality=city_a,
        file_name="a.csv",
        size=1,
        sha256="0" * 64,
        rows=[
            {
                "row": 2,
                "month": "2025-01-01",
                "service_key": "a",
                "leika_key": "",
                "metric": "visits",
                "value": "1",
                "observations": None,
            }
        ],
    )


def _pages(slug: str, upload: FigureUpload) -> list[str]:
    return [
        f"/analytics/daten/{slug}/",
        f"/analytics/daten/{slug}/kennzahlen/",
        f"/analytics/daten/{slug}/uploads/{upload.uuid}/",
    ]


@pytest.mark.parametrize("who", ["owner", "analyst"])
def test_admins_and_analysts_of_the_city_see_the_pages(
    client: Client, login: Any, who: str, request: Any, a_upload: FigureUpload
) -> None:
    login(client, request.getfixturevalue(who))
    for url in _pages("fulda", a_upload):
        assert client.get(url).status_code == 200, url


def test_caseworker_and_outsider_get_403(
    client: Client, login: Any, colleague: Any, outsider: Any, a_upload: FigureUpload
) -> None:
    for user in (colleague, outsider):
        login(client, user)
        for url in _pages("fulda", a_upload):
            assert client.get(url).status_code == 403, url
        response = client.post("/analytics/daten/fulda/", {"file": SimpleUploadedFile("x.csv", b"month;service\n")})
        assert response.status_code == 403
        assert client.post(f"/analytics/daten/fulda/uploads/{a_upload.uuid}/anwenden").status_code == 403
    assert not FigureUpload.objects.exclude(pk=a_upload.pk).exists()


def test_other_citys_upload_is_404_even_for_its_own_admin(
    client: Client, login: Any, outsider: Any, a_upload: FigureUpload, city_b: Municipality
) -> None:
    login(client, outsider)
    assert client.get("/analytics/daten/giessen/").status_code == 200
    assert client.get(f"/analytics/daten/giessen/uploads/{a_upload.uuid}/").status_code == 404
    assert client.post(f"/analytics/daten/giessen/uploads/{a_upload.uuid}/anwenden").status_code == 404
    assert client.post(f"/analytics/daten/giessen/uploads/{a_upload.uuid}/verwerfen").status_code == 404
    a_upload.refresh_from_db()
    assert a_upload.status == "preview" and not MonthlyFigure.objects.exists()


def test_anonymous_is_sent_to_login(client: Client, city_a: Municipality) -> None:
    response = client.get("/analytics/daten/fulda/")
    assert response.status_code == 302 and response["Location"].startswith("/konto/")


def test_unknown_city_is_404(client: Client, login: Any, platform_admin: Any) -> None:
    login(client, platform_admin)
    assert client.get("/analytics/daten/atlantis/").status_code == 404


def test_upload_page_works_without_javascript_and_csp(client: Client, login: Any, owner: Any) -> None:
    login(client, owner)
    html = client.get("/analytics/daten/fulda/").content.decode()
    assert 'enctype="multipart/form-data"' in html and 'accept=".csv,.xlsx' in html
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
