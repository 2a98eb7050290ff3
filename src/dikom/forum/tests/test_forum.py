"""Digital Transfer Forum: a question from one city answered by a colleague of another, accepted;
Markdown without raw HTML; staff only (never citizens); moderation by the cooperation's moderators;
events with registration and waiting list; reachable from the staff start page."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.competences import actions as competence_actions
from dikom.forum import actions
from dikom.forum.models import Answer, Category, Event, Moderator, Registration, Topic

pytestmark = pytest.mark.django_db


def _staff(city: Any, username: str, role: str = Role.STAFF_MEMBER) -> Any:
    return MembershipFactory(
        user__username=username, user__first_name=username.title(), municipality=city, role=role
    ).user


@pytest.fixture
def digcomp(db: Any) -> None:
    competence_actions.install_builtin_frameworks()


def test_question_across_cities_is_answered_accepted_and_tagged_with_a_competence(
    city_a: Any, city_b: Any, digcomp: None, login: Any
) -> None:
    asker = login(Client(), _staff(city_a, "fragende"))
    # Given a Fulda clerk asks, tagged with competence 4.2, with HTML in the Markdown
    response = asker.post(
        "/transferforum/fragen/neu/",
        {
            "category": Category.objects.get(slug="e-akte").pk,
            "title": "Wie anonymisiert ihr Bescheide?",
            "body": "**Wichtig**: <script>alert(1)</script> [x](javascript:alert(1))",
            "competences": ["4.2"],
            "tags": "E-Akte, Datenschutz",
        },
    )
    assert response.status_code == 302
    topic = Topic.objects.get()
    assert topic.author_municipality == city_a
    assert {t.slug for t in topic.tags.all()} == {"digcomp-4-2", "e-akte", "datenschutz"}
    # When a Gießen colleague reads and answers it
    helper_user = _staff(city_b, "helferin")
    helper = login(Client(), helper_user)
    html = helper.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    assert "<strong>Wichtig</strong>" in html and "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert "/kompetenzen/experten/?kompetenz=4.2" in html  # from the tag to the experts
    assert (
        helper.post(f"/transferforum/fragen/{topic.uuid}/antworten/", {"body": "Mit der *Schwärzung*."}).status_code
        == 302
    )
    answer = Answer.objects.get()
    assert answer.author_municipality == city_b
    # The helper may not accept on the asker's behalf
    helper.post(f"/transferforum/fragen/{topic.uuid}/akzeptieren/{answer.uuid}/")
    topic.refresh_from_db()
    assert topic.accepted_answer is None
    # Then the asker accepts it
    assert asker.post(f"/transferforum/fragen/{topic.uuid}/akzeptieren/{answer.uuid}/").status_code == 302
    topic.refresh_from_db()
    assert topic.accepted_answer == answer
    html = asker.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    assert "Akzeptierte Antwort" in html and "<em>Schwärzung</em>" in html
    # Found by tag and by search
    assert "Wie anonymisiert" in asker.get("/transferforum/?thema=digcomp-4-2").content.decode()
    assert "Wie anonymisiert" in helper.get("/transferforum/?q=anonymisiert").content.decode()
    assert "Wie anonymisiert" not in helper.get("/transferforum/?q=Parkausweis").content.decode()


def test_forum_is_for_staff_only(city_a: Any, citizen: Any, login: Any) -> None:
    topic = actions.ask_question(
        author=_staff(city_a, "a"), category=Category.objects.first(), title="Intern", body="Nur intern"
    )
    assert Client().get("/transferforum/").status_code == 302
    citizen_client = login(Client(), citizen)
    for url in ("/transferforum/", f"/transferforum/fragen/{topic.uuid}/", "/transferforum/veranstaltungen/"):
        assert citizen_client.get(url).status_code == 403
    assert citizen_client.post(f"/transferforum/fragen/{topic.uuid}/antworten/", {"body": "x"}).status_code == 403
    assert not Answer.objects.exists()


def test_moderation_hide_and_lock_by_a_cooperation_moderator_only(city_a: Any, city_b: Any, login: Any) -> None:
    author = _staff(city_a, "autor")
    topic = actions.ask_question(author=author, category=Category.objects.first(), title="Werbung", body="Spam")
    answer = actions.answer(topic, author=author, body="mehr Spam")
    other = login(Client(), _staff(city_b, "kollegin"))
    # An ordinary staff member cannot moderate
    other.post(f"/transferforum/fragen/{topic.uuid}/moderation/", {"action": "hide"})
    topic.refresh_from_db()
    assert not topic.hidden
    moderator_user = _staff(city_b, "moderatorin")
    Moderator.objects.create(user=moderator_user)
    moderator = login(Client(), moderator_user)
    moderator.post(f"/transferforum/fragen/{topic.uuid}/moderation/", {"action": "hide", "answer": str(answer.uuid)})
    moderator.post(f"/transferforum/fragen/{topic.uuid}/moderation/", {"action": "lock"})
    answer.refresh_from_db()
    topic.refresh_from_db()
    assert answer.hidden and topic.locked
    assert "mehr Spam" not in other.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    response = other.post(f"/transferforum/fragen/{topic.uuid}/antworten/", {"body": "noch was"})
    assert response.status_code == 400 and "gesperrt" in response.content.decode()
    moderator.post(f"/transferforum/fragen/{topic.uuid}/moderation/", {"action": "hide"})
    assert other.get(f"/transferforum/fragen/{topic.uuid}/").status_code == 404
    assert moderator.get(f"/transferforum/fragen/{topic.uuid}/").status_code == 200
    # A malformed answer id is a 404, not a 500
    bad = moderator.post(f"/transferforum/fragen/{topic.uuid}/moderation/", {"action": "hide", "answer": "nope"})
    assert bad.status_code == 404


def test_events_with_registration_waiting_list_and_rights(city_a: Any, city_b: Any, login: Any) -> None:
    hr = login(Client(), _staff(city_a, "personal", Role.HUMAN_RESOURCES))
    start = timezone.localtime() + datetime.timedelta(days=7)
    form = {
        "title": "Forumstag E-Akte",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + datetime.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "online": "",
        "place": "",
        "seats": 1,
    }
    response = hr.post("/transferforum/veranstaltungen/neu/", form)
    assert response.status_code == 400 and "Bitte nennen Sie den Ort" in response.content.decode()
    assert hr.post("/transferforum/veranstaltungen/neu/", {**form, "place": "Stadthaus Fulda"}).status_code == 302
    event = Event.objects.get()
    # An ordinary staff member cannot announce events
    first = login(Client(), _staff(city_b, "erste"))
    assert first.get("/transferforum/veranstaltungen/neu/").status_code == 403
    first.post(f"/transferforum/veranstaltungen/{event.uuid}/anmelden/")
    second_user = _staff(city_a, "zweite")
    second = login(Client(), second_user)
    assert (
        "Warteliste"
        in second.post(f"/transferforum/veranstaltungen/{event.uuid}/anmelden/", follow=True).content.decode()
    )
    assert Registration.objects.get(user=second_user).status == Registration.Status.WAITING
    first.post(f"/transferforum/veranstaltungen/{event.uuid}/abmelden/")
    assert Registration.objects.get(user=second_user).status == Registration.Status.REGISTERED


def test_reachable_by_clicking_from_the_staff_start_page(city_a: Any, login: Any) -> None:
    client = login(Client(), _staff(city_a, "klickerin"))
    home = client.get("/start/").content.decode()
    assert 'href="/transferforum/"' in home
    assert client.get("/transferforum/").status_code == 200
    assert 'href="/transferforum/fragen/neu/"' in client.get("/transferforum/").content.decode()
