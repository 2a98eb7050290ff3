"""The accessibility statement (BITV 2.0 structure)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_statement_has_the_required_sections(client: Client) -> None:
    response = client.get("/barrierefreiheit/")
    assert response.status_code == 200
    html = response.content.decode()
    for heading in [
        "Stand der Vereinbarkeit mit den Anforderungen",
        "Nicht barrierefreie Inhalte",
        "Feedback und Kontaktangaben",
        "Durchsetzungsverfahren",
    ]:
        assert f"<h2>{heading}</h2>" in html
    assert "Betreiber dieser Installation" in html
    assert "BITV 2.0" in html


def test_brand_text_colour_picks_the_better_contrast() -> None:
    from dikom.web.branding import brand_for, contrast_ratio, initials

    assert brand_for("#ffd700").on_colour == "#000000"
    assert brand_for("#005a9c").on_colour == "#ffffff"
    assert brand_for("javascript:alert(1)").colour == "#005a9c"
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert initials("Limburg a. d. Lahn") == "LL"
    assert initials("Rheingau-Taunus-Kreis") == "RT"
