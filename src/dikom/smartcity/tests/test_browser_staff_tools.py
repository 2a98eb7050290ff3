"""A city admin's journey through the staff tools in a real browser, on a phone (390 px) and a desktop (1280 px):
from the city page to the thresholds (a bin threshold set, a German validation error seen), to the emptying round
(start point set, CSV downloaded, the page used without JavaScript) and to the readings export (CSV downloaded).
axe-core finds no serious WCAG 2.1 AA violation, the CSP blocks nothing, no page scrolls sideways.

Runs with ``pytest -m browser``; the root conftest's ``browser`` fixture skips without Debian's chromium."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from dikom.smartcity.models import RouteStart, Threshold
from dikom.smartcity.tests.browser_pages import DESKTOP, PHONE, assert_fits_width
from dikom.smartcity.tests.factories import bin_with_reading, probe_thing
from tests.browser.support import assert_accessible, assert_no_csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _check_page(page: Any) -> None:
    assert_accessible(page)
    assert_fits_width(page)
    assert_no_csp_violations(page)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_admin_sets_thresholds_plans_the_round_and_exports_readings(
    open_page: Any, viewport: dict[str, int], city_a: Any, owner: Any
) -> None:
    for name, lon, percent in [("Am Dom", 9.672, 90), ("Bahnhof", 9.684, 70), ("Uniplatz", 9.679, 95)]:
        bin_ = bin_with_reading(city_a, percent, unit="%")
        bin_.name, bin_.longitude = name, lon
        bin_.save()
    probe_thing(city_a, [(timezone.now() - dt.timedelta(hours=1), 42.0)])
    page = open_page(viewport, user="owner")

    # Thresholds: from the city page; a wrong entry gets a German error, then bins are due from 65 %.
    page.goto("/stadt/fulda/")
    page.get_by_role("link", name="Schwellenwerte für Bäume und Abfallbehälter").click()
    _check_page(page)
    page.check("input[name=subject][value=bins]")
    page.select_option("select[name=scope]", "city")
    with page.expect_navigation():
        page.get_by_role("button", name="Schwellenwert speichern").click()
    assert page.get_by_text("Geben Sie den Füllstand ein, ab dem ein Behälter geleert werden muss.").is_visible()
    _check_page(page)
    page.check("input[name=subject][value=bins]")
    page.select_option("select[name=scope]", "city")
    page.fill("input[name=full_from_percent]", "65")
    with page.expect_navigation():
        page.get_by_role("button", name="Schwellenwert speichern").click()
    assert page.get_by_text("Der Schwellenwert wurde gespeichert.").is_visible()
    assert Threshold.objects.get(municipality=city_a).full_from_percent == 65

    # The emptying round: all three bins (70 % now counts), from the depot, as CSV.
    page.goto("/stadt/fulda/")
    page.get_by_role("link", name="Leerungstour: zu leerende Behälter in Routenreihenfolge").click()
    assert page.get_by_text("3 von 3 Abfallbehältern müssen geleert werden").is_visible()
    page.fill("input[name=name]", "Betriebshof Nord")
    page.fill("input[name=longitude]", "9.69")
    page.fill("input[name=latitude]", "50.56")
    with page.expect_navigation():
        page.get_by_role("button", name="Startpunkt speichern").click()
    assert RouteStart.objects.get(municipality=city_a).name == "Betriebshof Nord"
    assert page.get_by_text("ab Betriebshof Nord und zurück").is_visible()
    _check_page(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Runde als CSV herunterladen").click()
    csv = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert csv.splitlines()[1].split(";")[1] == "Betriebshof Nord"

    # Without JavaScript the list of bins links to the round, and the round is all there.
    plain = open_page(viewport, javascript=False, user="owner")
    plain.goto("/stadt/fulda/abfallbehaelter/")
    plain.get_by_role("link", name="Leerungstour: zu leerende Behälter in Routenreihenfolge").click()
    assert plain.get_by_role("table", name="Haltestellen in Routenreihenfolge").locator("tbody tr").count() == 5

    # The readings export: one datastream, the last 30 days, CSV with decimal comma.
    page.goto("/stadt/fulda/")
    page.get_by_role("link", name="Messwerte exportieren").click()
    _check_page(page)
    page.get_by_label("Baum mit Sonde: Saugspannung 30 cm").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Herunterladen").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert ";42,0;cbar" in data.decode("utf-8-sig")
