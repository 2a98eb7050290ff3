"""Who may read and change what in the transfer forum: written once, used by every view.

- Reading, asking, answering, registering for events: every staff member of any member city
  (a role in at least one city). Citizens: 403; anonymous visitors are sent to the log-in.
- Hidden posts: moderators only (everyone else gets 404 for a hidden topic).
- Drafts: their author only (404 for everyone else, moderators included).
- Editing: the author; moderators edit published posts too. Voting and flagging: every staff member.
- Accepting an answer: the topic's author, or a moderator.
- Hiding, unhiding, locking: moderators of the cooperation (``Moderator``) and platform administrators.
- Creating events: moderators, and HR and administrators of any city.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404

from dikom.accounts.access import roles_in, staff_municipalities
from dikom.accounts.roles import Role
from dikom.forum.models import Answer, Event, Moderator, Topic

EVENT_ROLES = frozenset({Role.HUMAN_RESOURCES, Role.MUNICIPALITY_ADMIN})


def _authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def is_forum_user(user: Any) -> bool:
    return _authenticated(user) and (user.is_superuser or staff_municipalities(user).exists())


def require_forum_user(user: Any) -> None:
    if not is_forum_user(user):
        raise PermissionDenied


def is_moderator(user: Any) -> bool:
    return _authenticated(user) and (user.is_superuser or Moderator.objects.filter(user=user).exists())


def home_municipality(user: Any) -> Any:
    """The city shown beside the user's posts (their first city)."""
    return staff_municipalities(user).order_by("name").first()


def get_topic(user: Any, topic_uuid: Any) -> Topic:
    require_forum_user(user)
    topic = Topic.objects.select_related("category", "author", "author_municipality").filter(uuid=topic_uuid).first()
    if topic is None or (topic.hidden and not is_moderator(user)):
        raise Http404
    if topic.published_at is None and topic.author_id != user.pk:
        raise Http404
    return topic


def can_accept(user: Any, topic: Topic) -> bool:
    return _authenticated(user) and (topic.author_id == user.pk or is_moderator(user))


def can_create_events(user: Any) -> bool:
    if is_moderator(user):
        return True
    return any(roles_in(user, m) & EVENT_ROLES for m in staff_municipalities(user))


def get_event(user: Any, event_uuid: Any) -> Event:
    require_forum_user(user)
    event = Event.objects.select_related("organiser").filter(uuid=event_uuid).first()
    if event is None:
        raise Http404
    return event


def can_edit(user: Any, post: Topic | Answer) -> bool:
    """The author edits their own post (a draft or published); moderators edit published posts."""
    if not _authenticated(user):
        return False
    if post.author_id == user.pk:
        return True
    return post.published_at is not None and is_moderator(user)


def get_answer(user: Any, topic: Topic, answer_uuid: Any) -> Answer:
    """An answer of ``topic`` the user may see (drafts: the author only; hidden: moderators only)."""
    try:
        answer = topic.answers.select_related("author").filter(uuid=answer_uuid).first()
    except ValidationError as exc:
        raise Http404 from exc
    if answer is None:
        raise Http404
    if answer.published_at is None and answer.author_id != user.pk:
        raise Http404
    if answer.hidden and not is_moderator(user):
        raise Http404
    return answer


def visible_topics(user: Any) -> QuerySet[Topic]:
    """Published topics (hidden ones for moderators only)."""
    topics = Topic.objects.filter(published_at__isnull=False)
    if not is_moderator(user):
        topics = topics.filter(hidden=False)
    return topics
