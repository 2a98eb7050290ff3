"""The only code that changes the transfer forum.

Every function runs in one transaction; moderation (hide, unhide, lock, flags), edits of other
people's posts and accepted answers are recorded in the audit log. Posts are stored as typed
(Markdown) and escaped when rendered. A draft (``published_at`` empty) is seen by its author only;
publishing it keeps version 1 in ``Revision`` and notifies subscribers and mentioned colleagues.
Every edit of a published post adds a version. The search index follows each change in the same transaction.
Event seats: the event row is locked while a seat is given or freed, so registrations never
exceed the seats; the first person waiting moves up when a seat is freed.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from dikom.audit import actions as audit
from dikom.forum import access, documents, notifications
from dikom.forum.models import Answer, Category, Event, Flag, Registration, Revision, Tag, Topic, Vote
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


def _tags(
    competences: list[tuple[str, str]],
    free: list[str],
    clusters: list[tuple[str, str]] | None = None,
    services: list[tuple[str, str]] | None = None,
) -> list[Tag]:
    tags = []
    for code, title in competences:
        tag, _created = Tag.objects.get_or_create(
            slug=f"digcomp-{slugify(code.replace('.', '-'))}",
            defaults={"name": f"{code} {title}"[:120], "competence_code": code},
        )
        tags.append(tag)
    for key, name in clusters or []:
        tag, _created = Tag.objects.get_or_create(
            slug=f"cluster-{slugify(key)}"[:80], defaults={"name": name[:120], "cluster_key": key[:60]}
        )
        tags.append(tag)
    for slug, title in services or []:
        tag, _created = Tag.objects.get_or_create(
            slug=f"dienst-{slugify(slug)}"[:80], defaults={"name": title[:120], "service_slug": slug[:80]}
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


def _add_revision(post: Topic | Answer, *, editor: Any) -> Revision:
    target = {"topic": post} if isinstance(post, Topic) else {"answer": post}
    number = (Revision.objects.filter(**target).aggregate(n=Max("number"))["n"] or 0) + 1
    return Revision.objects.create(
        **target, number=number, title=getattr(post, "title", ""), body=post.body, editor=editor
    )


def _after_publish(post: Topic | Answer, *, actor: Any) -> None:
    _add_revision(post, editor=actor)
    notified = notifications.on_mentions(post, post.body, actor=actor)
    if isinstance(post, Topic):
        notifications.follow_topic(actor, post)
        notifications.on_new_topic(post, actor=actor, exclude=notified)
        documents.sync_topic(post.pk)
    else:
        notifications.on_new_answer(post, actor=actor, exclude=notified)
        notifications.follow_topic(actor, post.topic)
        Topic.objects.filter(pk=post.topic_id).update(last_activity_at=timezone.now())
        documents.sync_answer(post.pk)


@transaction.atomic
def ask_question(
    *,
    author: Any,
    category: Category,
    title: str,
    body: str,
    competences: list[tuple[str, str]] | None = None,
    free_tags: list[str] | None = None,
    clusters: list[tuple[str, str]] | None = None,
    services: list[tuple[str, str]] | None = None,
    draft: bool = False,
) -> Topic:
    """Open a topic visible to the staff of all member cities (or keep it as the author's draft)."""
    if not title.strip() or not body.strip():
        raise ForumError(_("Please enter a title and your question."))
    now = timezone.now()
    topic = Topic.objects.create(
        category=category,
        title=title.strip()[:200],
        body=body.strip(),
        author=author,
        author_municipality=access.home_municipality(author),
        published_at=None if draft else now,
    )
    topic.tags.set(_tags(competences or [], free_tags or [], clusters, services))
    if not draft:
        _after_publish(topic, actor=author)
    return topic


@transaction.atomic
def answer(topic: Topic, *, author: Any, body: str, draft: bool = False) -> Answer:
    locked = Topic.objects.select_for_update().get(pk=topic.pk)
    if locked.locked:
        raise ForumError(_("This topic is locked; it takes no new answers."))
    if locked.published_at is None:
        raise ForumError(_("This question is still a draft."))
    if not body.strip():
        raise ForumError(_("Please write an answer."))
    created = Answer.objects.create(
        topic=locked,
        body=body.strip(),
        author=author,
        author_municipality=access.home_municipality(author),
        published_at=None if draft else timezone.now(),
    )
    if not draft:
        _after_publish(created, actor=author)
    return created


def _require_author(post: Topic | Answer, actor: Any) -> None:
    if post.author_id != getattr(actor, "pk", None):
        raise ForumError(_("Only the author can do this with a draft."))


@transaction.atomic
def publish(post: Topic | Answer, *, actor: Any) -> None:
    """Publish the author's draft: from now on every staff member reads it."""
    _require_author(post, actor)
    if post.published_at is not None:
        return
    if isinstance(post, Answer):
        topic = Topic.objects.select_for_update().get(pk=post.topic_id)
        if topic.locked:
            raise ForumError(_("This topic is locked; it takes no new answers."))
    post.published_at = timezone.now()
    type(post).objects.filter(pk=post.pk).update(published_at=post.published_at)
    _after_publish(post, actor=actor)


@transaction.atomic
def delete_draft(post: Topic | Answer, *, actor: Any) -> None:
    _require_author(post, actor)
    if post.published_at is not None:
        raise ForumError(_("Only drafts can be deleted; published posts are hidden by moderators."))
    post.delete()


@transaction.atomic
def edit(post: Topic | Answer, *, actor: Any, body: str, title: str | None = None) -> bool:
    """Change a post's text (its author or a moderator); a published post keeps every version.

    Returns whether anything changed. Mentions new in this version are notified.
    """
    if not access.can_edit(actor, post):
        raise ForumError(_("Only the author or a moderator can edit this post."))
    body = body.strip()
    new_title = (title or "").strip()[:200] if isinstance(post, Topic) else ""
    if not body or (isinstance(post, Topic) and not new_title):
        raise ForumError(
            _("Please enter a title and your question.") if isinstance(post, Topic) else _("Please write an answer.")
        )
    old_body = post.body
    if body == old_body and (not isinstance(post, Topic) or new_title == post.title):
        return False
    published = post.published_at is not None
    if published and not Revision.objects.filter(**{"topic" if isinstance(post, Topic) else "answer": post}).exists():
        _add_revision(post, editor=post.author)  # a post from before versions were kept
    post.body = body
    if isinstance(post, Topic):
        post.title = new_title
        post.save(update_fields=["title", "body", "updated_at"])
    else:
        post.save(update_fields=["body", "updated_at"])
    if not published:
        return True
    _add_revision(post, editor=actor)
    if post.author_id != actor.pk:
        audit.record("forum.post.edit", actor=actor, obj=post)
    notifications.on_mentions(post, body, actor=actor, previous=old_body)
    if isinstance(post, Topic):
        documents.sync_topic(post.pk)
    else:
        documents.sync_answer(post.pk)
    return True


@transaction.atomic
def toggle_vote(post: Topic | Answer, *, user: Any) -> bool:
    """Vote for a post, or take the vote back; returns whether the person now votes for it."""
    model = type(post)
    locked = model.objects.select_for_update().get(pk=post.pk)
    if locked.published_at is None or locked.hidden:
        raise ForumError(_("You cannot vote for this post."))
    if locked.author_id == user.pk:
        raise ForumError(_("You cannot vote for your own post."))
    target = {"topic": locked} if isinstance(locked, Topic) else {"answer": locked}
    deleted, _rows = Vote.objects.filter(user=user, **target).delete()
    if deleted:
        model.objects.filter(pk=locked.pk).update(score=F("score") - 1)
    else:
        Vote.objects.create(user=user, **target)
        model.objects.filter(pk=locked.pk).update(score=F("score") + 1)
    if isinstance(locked, Topic):
        documents.sync_topic(locked.pk)
    else:
        documents.sync_answer(locked.pk)
    return not deleted


@transaction.atomic
def accept_answer(topic: Topic, answer_obj: Answer, *, actor: Any) -> None:
    if answer_obj.topic_id != topic.pk or answer_obj.hidden or answer_obj.published_at is None:
        raise ForumError(_("This answer cannot be accepted."))
    if not access.can_accept(actor, topic):
        raise ForumError(_("Only the person who asked or a moderator can accept an answer."))
    previous = Topic.objects.filter(pk=topic.pk).values_list("accepted_answer_id", flat=True).first()
    Topic.objects.filter(pk=topic.pk).update(accepted_answer=answer_obj)
    audit.record("forum.answer.accept", actor=actor, obj=topic, changes={"answer": str(answer_obj.uuid)})
    notifications.on_accepted(answer_obj, actor=actor)
    documents.sync_topic(topic.pk)
    for answer_id in {previous, answer_obj.pk}:
        if answer_id is not None:
            documents.sync_answer(answer_id)


def _require_moderator(actor: Any) -> None:
    if not access.is_moderator(actor):
        raise ForumError(_("Only moderators of the cooperation can do this."))


@transaction.atomic
def set_hidden(post: Topic | Answer, hidden: bool, *, actor: Any) -> None:
    _require_moderator(actor)
    type(post).objects.filter(pk=post.pk).update(hidden=hidden)
    if isinstance(post, Answer) and hidden:
        Topic.objects.filter(pk=post.topic_id, accepted_answer=post).update(accepted_answer=None)
    target = {"topic": post} if isinstance(post, Topic) else {"answer": post}
    if hidden:
        Flag.objects.filter(outcome=Flag.Outcome.OPEN, **target).update(
            outcome=Flag.Outcome.HIDDEN, resolved_by=actor, resolved_at=timezone.now()
        )
    audit.record("forum.moderate.hide" if hidden else "forum.moderate.unhide", actor=actor, obj=post)
    if isinstance(post, Topic):
        documents.sync_topic(post.pk, with_answers=True)
    else:
        documents.sync_answer(post.pk)


@transaction.atomic
def set_locked(topic: Topic, locked: bool, *, actor: Any) -> None:
    _require_moderator(actor)
    Topic.objects.filter(pk=topic.pk).update(locked=locked)
    audit.record("forum.moderate.lock" if locked else "forum.moderate.unlock", actor=actor, obj=topic)


@transaction.atomic
def flag(post: Topic | Answer, *, reporter: Any, reason: str, comment: str = "") -> Flag:
    """Report a post to the moderators (once per person and post while the report is open)."""
    if reason not in Flag.Reason.values:
        raise ForumError(_("Please choose a reason."))
    if reason == Flag.Reason.OTHER and not comment.strip():
        raise ForumError(_("Please describe the problem."))
    target = {"topic": post} if isinstance(post, Topic) else {"answer": post}
    existing = Flag.objects.filter(reporter=reporter, outcome=Flag.Outcome.OPEN, **target).first()
    if existing is not None:
        return existing
    created = Flag.objects.create(reporter=reporter, reason=reason, comment=comment.strip()[:500], **target)
    audit.record("forum.flag.create", actor=reporter, obj=post, changes={"reason": reason})
    return created


@transaction.atomic
def dismiss_flag(flag_obj: Flag, *, actor: Any) -> None:
    _require_moderator(actor)
    updated = Flag.objects.filter(pk=flag_obj.pk, outcome=Flag.Outcome.OPEN).update(
        outcome=Flag.Outcome.DISMISSED, resolved_by=actor, resolved_at=timezone.now()
    )
    if updated:
        audit.record("forum.flag.dismiss", actor=actor, obj=flag_obj.answer or flag_obj.topic)


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
