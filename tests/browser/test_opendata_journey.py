"""The open data portal in a real browser: a publisher creates and publishes a dataset with a CSV file by clicking;
a citizen finds it from the start page through the search, on a phone (390 px) and a desktop screen (1280 px),
and sees its preview and queryable table."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import LazySettings

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import PASSWORD, MembershipFactory
from dikom.lib.testing import run_task_worker
from dikom.opendata.models import Dataset
from tests.browser.support import assert_accessible, assert_no_csp_violations, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = "Standort;Stadtteil;Baujahr\r\nUniversitätsplatz;Innenstadt;2019\r\nDomplatz;Innenstadt;2021\r\nAuepark;Aschenberg;2022\r\n"


def test_publisher_publishes_and_citizens_find_the_dataset(
    new_page: Any, browser_settings: LazySettings, city_a: Any, tmp_path: Any
) -> None:
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False
    MembershipFactory(user__username="fulda-publisher", municipality=city_a, role=Role.DATA_PUBLISHER)

    # The publisher, at a desktop screen, from the start page to a new dataset of Fulda.
    publisher = new_page(viewport={"width": 1280, "height": 900})
    log_in(publisher, "fulda-publisher", PASSWORD)
    publisher.goto("/")
    publisher.locator("main a[href='/opendata/']").first.click()
    publisher.get_by_role("link", name="Offene Daten veröffentlichen").click()
    publisher.get_by_role("link", name="Neuer Datensatz von Fulda").click()
    publisher.get_by_label("Titel").fill("Trinkwasserbrunnen in Fulda")
    publisher.get_by_label("Kurzname in Adressen").fill("trinkwasserbrunnen-fulda")
    publisher.get_by_label("Beschreibung (Markdown)").fill("Öffentliche **Trinkwasserbrunnen** der Stadt.")
    publisher.get_by_label("Stichwörter").fill("Wasser, Brunnen, Sommer")
    publisher.get_by_label("Umwelt").check()
    publisher.get_by_role("button", name="Speichern und veröffentlichen").click()
    publisher.get_by_text("Der Datensatz wurde gespeichert.").wait_for()
    assert_accessible(publisher)

    # A CSV as German portals publish it (semicolons, Windows-1252), uploaded through the form.
    upload = tmp_path / "brunnen.csv"
    upload.write_bytes(CSV.encode("cp1252"))
    resource_form = publisher.locator("form[enctype='multipart/form-data']")
    resource_form.get_by_label("Name").fill("Standorte")
    resource_form.get_by_label("Datei").set_input_files(str(upload))
    resource_form.get_by_role("button", name="Hinzufügen").click()
    publisher.get_by_text("Standorte (CSV)").wait_for()
    dataset = Dataset.objects.get(name="trinkwasserbrunnen-fulda")
    assert dataset.state == Dataset.State.PUBLISHED and dataset.resources.get().format == "CSV"
    run_task_worker()  # the DataStore reads the file in the background, as the worker of `make run` does
    assert_no_csp_violations(publisher)

    # Citizens, on a phone and on a desktop screen, from the start page through the search.
    for width in (390, 1280):
        citizen = new_page(viewport={"width": width, "height": 844})
        citizen.goto("/")
        citizen.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Offene Daten").click()
        citizen.get_by_label("Datensätze suchen").fill("Brunnen")
        citizen.get_by_role("button", name="Suchen").click()
        assert "1 Datensatz gefunden" in citizen.locator("main").inner_text()
        citizen.get_by_role("link", name="Trinkwasserbrunnen in Fulda").click()
        citizen.wait_for_url("**/opendata/datensaetze/trinkwasserbrunnen-fulda/")
        main = citizen.locator("main")
        assert "Öffentliche Trinkwasserbrunnen der Stadt." in main.inner_text()
        assert "Abfragbare Tabelle mit 3 Zeilen" in main.inner_text()
        citizen.get_by_text("Vorschau", exact=False).first.click()
        preview = citizen.get_by_role("table", name="Erste 3 Zeilen von Standorte")
        assert preview.locator("th").all_inner_texts() == ["Standort", "Stadtteil", "Baujahr"]
        assert preview.locator("tbody tr").first.locator("td").all_inner_texts() == [
            "Universitätsplatz",
            "Innenstadt",
            "2019",
        ]
        assert citizen.evaluate("document.documentElement.scrollWidth") <= width
        assert_accessible(citizen)
        assert_no_csp_violations(citizen)
