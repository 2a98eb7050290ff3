"""In a real browser (Debian's chromium through Playwright): a Fulda clerk asks a question naming a
Gießen expert with @, the expert is notified and answers, a third colleague votes, the asker accepts
the answer, and the question is found by the German search ("Bäume" finds "Baum"); axe finds nothing
serious on the forum pages."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.forum.models import Answer, Notification, Topic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[4]


def _staff(city: Any, username: str, first: str, last: str) -> Any:
    return MembershipFactory(
        user__username=username,
        user__first_name=first,
        user__last_name=last,
        municipality=city,
        role=Role.STAFF_MEMBER,
    ).user


def _page(browser: Any, live_server: Any, client: Client) -> tuple[Any, Any]:
    context = browser.new_context(base_url=live_server.url, locale="de-DE", viewport={"width": 1024, "height": 900})
    context.set_default_timeout(15_000)
    host = live_server.url.split("//")[1].split(":")[0]
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "domain": host, "path": "/"}])
    return context, context.new_page()


def test_ask_mention_answer_vote_accept_and_search_in_a_browser(
    browser: Any, live_server: Any, city_a: Any, city_b: Any, login: Any, migration_data: None
) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.browser.support import assert_accessible as check_page

    def assert_accessible(page: Any) -> None:
        page.wait_for_load_state("load")
        check_page(page)

    asker = _staff(city_a, "anna.fulda", "Anna", "Fragt")
    expert = _staff(city_b, "bernd.giessen", "Bernd", "Weiß")
    voter = _staff(city_b, "carla.giessen", "Carla", "Stimmt")
    contexts = []
    try:
        context, page = _page(browser, live_server, login(Client(), asker))
        contexts.append(context)
        # Ask, naming the expert with @
        page.goto("/start/")
        page.locator("a[href='/transferforum/']").first.click()
        assert_accessible(page)
        page.get_by_role("link", name="Frage stellen").first.click()
        page.get_by_label("Kategorie").select_option(label="Daten und Open Data")
        page.get_by_label("Titel").fill("Wie erfasst ihr Bäume im Kataster?")
        page.get_by_label("Ihre Frage").fill(
            "Wir suchen ein Verfahren für das Baumkataster. @bernd.giessen, wie macht ihr das?"
        )
        page.get_by_role("button", name="Frage veröffentlichen").click()
        page.wait_for_url(re.compile(r"/transferforum/fragen/[0-9a-f-]+/$"))
        assert "Wie erfasst ihr Bäume im Kataster?" in page.content()
        assert_accessible(page)
        topic = Topic.objects.get()
        assert Notification.objects.filter(user=expert, kind="mention", topic=topic).exists()

        # The expert sees the mention among his notifications and answers
        expert_context, expert_page = _page(browser, live_server, login(Client(), expert))
        contexts.append(expert_context)
        expert_page.goto("/transferforum/")
        expert_page.get_by_role("link", name="Benachrichtigungen und Abonnements").click()
        assert "Sie wurden erwähnt" in expert_page.content()
        assert_accessible(expert_page)
        expert_page.get_by_role("link", name="Wie erfasst ihr Bäume im Kataster?").click()
        expert_page.get_by_role("textbox", name="Ihre Antwort").fill(
            "Wir pflegen jeden Baum mit GPS-Punkt im Grünflächenamt."
        )
        expert_page.get_by_role("button", name="Antwort veröffentlichen").click()
        expert_page.wait_for_load_state("load")
        assert "Ihre Antwort wurde veröffentlicht." in expert_page.content()
        answer = Answer.objects.get()

        # A colleague votes for the answer
        voter_context, voter_page = _page(browser, live_server, login(Client(), voter))
        contexts.append(voter_context)
        voter_page.goto(f"/transferforum/fragen/{topic.uuid}/")
        voter_page.get_by_role("button", name="Positiv bewerten (die Antwort von Bernd Weiß)").click()
        voter_page.wait_for_load_state("load")
        assert "1 Stimme" in voter_page.content()
        answer.refresh_from_db()
        assert answer.score == 1

        # The asker accepts it
        page.reload()
        page.get_by_role("button", name="Diese Antwort akzeptieren Bernd Weiß").click()
        page.wait_for_load_state("load")
        assert "Akzeptierte Antwort" in page.content()
        topic.refresh_from_db()
        assert topic.accepted_answer_id == answer.pk
        assert_accessible(page)

        # Found by the German search: "Baum" finds "Bäume", in the question and the answer
        page.goto("/transferforum/")
        page.get_by_label("Fragen und Antworten durchsuchen").fill("Baum")
        page.get_by_role("button", name="Suchen").click()
        page.wait_for_load_state("load")
        results = page.get_by_role("heading", name="Wie erfasst ihr Bäume im Kataster?")
        assert results.count() == 2
        assert_accessible(page)
    finally:
        for context in contexts:
            context.close()
