"""Publishers edit their city's datasets in the browser: create as draft, publish, edit, add a file, withdraw."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.opendata.models import Dataset
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db

FORM = {
    "title": "Trinkbrunnen",
    "name": "trinkbrunnen",
    "notes": "Öffentliche Trinkbrunnen",
    "keywords": "Wasser, Sommer",
    "themes": ["envi", "heal"],
    "license_id": "dl-zero-de/2.0",
    "contact_email": "opendata@fulda.example",
    "frequency": "ANNUAL",
    "temporal_start": "2025-01-01",
}


def test_publisher_creates_edits_publishes_and_withdraws(client: Client, login, publisher_a, org_a) -> None:
    login(client, publisher_a)
    assert client.get("/opendata/verwaltung/").status_code == 200
    response = client.post("/opendata/verwaltung/neu/fulda/", FORM)
    assert response.status_code == 302
    dataset = Dataset.objects.get(name="trinkbrunnen")
    assert dataset.state == Dataset.State.DRAFT and dataset.spatial_ags == "06631009"
    assert dataset.theme_codes == ["ENVI", "HEAL"] and dataset.frequency == "ANNUAL"
    assert client.get("/opendata/datensaetze/trinkbrunnen/", follow=False).status_code == 200  # she sees her draft
    client.post("/opendata/verwaltung/trinkbrunnen/status", {"state": "published"})
    dataset.refresh_from_db()
    assert dataset.state == Dataset.State.PUBLISHED and dataset.issued is not None
    response = client.post("/opendata/verwaltung/trinkbrunnen/", {**FORM, "title": "Trinkbrunnen 2026"})
    assert response.status_code == 302
    upload = SimpleUploadedFile("brunnen.csv", "Name;Ort\r\nDomplatz;Mitte\r\n".encode("cp1252"))
    response = client.post("/opendata/verwaltung/trinkbrunnen/ressourcen", {"name": "Liste", "upload": upload})
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.title == "Trinkbrunnen 2026" and dataset.resources.get().format == "CSV"
    client.post("/opendata/verwaltung/trinkbrunnen/status", {"state": "withdrawn"})
    client.logout()
    assert client.get("/opendata/datensaetze/trinkbrunnen/").status_code == 404
    assert dataset.revisions.count() == 5


def test_form_errors_are_german_and_nothing_is_saved(client: Client, login, publisher_a, org_a) -> None:
    login(client, publisher_a)
    response = client.post("/opendata/verwaltung/neu/fulda/", {**FORM, "title": "", "license_id": "frei"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Dieses Feld ist erforderlich." in html
    assert "frei ist keine gültige Auswahl" in html
    assert not Dataset.objects.filter(name="trinkbrunnen").exists()
    response = client.post("/opendata/verwaltung/trinkbrunnen/ressourcen", {"url": ""})
    assert response.status_code == 404


def test_other_cities_and_other_roles_are_refused(client: Client, login, outsider, colleague, org_a, org_b) -> None:
    make_dataset(org_a, "fulda-daten", "Fulda-Daten")
    login(client, outsider)  # administrator of Gießen
    assert client.get("/opendata/verwaltung/fulda-daten/").status_code == 403
    assert client.post("/opendata/verwaltung/neu/fulda/", FORM).status_code == 403
    assert client.post("/opendata/verwaltung/fulda-daten/status", {"state": "withdrawn"}).status_code == 403
    login(client, colleague)  # caseworker of Fulda, not a publisher
    assert client.get("/opendata/verwaltung/").status_code == 403
    assert Dataset.objects.get(name="fulda-daten").state == Dataset.State.PUBLISHED
