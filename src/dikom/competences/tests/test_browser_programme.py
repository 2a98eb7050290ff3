"""In a real browser at 390 px: from the start page to a gap, a training of another city booked,
an expert found, a forum question answered; no page scrolls sideways; axe finds nothing serious."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.competences import actions, programme
from dikom.competences.models import Enrolment
from dikom.competences.tests.conftest import make_unit, staff_user
from dikom.forum import actions as forum_actions
from dikom.forum.models import Category

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[4]


def _context(browser: Any, live_server: Any, client: Client, width: int = 390) -> Any:
    context = browser.new_context(base_url=live_server.url, locale="de-DE", viewport={"width": width, "height": 800})
    context.set_default_timeout(15_000)
    host = live_server.url.split("//")[1].split(":")[0]
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "domain": host,
                "path": "/",
            }
        ]
    )
    return context


def _no_sideways_scroll(page: Any) -> None:
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    widest = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 392 || e.scrollWidth > 392)"
        ".slice(0, 6).map(e => e.tagName + '.' + e.className + ':' + e.scrollWidth).join(', ')"
    )
    assert width <= 390, f"{page.url} is {width} px wide: {widest}"


def test_gap_to_training_expert_and_forum_at_390_px(
    browser: Any, live_server: Any, team: Any, city_b: Any, login: Any, migration_data: None
) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.browser.support import assert_accessible

    created = actions.submit_self_assessment(team.clerk, {"4.2": 2}, actor=team.clerk.user)
    actions.review_assessment(created[0], manager=team.manager, level=2)
    start = timezone.now() + datetime.timedelta(days=9)
    training = programme.create_training(
        offered_by=city_b,
        title="Datenschutz kompakt",
        framework_version=team.profile.framework_version,
        targets={"4.2": 5},
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        seats=8,
        format="hybrid",
        place="Rathaus Gießen, Berliner Platz 1, Großer Sitzungssaal im Erdgeschoss",
    )
    expert_user = staff_user(city_b, "zora-expert")
    expert = actions.enrol_staff(
        user=expert_user, municipality=city_b, org_unit=make_unit(city_b, "IT"), role_profile=None
    )
    programme.opt_in_as_expert(expert, competence_codes=["4.2"], clusters=[], availability="montags", actor=None)
    forum_actions.ask_question(
        author=staff_user(city_b, "fragerin", Role.STAFF_MEMBER),
        category=Category.objects.first(),
        title="Langer Titel mit Donaudampfschifffahrtsgesellschaftskapitänsmütze",
        body="Ein `sehr_langer_bezeichner_ohne_leerzeichen_der_umbrechen_muss_auf_dem_telefon` im Text.",
    )

    context = _context(browser, live_server, login(Client(), team.clerk.user))
    page = context.new_page()
    try:
        page.goto("/start/")
        page.locator("a[href='/kompetenzen/']").first.click()
        _no_sideways_scroll(page)
        page.get_by_role("link", name="Lücken und Verlauf").click()
        _no_sideways_scroll(page)
        assert_accessible(page)
        page.get_by_role("link", name="Datenschutz kompakt").click()
        _no_sideways_scroll(page)
        assert_accessible(page)
        page.get_by_role("button", name="Anmelden").click()
        assert "Ihre Anfrage wurde Ihrer Führungskraft zur Freigabe geschickt" in page.content()
        assert Enrolment.objects.get(training=training).staff == team.clerk
        page.go_back()
        page.goto(f"/kompetenzen/personen/{team.clerk.uuid}/")
        page.locator("a[href='/kompetenzen/experten/?kompetenz=4.2']").first.click()
        assert "Zora-Expert" in page.content()
        _no_sideways_scroll(page)
        assert_accessible(page)
        page.goto("/kompetenzen/schulungen/")
        _no_sideways_scroll(page)
        page.goto("/start/")
        page.locator("a[href='/transferforum/']").first.click()
        _no_sideways_scroll(page)
        assert_accessible(page)
        page.get_by_role("link", name="Langer Titel mit Donaudampfschifffahrtsgesellschaftskapitänsmütze").click()
        _no_sideways_scroll(page)
        assert_accessible(page)
    finally:
        context.close()
