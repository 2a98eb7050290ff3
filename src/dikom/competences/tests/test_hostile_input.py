"""roadMAP with hostile input: NUL in imported frameworks, formulas in exported CSV, settings
beyond what dates can hold. Every refusal is a German message, never a 500."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.competences import actions, exchange
from dikom.competences.models import CitySettings, Framework, FrameworkVersion
from dikom.competences.tests.conftest import Team

pytestmark = pytest.mark.django_db

IMPORT = "/kompetenzen/fulda/rahmen/import/"


def _framework(area_code: str = "A", title: str = "Aktenführung") -> dict[str, Any]:
    return {
        "format": exchange.FORMAT,
        "key": "fulda-verwaltung",
        "name": {"de": "Fuldaer Verwaltungskompetenzen"},
        "levels": [{"value": 1, "title": {"de": "Basis"}, "descriptor": {"de": "mit Hilfe"}}],
        "areas": [
            {"code": area_code, "title": {"de": "E-Akte"}, "competences": [{"code": "A1", "title": {"de": title}}]}
        ],
    }


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("r.json", json.dumps(_framework(title="Akten\u0000führung")).encode()),
        ("r.csv", exchange.to_csv(exchange.validate_document(_framework())).replace("E-Akte", "E-\x00Akte").encode()),
    ],
)
def test_nul_in_an_imported_framework_is_refused_in_german(
    city_a: Any, owner: Any, login: Any, name: str, content: bytes
) -> None:
    # PostgreSQL cannot store NUL, not even inside JSON: it must be refused before saving.
    client = login(Client(), owner)
    response = client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert "NUL-Zeichen" in response.content.decode()
    assert not Framework.objects.filter(municipality=city_a).exists()


def test_exported_csv_never_holds_a_formula_not_even_in_an_area_code(city_a: Any, owner: Any, login: Any) -> None:
    client = login(Client(), owner)
    hostile = '=HYPERLINK("https://evil.example","Details")'
    upload = SimpleUploadedFile("r.json", json.dumps(_framework(area_code=hostile)).encode())
    assert client.post(IMPORT, {"file": upload}).status_code == 302
    version = FrameworkVersion.objects.get(framework__key="fulda-verwaltung")

    exported = client.get(f"/kompetenzen/rahmen/{version.uuid}/export.csv").content.decode()

    rows = list(csv.DictReader(io.StringIO(exported)))
    codes = [row["code"] for row in rows if row["kind"] == "area"]
    parents = [row["parent"] for row in rows if row["kind"] == "competence"]
    assert codes == parents == ["'" + hostile]


@pytest.mark.parametrize(
    ("field", "value"),
    [("review_interval_days", 99_999_999), ("retention_days", 99_999_999), ("review_interval_days", 0)],
)
def test_settings_beyond_what_dates_can_hold_are_refused(team: Team, login: Any, field: str, value: int) -> None:
    client = login(Client(), team.hr)
    data = {"retention_days": 90, "review_interval_days": 365, field: value}

    response = client.post("/kompetenzen/fulda/einstellungen/", data)

    assert response.status_code == 400
    assert "Wert" in response.content.decode()  # Django's German "Stellen Sie sicher, dass dieser Wert …"
    assert not CitySettings.objects.filter(**{field: value}).exists()
    # The periodic tasks still run for the city.
    actions.delete_departed()
    actions.send_review_reminders()
