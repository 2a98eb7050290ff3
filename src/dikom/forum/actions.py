"""The only code that changes the transfer forum.

Every function runs in one transaction; moderation (hide, unhide, lock) and accepted answers are
recorded in the audit log. Posts are stored as typed (Markdown) and escaped when rendered.
Event seats: the event row is locked while a seat is given or freed, so registrations never
exceed the seats; the first person waiting moves up when a seat is freed.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from dikom.audit import actions as audit
from dikom.forum import access
from dikom.forum.models import Answer, Category, Event, Registration, Tag, Topic
from dikom.lib import waitlist

MAX_FREE_TAGS = 5


class ForumError(ValueError):
    """A refused change; the message is translated for the person who tried."""


def install_default_categories() -> int:
    """The forum's first categories (idempotent, as migration 0002 installs them); returns how many were new."""
    from dikom.forum.builtin import CATEGORIES

    created = 0
    for slug, name, description, position in CATEGORIES:
        _category, new = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )
        created += int(new)
    return created


def _tags(competences: list[tuple[str, str]], free: list[str]) -> list[Tag]:
    tags = []
    for code, title in competences:
        tag, _created = Tag.objects.get_or_create(
            slug=f"digcomp-{slugify(code.replace('.', '-'))}",
            defaults={"name": f"{code} {title}"[:120], "competence_code": code},
        )
        tags.append(tag)
    for name in free[:MAX_FREE_TAGS]:
        name = name.strip()[:60]
        slug = slugify(name)[:80]
        if not slug:
            continue
        tag, _created = Tag.objects.get_or_create(slug=slug, defaults={"name": name})
        tags.append(tag)
    return tags


@transaction.atomic
def ask_question(
    *,
    author: Any,
    category: Category,
    title: str,
    body: str,
    competences: list[tuple[str, str]] | None = None,
    free_tags: list[str] | None = None,
) -> Topic:
    """Open a topic visible to the staff of all member cities."""
    if not title.strip() or not body.strip():
        raise ForumError(_("Please enter a title and your question."))
    topic = Topic.objects.create(
        category=category,
        title=title.strip()[:200],
        body=body.strip(),
        author=author,
        author_municipality=access.home_municipality(author),
    )
    topic.tags.set(_tags(competences or [], free_tags or []))
    return topic


@transaction.atomic
def answer(topic: Topic, *, author: Any, body: str) -> Answer:
    locked = Topic.objects.select_for_update().get(pk=topic.pk)
    if locked.locked:
        raise ForumError(_("This topic is locked; it takes no new answers."))
    if not body.strip():
        raise ForumError(_("Please write an answer."))
    created = Answer.objects.create(
        topic=locked, body=body.strip(), author=author, author_municipality=access.home_municipality(author)
    )
    Topic.objects.filter(pk=locked.pk).update(last_activity_at=timezone.now())
    return created


@transaction.atomic
def accept_answer(topic: Topic, answer_obj: Answer, *, actor: Any) -> None:
    if answer_obj.topic_id != topic.pk or answer_obj.hidden:
        raise ForumError(_("This answer cannot be accepted."))
    if not access.can_accept(actor, topic):
        raise ForumError(_("Only the person who asked or a moderator can accept an answer."))
    Topic.objects.filter(pk=topic.pk).update(accepted_answer=answer_obj)
    audit.record("forum.answer.accept", actor=actor, obj=topic, changes={"answer": str(answer_obj.uuid)})


def _require_moderator(actor: Any) -> None:
    if not access.is_moderator(actor):
        raise ForumError(_("Only moderators of the cooperation can do this."))


@transaction.atomic
def set_hidden(post: Topic | Answer, hidden: bool, *, actor: Any) -> None:
    _require_moderator(actor)
    type(post).objects.filter(pk=post.pk).update(hidden=hidden)
    if isinstance(post, Answer) and hidden:
        Topic.objects.filter(pk=post.topic_id, accepted_answer=post).update(accepted_answer=None)
    audit.record("forum.moderate.hide" if hidden else "forum.moderate.unhide", actor=actor, obj=post)


@transaction.atomic
def set_locked(topic: Topic, locked: bool, *, actor: Any) -> None:
    _require_moderator(actor)
    Topic.objects.filter(pk=topic.pk).update(locked=locked)
    audit.record("forum.moderate.lock" if locked else "forum.moderate.unlock", actor=actor, obj=topic)


# --- events -------------------------------------------------------------------------------------


@transaction.atomic
def create_event(
    *,
    actor: Any,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    seats: int,
    online: bool,
    place: str = "",
    description: str = "",
) -> Event:
    if not access.can_create_events(actor):
        raise ForumError(_("Only moderators, HR and administrators can announce events."))
    if ends_at <= starts_at:
        raise ForumError(_("The event must end after it starts."))
    if not online and not place.strip():
        raise ForumError(_("Please name the place of an event held in person."))
    event = Event.objects.create(
        title=title.strip()[:200],
        description=description.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        seats=seats,
        online=online,
        place=place.strip()[:300],
        organiser=access.home_municipality(actor),
        created_by=actor,
    )
    audit.record("forum.event.create", actor=actor, obj=event)
    return event


@transaction.atomic
def register(event: Event, *, user: Any) -> Registration:
    locked = waitlist.lock(Event, event.pk)
    if locked.starts_at <= timezone.now():
        raise ForumError(_("This event has already started; registration is closed."))
    existing = Registration.objects.filter(event=locked, user=user).first()
    if existing is not None:
        return existing
    seated = waitlist.seat_is_free(locked.seats, locked.registrations.filter(status=Registration.Status.REGISTERED))
    status = Registration.Status.REGISTERED if seated else Registration.Status.WAITING
    return Registration.objects.create(event=locked, user=user, status=status)


@transaction.atomic
def unregister(event: Event, *, user: Any) -> Registration | None:
    """Free the seat; returns the registration of whoever moved up from the waiting list."""
    locked = waitlist.lock(Event, event.pk)
    existing = Registration.objects.filter(event=locked, user=user).first()
    if existing is None:
        return None
    had_seat = existing.status == Registration.Status.REGISTERED
    existing.delete()
    if not had_seat:
        return None
    seated = locked.registrations.filter(status=Registration.Status.REGISTERED)
    waiting = locked.registrations.filter(status=Registration.Status.WAITING)
    moved = waitlist.fill_free_seats(locked.seats, seated, waiting, seat={"status": Registration.Status.REGISTERED})
    return moved[0] if moved else None
