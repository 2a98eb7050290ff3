"""The forum's two search sources (questions, answers) and how a post becomes a search document.

Only published, visible posts are in the index: ``sync_topic`` / ``sync_answer`` add or remove a
post after every change (publish, edit, hide, vote, accept). Registered in ``apps.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dikom.forum import search
from dikom.forum.models import Answer, Topic

TOPICS = "forum.question"
ANSWERS = "forum.answer"
ACCEPTED_BONUS = 5


def _visible(post: Topic | Answer) -> bool:
    if isinstance(post, Answer):
        return (
            post.published_at is not None
            and not post.hidden
            and post.topic.published_at is not None
            and not (post.topic.hidden)
        )
    return post.published_at is not None and not post.hidden


def topic_document(topic: Topic, tags: list[str] | None = None) -> search.Document:
    return search.Document(
        source=TOPICS,
        key=str(topic.uuid),
        title=topic.title,
        text=topic.body,
        url=reverse("forum:topic", args=[topic.uuid]),
        tags=tags if tags is not None else [t.slug for t in topic.tags.all()],
        rank=topic.score + (ACCEPTED_BONUS if topic.accepted_answer_id else 0),
        changed_at=topic.published_at,
    )


def answer_document(answer: Answer, tags: list[str] | None = None) -> search.Document:
    topic = answer.topic
    return search.Document(
        source=ANSWERS,
        key=str(answer.uuid),
        title=topic.title,
        text=answer.body,
        url=reverse("forum:topic", args=[topic.uuid]) + f"#a-{answer.uuid}",
        tags=tags if tags is not None else [t.slug for t in topic.tags.all()],
        rank=answer.score + (ACCEPTED_BONUS if topic.accepted_answer_id == answer.pk else 0),
        changed_at=answer.published_at,
        title_searched=False,
    )


def sync_topic(topic_id: int, *, with_answers: bool = False) -> None:
    topic = Topic.objects.get(pk=topic_id)
    if _visible(topic):
        search.index(topic_document(topic))
    else:
        search.remove(TOPICS, str(topic.uuid))
    if with_answers:
        for answer in topic.answers.all():
            sync_answer(answer.pk)


def sync_answer(answer_id: int) -> None:
    answer = Answer.objects.select_related("topic").get(pk=answer_id)
    if _visible(answer):
        search.index(answer_document(answer))
    else:
        search.remove(ANSWERS, str(answer.uuid))


def _all_topics() -> Iterator[search.Document]:
    for topic in (
        Topic.objects.filter(published_at__isnull=False, hidden=False)
        .prefetch_related("tags")
        .iterator(chunk_size=1000)
    ):
        yield topic_document(topic)


def _all_answers() -> Iterator[search.Document]:
    answers = Answer.objects.filter(
        published_at__isnull=False, hidden=False, topic__published_at__isnull=False, topic__hidden=False
    ).select_related("topic")
    for answer in answers.prefetch_related("topic__tags").iterator(chunk_size=1000):
        yield answer_document(answer)


def _forum_user(user: Any) -> bool:
    from dikom.forum.access import is_forum_user

    return is_forum_user(user)


def register_sources() -> None:
    search.register(search.Source(TOPICS, _("Question"), _forum_user, _all_topics))
    search.register(search.Source(ANSWERS, _("Answer"), _forum_user, _all_answers))
