"""The designer, review and adoption pages in a real browser: axe-core finds no serious
WCAG 2.1 AA violation, the CSP blocks nothing, the live preview follows typing with
JavaScript and refreshes on save without it.

Runs with ``pytest -m browser``; the root conftest's ``browser`` fixture skips without Debian's chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dikom.eservices import actions
from tests.browser.support import assert_accessible, assert_no_csp_violations, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_page(browser: Any, live_server: Any, settings: Any) -> Iterator[Any]:
    settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # as in the demo; the 2FA journey is tested elsewhere
    contexts = []

    def make(javascript: bool = True) -> Any:
        context = browser.new_context(base_url=live_server.url, locale="de-DE", java_script_enabled=javascript)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.csp_violations = []

        def on_console(message: Any) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                page.csp_violations.append(message.text)

        page.on("console", on_console)
        return page

    yield make
    for context in contexts:
        context.close()


def test_designer_review_and_adoption_pages(
    open_page, draft, designer_a, reviewer_b, reviewer_c, admin_d, org_unit_d, city_b, password
):
    slug = draft.definition.slug
    base = f"/dienste/{slug}/v1/bearbeiten/"

    # The designer's field page with the live preview: typing updates the preview (JavaScript)
    page = open_page()
    log_in(page, "designer_a", password)
    page.goto(base + "schritte/0/felder/0/")
    assert page.locator("#preview").get_by_text("Name", exact=False).count() >= 1
    assert_accessible(page)
    page.fill("#id_label_de", "Vor- und Nachname")
    page.locator("#preview").get_by_text("Vor- und Nachname").wait_for()
    draft.refresh_from_db()
    assert draft.content["steps"][0]["fields"][0]["label"]["de"] == "Name"  # nothing stored while typing
    assert_no_csp_violations(page)
    page.goto(base)
    assert_accessible(page)
    page.goto(base + "gebuehren/")
    assert_accessible(page)
    page.goto(base + "einstellungen/")
    assert_accessible(page)

    # Without JavaScript the preview refreshes on save
    plain = open_page(javascript=False)
    log_in(plain, "designer_a", password)
    plain.goto(base + "schritte/0/felder/0/")
    plain.fill("#id_label_de", "Familienname")
    with plain.expect_navigation():
        plain.get_by_role("button", name="Feld speichern").or_(plain.get_by_role("button", name="Save field")).click()
    assert plain.locator("#preview").get_by_text("Familienname").count() == 1

    # The review page of a reviewer of another city
    draft.refresh_from_db()
    actions.submit_for_review(draft, actor=designer_a)
    reviewer = open_page()
    log_in(reviewer, "reviewer_b", password)
    reviewer.goto(f"/dienste/{slug}/v1/")
    assert reviewer.locator("#decision").count() == 1
    assert_accessible(reviewer)
    assert_no_csp_violations(reviewer)

    # The library (anonymous) and the adoption page of city D
    actions.review_version(draft, actor=reviewer_b, municipality=city_b, decision="approve")
    actions.review_version(
        draft, actor=reviewer_c, municipality=reviewer_c.memberships.get().municipality, decision="approve"
    )
    anonymous = open_page()
    anonymous.goto("/dienste/")
    assert anonymous.get_by_text("Bewohnerparkausweis").count() >= 1
    assert_accessible(anonymous)
    admin = open_page()
    log_in(admin, "admin_d", password)
    admin.goto(f"/dienste/{slug}/uebernahme/wetzlar/")
    assert_accessible(admin)
    assert_no_csp_violations(admin)
