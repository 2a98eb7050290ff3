"""A change in per cent is a "Veränderung", not the verb "Ändern" (one English word, two meanings)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from dikom.analytics.dashboards.tests.conftest import period_query
from dikom.lib.langcheck import visible_texts

pytestmark = pytest.mark.django_db


def test_service_page_and_export_head_the_per_cent_column_veraenderung(
    client: Any, login: Any, analyst: Any, example: Any
) -> None:
    login(client, analyst)
    url = f"/analytics/fulda/dienste/{example['parking'].uuid}/"

    texts = visible_texts(client.get(url + period_query()).content.decode())
    header = next(
        csv.reader(io.StringIO(client.get(url + period_query(export="csv", table="kennzahlen")).content.decode()))
    )

    assert "Veränderung" in texts and "Ändern" not in texts
    assert header[-1] == "Veränderung (%)"


def test_overview_heads_the_per_cent_column_veraenderung(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)

    texts = visible_texts(client.get("/analytics/fulda/" + period_query()).content.decode())

    assert "Veränderung" in texts and "Ändern" not in texts
