"""Flags with a reason, the moderators' queue, hide/lock logged in the audit log; the German
full-text search (Baum finds Bäume, ß and ss both ways, a tag filter, drafts and hidden posts never
found) and the registry of search sources other apps can add documents to."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.audit.models import AuditEvent
from dikom.forum import actions, search, service
from dikom.forum.models import Category, Flag, Moderator, SearchDocument, SearchTerm, Topic

pytestmark = pytest.mark.django_db


def _staff(city: Any, username: str, role: str = Role.STAFF_MEMBER) -> Any:
    return MembershipFactory(
        user__username=username, user__first_name=username.title(), municipality=city, role=role
    ).user


def _ask(author: Any, title: str, body: str = "Text", **kwargs: Any) -> Topic:
    return actions.ask_question(author=author, category=Category.objects.first(), title=title, body=body, **kwargs)


def test_flags_go_to_the_moderation_queue_and_every_decision_is_logged(city_a: Any, city_b: Any, login: Any) -> None:
    author = _staff(city_a, "werber")
    topic = _ask(author, "Günstige Software!", "Jetzt kaufen")
    answer = actions.answer(topic, author=author, body="Noch günstiger, Herr Meier aus der Musterstraße 5")
    reporter_user = _staff(city_b, "melderin")
    reporter = login(Client(), reporter_user)
    # A reason is required; "something else" needs a comment
    response = reporter.post(f"/transferforum/fragen/{topic.uuid}/melden/", {"reason": "other", "comment": ""})
    assert response.status_code == 400 and "beschreiben Sie das Problem" in response.content.decode()
    assert reporter.post(f"/transferforum/fragen/{topic.uuid}/melden/", {"reason": "spam"}).status_code == 302
    assert (
        reporter.post(
            f"/transferforum/fragen/{topic.uuid}/antworten/{answer.uuid}/melden/", {"reason": "personal_data"}
        ).status_code
        == 302
    )
    assert Flag.objects.filter(outcome=Flag.Outcome.OPEN).count() == 2
    # The queue is for moderators only
    assert reporter.get("/transferforum/moderation/").status_code == 403
    assert "/transferforum/moderation/" not in reporter.get("/transferforum/").content.decode()
    moderator_user = _staff(city_a, "moderatorin")
    Moderator.objects.create(user=moderator_user)
    moderator = login(Client(), moderator_user)
    assert 'href="/transferforum/moderation/"' in moderator.get("/transferforum/").content.decode()
    queue = moderator.get("/transferforum/moderation/").content.decode()
    assert "Spam oder Werbung" in queue and "Enthält personenbezogene Daten" in queue and "Melderin" in queue
    # Hiding the answer from the queue resolves its flag; dismissing resolves the other
    response = moderator.post(
        f"/transferforum/fragen/{topic.uuid}/moderation/",
        {"action": "hide", "answer": str(answer.uuid), "next": "queue"},
    )
    assert response.status_code == 302 and response["Location"] == "/transferforum/moderation/"
    topic_flag = Flag.objects.get(topic=topic)
    assert reporter.post(f"/transferforum/moderation/meldungen/{topic_flag.pk}/erledigt/").status_code == 302
    topic_flag.refresh_from_db()
    assert topic_flag.outcome == Flag.Outcome.OPEN  # a staff member cannot dismiss
    moderator.post(f"/transferforum/moderation/meldungen/{topic_flag.pk}/erledigt/")
    moderator.post(f"/transferforum/fragen/{topic.uuid}/moderation/", {"action": "lock", "next": "queue"})
    assert dict(Flag.objects.values_list("answer_id", "outcome")) == {answer.pk: "hidden", None: "dismissed"}
    assert "Keine offenen Meldungen." in moderator.get("/transferforum/moderation/").content.decode()
    actions_logged = set(AuditEvent.objects.filter(action__startswith="forum.").values_list("action", flat=True))
    assert {"forum.flag.create", "forum.moderate.hide", "forum.flag.dismiss", "forum.moderate.lock"} <= actions_logged
    # Locked: no new answers; the hidden answer is gone from the search too
    topic.refresh_from_db()
    assert topic.locked
    with pytest.raises(actions.ForumError):
        actions.answer(topic, author=reporter_user, body="Noch was")
    assert not search.search(reporter_user, "Musterstraße").hits


def test_german_search_folds_umlauts_and_sharp_s_and_stems_plurals(city_a: Any, city_b: Any) -> None:
    author = _staff(city_a, "autor")
    reader = _staff(city_b, "leserin")
    trees = _ask(author, "Baumkataster", "Wie pflegt ihr die Bäume an der Straße?", free_tags=["Umwelt"])
    _ask(author, "Parkausweis", "Anwohnerparken in der Strasse")
    street = actions.answer(trees, author=reader, body="Unsere Baeume stehen im Grünflächenamt.")

    def titles(query: str, tag: str | None = None) -> list[str]:
        return [hit.title for hit in search.search(reader, query, tag=tag).hits]

    assert titles("Baum") == ["Baumkataster", "Baumkataster"]  # the question and the answer
    assert titles("bäumen") == titles("BAEUME") == titles("Baum")
    assert sorted(titles("Straße")) == ["Baumkataster", "Parkausweis"]
    assert sorted(titles("strasse")) == ["Baumkataster", "Parkausweis"]
    assert titles("Grünflächenamt") == titles("gruenflaechenamt") == ["Baumkataster"]
    assert titles("Bäume Straße") == ["Baumkataster"]
    assert titles("Straße", tag="umwelt") == ["Baumkataster"]
    assert titles("Baum", tag="umwelt") == ["Baumkataster", "Baumkataster"]  # answers carry their topic's tags
    assert titles("Parkausweis", tag="umwelt") == []
    assert titles("Fahrrad") == [] and titles("") == [] and titles("!!!") == []
    # Votes rank hits: the voted answer comes before the question
    actions.toggle_vote(street, user=_staff(city_a, "waehler"))
    hits = search.search(reader, "Grünflächenamt").hits
    assert hits[0].url.endswith(f"#a-{street.uuid}")
    # Edits are searched in their new wording; drafts are never found
    actions.edit(trees, actor=author, title="Baumkataster", body="Wie pflegt ihr Hecken?")
    assert [h.source for h in search.search(reader, "Hecke").hits] == ["forum.question"]
    _ask(author, "Entwurf über Linden", draft=True)
    assert titles("Linden") == []
    # PostgreSQL keeps the words in the generated tsvector; SQLite in the term table
    if connection.vendor == "postgresql":
        assert not SearchTerm.objects.exists()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM forum_searchdocument WHERE search_vector @@ to_tsquery('german', 'baum')"
            )
            assert cursor.fetchone()[0] >= 1
    else:
        assert SearchTerm.objects.filter(term="baum").exists()


def test_the_search_page_and_citizens(city_a: Any, citizen: Any, login: Any) -> None:
    _ask(_staff(city_a, "autorin"), "Straßenbäume zählen", "Wir zählen Bäume.")
    client = login(Client(), _staff(city_a, "sucher"))
    page = client.get("/transferforum/?q=Baum").content.decode()
    assert "Suchergebnisse für „Baum“" in page and "Straßenbäume zählen" in page
    assert "Nichts gefunden" in client.get("/transferforum/?q=Parkhaus").content.decode()
    assert not search.search(citizen, "Bäume").hits
    assert login(Client(), citizen).get("/transferforum/?q=Baum").status_code == 403


def test_other_apps_register_search_sources_with_their_own_access(city_a: Any, citizen: Any) -> None:
    reader = _staff(city_a, "leser")
    documents = [
        service.Document(
            source="test.library",
            key="doc-1",
            title="Leitfaden E-Akte",
            text="Schritte zur Einführung der elektronischen Akte in Ämtern",
            url="/kompetenzen/cluster/e-akte/dokumente/1/",
            tags=["cluster-e-akte"],
        )
    ]
    service.register(service.Source("test.library", "Dokument", service.is_forum_user, lambda: iter(documents)))
    try:
        assert search.reindex(["test.library"]) == 1
        hits = search.search(reader, "Ämter")
        assert [(h.source, h.source_label, h.url) for h in hits.hits] == [
            ("test.library", "Dokument", "/kompetenzen/cluster/e-akte/dokumente/1/")
        ]
        assert search.search(reader, "Akte", tag="cluster-e-akte").hits
        assert not search.search(citizen, "Ämter").hits
        assert not search.search(reader, "Ämter", sources=["forum.question"]).hits
        service.remove("test.library", "doc-1")
        assert not SearchDocument.objects.filter(source="test.library").exists()
    finally:
        search.SOURCES.pop("test.library", None)


def test_reindex_rebuilds_the_forum_sources(city_a: Any) -> None:
    author = _staff(city_a, "autor")
    topic = _ask(author, "Wahlhelfer gewinnen", "Wie findet ihr Wahlhelferinnen?")
    actions.answer(topic, author=author, body="Über das Intranet.")
    SearchDocument.objects.all().delete()
    assert search.reindex() == 2
    assert len(search.search(author, "Wahlhelfer").hits) == 1
    assert len(search.search(author, "Intranet").hits) == 1


def test_the_reindex_command(city_a: Any) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    _ask(_staff(city_a, "autor"), "Glasfaser im Rathaus")
    SearchDocument.objects.all().delete()
    out = StringIO()
    call_command("forum_reindex", stdout=out)
    assert "1 documents indexed" in out.getvalue()
    with pytest.raises(CommandError, match="Unknown search source"):
        call_command("forum_reindex", "nope")
