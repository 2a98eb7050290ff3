"""A designer uploads a DMN file of the DMN TCK, reads its table and tries it with the test form (in chromium,
checked with axe-core)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.eservices import actions as eservice_actions
from dikom.eservices.tests.conftest import PARKING
from tests.browser.support import assert_accessible, assert_no_csp_violations, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TCK = Path(__file__).resolve().parents[2] / "src" / "dikom" / "cases" / "tests" / "data" / "dmn-tck"


@pytest.fixture
def designer_settings(browser_settings: LazySettings) -> LazySettings:
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # the 2FA journey is tested elsewhere
    return browser_settings


def test_a_designer_uploads_reads_and_tries_a_decision_table(
    page: Any, designer_settings: LazySettings, city_a: Any, password: str
) -> None:
    designer = MembershipFactory(user__username="planerin", municipality=city_a, role=Role.PROCESS_DESIGNER).user
    draft = eservice_actions.create_service(
        municipality=city_a, actor=designer, title="Bewohnerparkausweis", content=copy.deepcopy(PARKING)
    )
    log_in(page, designer.username, password)
    page.goto(f"/dienste/{draft.definition.slug}/v1/bearbeiten/prozess/")
    section = page.locator("#decisions")
    section.locator("input[type='file']").set_input_files(str(TCK / "0006-simpletable-P1.dmn"))
    with page.expect_navigation():
        section.locator("button[type='submit']").last.click()
    assert "wurden gespeichert" in page.locator(".messages").inner_text()
    with page.expect_navigation():
        page.locator("#decisions a", has_text="0006-simpletable-P1").click()

    table = page.locator("table.decision-table")
    assert table.locator("caption").inner_text().startswith("Entscheidungstabelle „Approval Status“ mit 4 Regeln")
    assert table.locator("th[scope='row']").count() == 4
    assert "PRIORITY" in page.locator("main").inner_text()
    assert_accessible(page)

    form = page.locator("#test form")
    form.get_by_label("Age").fill("17")
    form.get_by_label("RiskCategory").fill("High")
    form.get_by_label("isAffordable").select_option("true")
    with page.expect_navigation():
        form.locator("button[type='submit']").click()
    result = page.locator(".decision-result").inner_text()
    assert "Ergebnis" in result and "Declined" in result
    assert page.locator("tr.decision-table__matched").count() >= 1
    assert_accessible(page)
    assert_no_csp_violations(page)
