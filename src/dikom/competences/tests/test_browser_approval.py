"""In a real browser: a clerk of Fulda requests a training offered by Gießen, her line manager
approves it on his approvals page, and the training shows as booked for her (and in her list)."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dikom.competences import programme
from dikom.competences.models import Enrolment
from dikom.competences.tests.test_browser_programme import _context, _no_sideways_scroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[4]


def test_clerk_requests_a_training_of_another_city_and_her_manager_approves(
    browser: Any, live_server: Any, team: Any, city_b: Any, login: Any, migration_data: None
) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.browser.support import assert_accessible

    start = timezone.now() + datetime.timedelta(days=12)
    training = programme.create_training(
        offered_by=city_b,
        title="E-Akte in der Praxis",
        framework_version=team.profile.framework_version,
        targets={"1.1": 4},
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        seats=1,
    )
    clerk_context = _context(browser, live_server, login(Client(), team.clerk.user), width=1280)
    manager_context = _context(browser, live_server, login(Client(), team.manager), width=390)
    try:
        # The clerk finds the Gießen training in the catalogue and asks to attend
        clerk = clerk_context.new_page()
        clerk.goto("/kompetenzen/schulungen/")
        clerk.get_by_role("link", name="E-Akte in der Praxis").first.click()
        assert "Angeboten von Gießen" in clerk.content()
        clerk.get_by_role("button", name="Anmelden").click()
        assert "Ihre Anfrage wurde Ihrer Führungskraft zur Freigabe geschickt" in clerk.content()
        assert "Wartet auf Freigabe durch die Führungskraft" in clerk.content()
        assert "1 von 1 Plätzen frei" in clerk.content()  # a request takes no seat

        # Her manager (on his phone) sees the request on his roadMAP start page and approves it
        manager = manager_context.new_page()
        manager.goto("/kompetenzen/")
        manager.get_by_role("link", name="1 Schulungsanfrage wartet auf Ihre Freigabe").click()
        _no_sideways_scroll(manager)
        assert_accessible(manager)
        assert "Clerk" in manager.content() and "E-Akte in der Praxis" in manager.content()
        manager.get_by_label("Kommentar (optional)").fill("Gern, passt zur E-Akte-Einführung.")
        manager.get_by_role("button", name="Zustimmen Clerk").click()
        assert "E-Akte in der Praxis: Angemeldet" in manager.content()
        assert "Keine Anfragen warten auf Ihre Entscheidung." in manager.content()

        # The clerk reloads: the training is booked
        clerk.reload()
        assert "Ihre Anmeldung: Angemeldet" in clerk.content()
        assert "0 von 1 Plätzen frei" in clerk.content()
        clerk.goto("/kompetenzen/schulungen/")
        mine = clerk.locator("#mine-heading + ul").inner_text()
        assert "E-Akte in der Praxis" in mine and "Angemeldet" in mine
        enrolment = Enrolment.objects.get(training=training)
        assert enrolment.status == Enrolment.Status.ENROLLED and enrolment.decided_by == team.manager
    finally:
        clerk_context.close()
        manager_context.close()
