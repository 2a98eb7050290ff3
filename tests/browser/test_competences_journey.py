"""roadMAP in a real browser: a demo clerk signs in from the start page, assesses herself, her manager confirms.

The demo cooperation and its roadMAP data are loaded as ``make run`` does; everything after
that happens by clicking, on a phone-sized screen (390 px) for the clerk.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import LazySettings

from dikom.competences.demo import load_demo_competences
from dikom.competences.models import Assessment
from dikom.demo.actions import load_demo_cooperation
from tests.browser.support import assert_accessible, assert_no_csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Demo-Browser-Passwort-42"


def _sign_in_from_start(page: Any, username: str) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Anmelden").click()
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='username']").fill(username)
    form.locator("input[name='password']").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type='submit']").first.click()


def test_clerk_assesses_herself_and_her_manager_confirms(new_page: Any, browser_settings: LazySettings) -> None:
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # as in the demo set-up
    load_demo_cooperation(password=PASSWORD)
    load_demo_competences(password=PASSWORD)

    # The clerk (Fulda's demo caseworker, Bürgerbüro) on a phone.
    clerk = new_page(viewport={"width": 390, "height": 844})
    _sign_in_from_start(clerk, "fulda-caseworker")
    clerk.get_by_role("link", name="roadMAP", exact=True).click()
    clerk.get_by_role("link", name="Mich selbst einschätzen").first.click()
    assert "Einfache Aufgaben, mit Anleitung." in clerk.locator("main").inner_text()  # the level descriptors
    assert clerk.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(clerk)
    fieldsets = clerk.locator("fieldset")
    for index in range(fieldsets.count()):
        fieldsets.nth(index).locator("input[type='radio'][value='3']").check()
    clerk.get_by_role("button", name="Selbsteinschätzung speichern").click()
    clerk.wait_for_url("**/kompetenzen/personen/**")
    assert "wartet auf die Führungskraft" in clerk.locator("main").inner_text()
    assert Assessment.objects.filter(staff__user__username="fulda-caseworker", status="pending").count() == 5
    assert_no_csp_violations(clerk)

    # Her line manager confirms one level and corrects another.
    manager = new_page()
    _sign_in_from_start(manager, "fulda-teamleitung")
    manager.get_by_role("link", name="roadMAP", exact=True).click()
    manager.get_by_role("link", name="Sven Sachbearbeitung (Fulda)").click()
    assert "Dieser Zugriff wird im Prüfprotokoll festgehalten." in manager.locator("main").inner_text()
    forms = manager.locator("form[action*='/bewertung/']")
    forms.nth(0).get_by_role("button").click()
    manager.get_by_text("Die Einschätzung wurde geprüft.").wait_for()
    forms = manager.locator("form[action*='/bewertung/']")
    forms.nth(1).locator("select[name='level']").select_option("2")
    forms.nth(1).get_by_role("button").click()
    manager.get_by_text("Die Einschätzung wurde geprüft.").wait_for()
    assert_accessible(manager)
    statuses = sorted(
        Assessment.objects.filter(staff__user__username="fulda-caseworker").values_list("status", flat=True)
    )
    assert statuses == ["confirmed", "corrected", "pending", "pending", "pending"]

    # The clerk sees her confirmed levels and gaps.
    clerk.reload()
    assert "Bestätigt" in clerk.locator("main").inner_text()
    assert "von der Führungskraft korrigiert" in clerk.locator("main").inner_text()
