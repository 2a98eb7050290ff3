"""Votes (one per person, toggled, sorted by), mentions with notifications, subscriptions with
immediate e-mails and the daily digest (one mail per person and day), drafts seen by their author
only, and the edit history visible to staff."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory, UserFactory
from dikom.audit.models import AuditEvent
from dikom.forum import actions, notifications
from dikom.forum.models import Answer, Category, Moderator, Notification, NotificationSetting, Revision, Tag, Topic
from dikom.lib import periodic
from dikom.lib.testing import run_task_worker

pytestmark = pytest.mark.django_db


def _staff(city: Any, username: str, role: str = Role.STAFF_MEMBER) -> Any:
    return MembershipFactory(
        user__username=username,
        user__first_name=username.title(),
        user__email=f"{username}@example.org",
        municipality=city,
        role=role,
    ).user


def _ask(author: Any, title: str = "Frage", body: str = "Text", **kwargs: Any) -> Topic:
    return actions.ask_question(author=author, category=Category.objects.first(), title=title, body=body, **kwargs)


def test_votes_are_one_per_person_toggle_and_order_the_answers(city_a: Any, city_b: Any, login: Any) -> None:
    asker = _staff(city_a, "asker")
    topic = _ask(asker)
    early = actions.answer(topic, author=_staff(city_b, "early"), body="Erste Antwort")
    late = actions.answer(topic, author=_staff(city_b, "late"), body="Zweite, bessere Antwort")
    voter = login(Client(), _staff(city_b, "voter"))
    url = f"/transferforum/fragen/{topic.uuid}/antworten/{late.uuid}/abstimmen/"
    assert voter.post(url).status_code == 302
    late.refresh_from_db()
    assert late.score == 1
    # Voting again takes the vote back; a third time counts it once more (never twice)
    voter.post(url)
    late.refresh_from_db()
    assert late.score == 0
    voter.post(url)
    other = login(Client(), _staff(city_a, "other"))
    other.post(url)
    late.refresh_from_db()
    assert late.score == 2 and late.votes.count() == 2
    # The better-voted answer comes first
    html = voter.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    assert html.index("Zweite, bessere Antwort") < html.index("Erste Antwort")
    assert 'aria-pressed="true"' in html and "Meine Stimme zurücknehmen" in html
    # No votes for one's own post
    own = login(Client(), asker)
    response = own.post(f"/transferforum/fragen/{topic.uuid}/abstimmen/", follow=True)
    assert "eigenen Beitrag" in response.content.decode()
    topic.refresh_from_db()
    assert topic.score == 0
    # The question list sorts by votes on request
    popular = _ask(_staff(city_b, "popular"), title="Beliebte Frage")
    voter.post(f"/transferforum/fragen/{popular.uuid}/abstimmen/")
    html = voter.get("/transferforum/?sortierung=stimmen").content.decode()
    assert html.index("Beliebte Frage") < html.index(">Frage<")
    # The asker accepts the early answer: it comes first despite fewer votes
    own.post(f"/transferforum/fragen/{topic.uuid}/akzeptieren/{early.uuid}/")
    html = voter.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    assert html.index("Erste Antwort") < html.index("Zweite, bessere Antwort")
    assert Notification.objects.filter(user=early.author, kind=Notification.Kind.ACCEPTED).exists()


def test_a_mention_notifies_the_named_colleague_of_another_city_only(
    city_a: Any, city_b: Any, citizen: Any, login: Any, django_capture_on_commit_callbacks: Any
) -> None:
    asker = _staff(city_a, "anna.fragt")
    expert = _staff(city_b, "bernd.weiss")
    NotificationSetting.objects.create(user=expert, mode=NotificationSetting.Mode.IMMEDIATE)
    client = login(Client(), asker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/transferforum/fragen/neu/",
            {
                "category": Category.objects.get(slug="e-akte").pk,
                "title": "Wer kennt sich mit Aktenplänen aus?",
                "body": "@bernd.weiss, weißt du das? Auch @citizen und @niemand und mail@example.org.",
            },
        )
    assert response.status_code == 302
    topic = Topic.objects.get()
    mentions = Notification.objects.filter(kind=Notification.Kind.MENTION)
    assert [n.user for n in mentions] == [expert]  # not the citizen, not an unknown name, not an e-mail address
    assert mentions[0].topic == topic and mentions[0].actor == asker
    run_task_worker()
    assert [m.to for m in mail.outbox] == [["bernd.weiss@example.org"]]
    assert "erwähnt" in mail.outbox[0].subject and f"/transferforum/fragen/{topic.uuid}/" in mail.outbox[0].body
    # The mentioned colleague sees it on the notification page
    page = login(Client(), expert).get("/transferforum/benachrichtigungen/").content.decode()
    assert "Sie wurden erwähnt" in page and "Wer kennt sich mit Aktenplänen aus?" in page
    # Editing without new names notifies nobody again; a new name is notified
    actions.edit(topic, actor=asker, title=topic.title, body=topic.body + " Danke!")
    assert Notification.objects.filter(kind=Notification.Kind.MENTION).count() == 1
    _staff(city_a, "carla")
    actions.edit(topic, actor=asker, title=topic.title, body=topic.body + " @carla auch?")
    assert Notification.objects.filter(kind=Notification.Kind.MENTION).count() == 2


def test_subscriptions_and_the_daily_digest_one_mail_per_person_and_day(
    city_a: Any, city_b: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert periodic.JOBS["forum.digest"].task_path == "dikom.forum.tasks.send_daily_digests"
    follower = _staff(city_b, "folgt")  # daily digest is the default
    quiet = _staff(city_b, "still")
    NotificationSetting.objects.create(user=quiet, mode=NotificationSetting.Mode.OFF)
    tag = Tag.objects.create(slug="e-akte", name="E-Akte")
    notifications.follow_tag(follower, tag)
    notifications.follow_tag(quiet, tag)
    asker = _staff(city_a, "fragt")
    topic = _ask(asker, title="Scannen in die E-Akte", free_tags=["E-Akte"])
    _ask(asker, title="Ohne Schlagwort")
    assert set(Notification.objects.values_list("user__username", "kind")) == {("folgt", "topic"), ("still", "topic")}
    # The asker follows her own topic: answers are notified to her (not to the answerer himself)
    actions.answer(topic, author=follower, body="So machen wir es.")
    assert Notification.objects.filter(user=asker, kind=Notification.Kind.ANSWER).count() == 1
    assert not Notification.objects.filter(user=follower, kind=Notification.Kind.ANSWER).exists()
    # A follower of a topic hears of its answers
    actions.answer(topic, author=_staff(city_a, "dritte"), body="Wir auch.")
    assert Notification.objects.filter(user=follower, kind=Notification.Kind.ANSWER).count() == 1
    # The daily job: one mail for each person in daily mode with news (not for "off")
    from dikom.forum import tasks

    with django_capture_on_commit_callbacks(execute=True):
        tasks.send_daily_digests.enqueue()
        run_task_worker()
    run_task_worker()
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == ["folgt@example.org", "fragt@example.org"]
    digest = next(m for m in mail.outbox if m.to == ["folgt@example.org"])
    assert "Zusammenfassung" in digest.subject and "Scannen in die E-Akte" in digest.body
    assert "Neue Antwort in einem Thema, dem Sie folgen" in digest.body
    # The same day: nothing more for those who had their digest, even with new news
    actions.answer(topic, author=asker, body="Danke!")
    assert Notification.objects.filter(user=follower, mailed_at__isnull=True).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.send_daily_digests() == 1  # only "dritte", who had none today
    assert Notification.objects.filter(user=follower, mailed_at__isnull=True).count() == 1
    # The next day: the new news, once
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.send_daily_digests(today=tomorrow) == 1
        assert notifications.send_daily_digests(today=tomorrow) == 0
    assert not Notification.objects.filter(user=follower, mailed_at__isnull=True).exists()
    # "Off": in the forum only, never mailed
    assert Notification.objects.filter(user=quiet, mailed_at__isnull=True).count() == 1


def test_drafts_are_seen_by_their_author_only_and_notify_on_publishing(city_a: Any, city_b: Any, login: Any) -> None:
    author = _staff(city_a, "entwerferin")
    moderator = _staff(city_b, "moderator")
    Moderator.objects.create(user=moderator)
    tag = Tag.objects.create(slug="ozg", name="OZG")
    follower = _staff(city_b, "follower")
    notifications.follow_tag(follower, tag)
    client = login(Client(), author)
    response = client.post(
        "/transferforum/fragen/neu/",
        {
            "category": Category.objects.first().pk,
            "title": "Halbfertige Baumfrage",
            "body": "Noch nicht fertig, @follower",
            "tags": "OZG",
            "draft": "1",
        },
    )
    assert response.status_code == 302
    topic = Topic.objects.get()
    assert topic.published_at is None and not Notification.objects.exists()
    assert "Halbfertige Baumfrage" in client.get("/transferforum/entwuerfe/").content.decode()
    for other in (follower, moderator):
        other_client = login(Client(), other)
        assert other_client.get(f"/transferforum/fragen/{topic.uuid}/").status_code == 404
        assert "Halbfertige" not in other_client.get("/transferforum/").content.decode()
        assert "Halbfertige" not in other_client.get("/transferforum/?q=Baumfrage").content.decode()
        assert other_client.post(f"/transferforum/fragen/{topic.uuid}/entwurf/").status_code == 404
    # Publishing: visible, searchable, version 1, follower and mention notified
    assert client.post(f"/transferforum/fragen/{topic.uuid}/entwurf/", {"action": "publish"}).status_code == 302
    topic.refresh_from_db()
    assert topic.published_at is not None
    assert Revision.objects.filter(topic=topic).count() == 1
    assert "Halbfertige" in login(Client(), follower).get("/transferforum/?q=baumfragen").content.decode()
    assert list(Notification.objects.filter(user=follower).values_list("kind", flat=True)) == ["mention"]
    # A draft answer: the author sees it with a publish button, nobody else sees it
    client.post(f"/transferforum/fragen/{topic.uuid}/antworten/", {"body": "Entwurfsantwort", "draft": "1"})
    draft_answer = Answer.objects.get()
    assert "Entwurfsantwort" in client.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    follower_client = login(Client(), follower)
    assert "Entwurfsantwort" not in follower_client.get(f"/transferforum/fragen/{topic.uuid}/").content.decode()
    url = f"/transferforum/fragen/{topic.uuid}/antworten/{draft_answer.uuid}/abstimmen/"
    assert follower_client.post(url).status_code == 404
    client.post(f"/transferforum/fragen/{topic.uuid}/antworten/{draft_answer.uuid}/entwurf/", {"action": "delete"})
    assert not Answer.objects.exists()


def test_every_edit_is_kept_and_listed_for_staff(city_a: Any, city_b: Any, login: Any) -> None:
    author = _staff(city_a, "autorin")
    topic = _ask(author, title="Fristen im Bauantrag", body="Wie lang ist die Frist?")
    client = login(Client(), author)
    response = client.post(
        f"/transferforum/fragen/{topic.uuid}/bearbeiten/",
        {"title": "Fristen im Bauantrag (Hessen)", "body": "Wie lang ist die Frist in Hessen?"},
    )
    assert response.status_code == 302
    # Another staff member may not edit, but reads every version
    reader_user = _staff(city_b, "leser")
    reader = login(Client(), reader_user)
    assert reader.get(f"/transferforum/fragen/{topic.uuid}/bearbeiten/").status_code == 403
    assert (
        reader.post(f"/transferforum/fragen/{topic.uuid}/bearbeiten/", {"title": "x", "body": "y"}).status_code == 403
    )
    page = reader.get(f"/transferforum/fragen/{topic.uuid}/versionen/").content.decode()
    assert "Version 2" in page and "Version 1" in page and "Autorin" in page
    assert "<ins>+ Wie lang ist die Frist in Hessen?</ins>" in page
    assert "<del>− Wie lang ist die Frist?</del>" in page
    # A moderator edits someone else's post: kept as version 3 and in the audit log
    moderator = _staff(city_b, "mod")
    Moderator.objects.create(user=moderator)
    actions.edit(topic, actor=moderator, title=topic.title, body="Wie lang ist die Frist in Hessen? (ohne Namen)")
    assert list(Revision.objects.filter(topic=topic).values_list("number", "editor__username")) == [
        (1, "autorin"),
        (2, "autorin"),
        (3, "mod"),
    ]
    assert AuditEvent.objects.filter(action="forum.post.edit").count() == 1
    # Answers have versions too; an empty edit is refused with a clear message
    answer = actions.answer(topic, author=reader_user, body="Drei Monate.")
    response = reader.post(f"/transferforum/fragen/{topic.uuid}/antworten/{answer.uuid}/bearbeiten/", {"body": " "})
    assert response.status_code == 400
    reader.post(
        f"/transferforum/fragen/{topic.uuid}/antworten/{answer.uuid}/bearbeiten/", {"body": "Drei Monate (§ 65 HBO)."}
    )
    assert Revision.objects.filter(answer=answer).count() == 2
    assert (
        "§ 65 HBO"
        in reader.get(f"/transferforum/fragen/{topic.uuid}/antworten/{answer.uuid}/versionen/").content.decode()
    )


def test_new_pages_refuse_anonymous_visitors_and_citizens(city_a: Any, citizen: Any, login: Any) -> None:
    topic = _ask(_staff(city_a, "intern"))
    answer = actions.answer(topic, author=_staff(city_a, "intern2"), body="intern")
    pages = [
        "/transferforum/entwuerfe/",
        "/transferforum/benachrichtigungen/",
        "/transferforum/moderation/",
        f"/transferforum/fragen/{topic.uuid}/versionen/",
        f"/transferforum/fragen/{topic.uuid}/melden/",
        f"/transferforum/fragen/{topic.uuid}/antworten/{answer.uuid}/versionen/",
        "/transferforum/?q=intern",
    ]
    posts = [
        f"/transferforum/fragen/{topic.uuid}/abstimmen/",
        f"/transferforum/fragen/{topic.uuid}/folgen/",
        f"/transferforum/fragen/{topic.uuid}/antworten/{answer.uuid}/abstimmen/",
        "/transferforum/themen/intern/folgen/",
    ]
    anonymous = Client()
    for url in pages:
        assert anonymous.get(url).status_code == 302, url
    for url in posts:
        assert anonymous.post(url).status_code == 302, url
    citizen_client = login(Client(), citizen)
    for url in pages:
        assert citizen_client.get(url).status_code == 403, url
    for url in posts:
        assert citizen_client.post(url).status_code == 403, url
    topic.refresh_from_db()
    assert topic.score == 0 and topic.subscriptions.count() == 2  # the author and the answerer only


def test_a_user_without_role_cannot_be_mentioned(city_a: Any) -> None:
    UserFactory(username="ehemalig")
    assert notifications.resolve_mentions("@ehemalig") == []
    staff = _staff(city_a, "aktiv")
    assert notifications.resolve_mentions("Hallo @aktiv. und @aktiv") == [staff]
