"""Transfer forum demo (idempotent; after the roadMAP demo): a moderator, two threads across cities
with an accepted answer, and two upcoming events. All invented and labelled as demo."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from dikom.accounts.models import User
from dikom.forum import actions
from dikom.forum.models import Category, Event, Moderator, Topic

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
        "Gern zeige ich es euch – schreibt mir (Demo).",
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
