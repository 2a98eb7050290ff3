"""Transfer forum demo (idempotent; after the roadMAP demo): a moderator, threads across cities with
accepted answers, votes, a mention (with its notification), subscriptions to a tag and a topic, a
question about a shared online service (shown on its library page), and two upcoming events.
All invented and labelled as demo."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from dikom.accounts.models import User
from dikom.forum import actions, notifications
from dikom.forum.models import Category, Event, Moderator, Tag, Topic

VOTERS = ["giessen-hr", "limburg-staff", "marburg-hr", "wetzlar-reviewer", "fulda-caseworker"]

THREADS = [
    (
        "fulda-caseworker",
        "e-akte",
        "Wie schwärzt ihr personenbezogene Daten in Bescheiden? (Demo)",
        "Wir möchten Bescheide **vor dem Versand in die E-Akte** schwärzen. Welche Werkzeuge nutzt ihr?",
        [("4.2", "Personenbezogene Daten und Privatsphäre schützen")],
        ["E-Akte", "Datenschutz"],
        "marburg-designer",
        "In Marburg schwärzen wir mit der PDF-Funktion des DMS und prüfen danach mit einer zweiten Person. "
        "@wetzlar-reviewer, ihr nutzt doch ein eigenes Werkzeug? Gern zeige ich es euch – schreibt mir (Demo).",
    ),
    (
        "limburg-staff",
        "onlinedienste",
        "Videokonferenz-Sprechstunde für Bürgerinnen und Bürger? (Demo)",
        "Hat jemand Erfahrung mit Video-Sprechstunden im Bürgerbüro?\n\n- Terminbuchung\n- Identifizierung",
        [("2.4", "Zusammenarbeit durch digitale Technologien")],
        ["OZG"],
        "wetzlar-reviewer",
        "Wetzlar bietet das seit einem Jahr an; die Terminbuchung läuft über den gemeinsamen Onlinedienst (Demo).",
    ),
]


@transaction.atomic
def load_demo_forum() -> bool:
    """Create the forum demo once; returns whether anything was created."""
    if Topic.objects.exists() or not User.objects.filter(username="fulda-caseworker").exists():
        return False
    actions.install_default_categories()
    moderator = User.objects.filter(username="marburg-hr").first()
    if moderator is not None:
        Moderator.objects.get_or_create(user=moderator)
    for asker, category, title, body, competences, tags, helper, reply in THREADS:
        author = User.objects.filter(username=asker).first()
        answerer = User.objects.filter(username=helper).first()
        if author is None or answerer is None:
            continue
        topic = actions.ask_question(
            author=author,
            category=Category.objects.get(slug=category),
            title=title,
            body=body,
            competences=competences,
            free_tags=tags,
        )
        accepted = actions.answer(topic, author=answerer, body=reply)
        actions.accept_answer(topic, accepted, actor=author)
        for username in VOTERS:
            voter = User.objects.filter(username=username).first()
            if voter is None:
                continue
            for post in (topic, accepted):
                if post.author_id != voter.pk:
                    actions.toggle_vote(post, user=voter)
    _service_question()
    follower = User.objects.filter(username="limburg-staff").first()
    tag = Tag.objects.filter(slug="e-akte").first()
    if follower is not None and tag is not None:
        notifications.follow_tag(follower, tag)
    now = timezone.now()
    organiser = User.objects.filter(username="giessen-hr").first()
    if organiser is not None:
        for title, days, online, place in (
            ("Webinar: Onlinedienste nachnutzen (Demo)", 10, True, ""),
            ("Forumstag E-Akte (Demo)", 24, False, "Kongresshalle Gießen (Demo)"),
        ):
            start = (now + datetime.timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)
            actions.create_event(
                actor=organiser,
                title=title,
                description="Erfundene Demo-Veranstaltung der Kooperation.",
                starts_at=start,
                ends_at=start + datetime.timedelta(hours=3),
                seats=40,
                online=online,
                place=place,
            )
    return Event.objects.exists() or Topic.objects.exists()


def _service_question() -> None:
    """A question about the first shared online service of the demo library, if there is one."""
    from dikom.eservices.service import released_services

    service = released_services().first()
    author = User.objects.filter(username="wetzlar-reviewer").first()
    helper = User.objects.filter(username="fulda-caseworker").first()
    if service is None or author is None or helper is None:
        return
    topic = actions.ask_question(
        author=author,
        category=Category.objects.get(slug="onlinedienste"),
        title=f"Erfahrungen mit „{service.title}“ nach der Übernahme? (Demo)",
        body="Wir übernehmen den Dienst im nächsten Quartal. Was sollten wir bei den Gebühren beachten?",
        services=[(service.slug, service.title)],
    )
    actions.answer(
        topic,
        author=helper,
        body="Bei uns lief es gut; prüft die **örtlichen Gebühren** vor dem Start (Demo).",
    )
