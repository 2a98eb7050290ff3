"""The case statistics speak German: page, CSV and XLSX column headers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.lib.langcheck import foreign_text

pytestmark = pytest.mark.django_db

GERMAN_HEADERS = ["Organisationseinheit", "Neue Vorgänge", "Offene Vorgänge am Ende des Zeitraums"]


def test_statistics_columns_are_german(client: Client, login: Any, owner: Any, city_a: Any) -> None:
    login(client, owner)

    page = client.get("/vorgaenge/fulda/statistik/").content.decode()
    first_csv_line = client.get("/vorgaenge/fulda/statistik.csv").content.decode("utf-8-sig").splitlines()[0]

    for text in GERMAN_HEADERS:
        assert text in page
        assert text in first_csv_line
    assert "Media breaks" not in page and "New cases" not in page
    assert foreign_text(page, "de") == []
