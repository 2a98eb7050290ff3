"""Mentions, subscriptions and notifications of the transfer forum (state changes only; called by
``actions`` inside their transaction, and by the daily digest job).

- ``@username`` in a published question or answer names a colleague: it is resolved to an active
  account of a staff member (of any member city) and that person is notified. Names that are not
  staff accounts are left as text.
- Following: the author of a question and everyone who answers follow its topic; anyone can follow
  a topic, or a tag (a competence, a competence cluster, an online service, a free tag).
- Each news item is a ``Notification``, listed on the person's notification page. E-mail follows the
  person's ``NotificationSetting``: immediately (one mail per item, through the task queue), once a
  day (``send_daily_digests``: one mail per person and day with everything new), or never.
- One item per person and post: a person mentioned in an answer to a topic they follow gets the mention only.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dikom.accounts.models import User
from dikom.forum.models import Answer, Notification, NotificationSetting, Subscription, Tag, Topic
from dikom.lib.mail import send_mail_on_commit

MENTION_RE = re.compile(r"(?<![\w@/])@([A-Za-z0-9](?:[\w.-]{0,148}[A-Za-z0-9_])?)")
MAX_MENTIONS = 20


def mentioned_names(text: str) -> list[str]:
    names = dict.fromkeys(m.group(1) for m in MENTION_RE.finditer(text or ""))
    return list(names)[:MAX_MENTIONS]


def resolve_mentions(text: str) -> list[Any]:
    """The staff accounts ``@name`` refers to in ``text`` (unknown names and citizens are ignored)."""
    return _forum_users(mentioned_names(text))


def _forum_users(names: list[str]) -> list[Any]:
    from dikom.forum.access import is_forum_user

    if not names:
        return []
    return [u for u in User.objects.filter(username__in=names, is_active=True) if is_forum_user(u)]


def mention_links(viewer: Any, texts: Iterable[str]) -> dict[str, str]:
    """``@name`` → the address of that colleague's page the viewer may open (see competences' ``mention_targets``)."""
    from dikom.competences.service import mention_targets

    names = list(dict.fromkeys(name for text in texts for name in mentioned_names(text)))
    users = {u.pk: u.username for u in _forum_users(names)}
    targets = mention_targets(viewer, list(users))
    return {users[pk]: url for pk, url in targets.items()}


def setting_for(user: Any) -> NotificationSetting:
    found, _created = NotificationSetting.objects.get_or_create(user=user)
    return found


@transaction.atomic
def set_mode(user: Any, mode: str) -> NotificationSetting:
    if mode not in NotificationSetting.Mode.values:
        raise ValueError(mode)
    found = setting_for(user)
    NotificationSetting.objects.filter(pk=found.pk).update(mode=mode)
    found.mode = mode
    return found


def follow_topic(user: Any, topic: Topic) -> None:
    Subscription.objects.get_or_create(user=user, topic=topic)


def follow_tag(user: Any, tag: Tag) -> None:
    Subscription.objects.get_or_create(user=user, tag=tag)


def unfollow(user: Any, *, topic: Topic | None = None, tag: Tag | None = None) -> None:
    if topic is not None:
        Subscription.objects.filter(user=user, topic=topic).delete()
    if tag is not None:
        Subscription.objects.filter(user=user, tag=tag).delete()


def _url(path: str) -> str:
    return str(settings.SITE_URL).rstrip("/") + path


def _topic_path(notification: Notification) -> str:
    path = reverse("forum:topic", args=[notification.topic.uuid])
    if notification.answer is not None:
        path += f"#a-{notification.answer.uuid}"
    return path


def _line(notification: Notification) -> str:
    return f"- {notification.get_kind_display()}: {notification.topic.title}\n  {_url(_topic_path(notification))}"


def _notify(
    user_ids: Iterable[int], kind: str, *, topic: Topic, answer: Answer | None, actor: Any, exclude: set[int]
) -> set[int]:
    targets = set(user_ids) - exclude - {getattr(actor, "pk", None)}
    if not targets:
        return set()
    created = Notification.objects.bulk_create(
        [Notification(user_id=uid, kind=kind, topic=topic, answer=answer, actor=actor) for uid in sorted(targets)]
    )
    immediate = set(
        NotificationSetting.objects.filter(user_id__in=targets, mode=NotificationSetting.Mode.IMMEDIATE).values_list(
            "user_id", flat=True
        )
    )
    emails = dict(User.objects.filter(pk__in=immediate, is_active=True).exclude(email="").values_list("pk", "email"))
    now = timezone.now()
    for notification in created:
        email = emails.get(notification.user_id)
        if email is None:
            continue
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Transfer forum: %(kind)s") % {"kind": notification.get_kind_display()}
            body = _(
                "Hello,\n\nthere is news in the transfer forum:\n\n%(line)s\n\nYour notification settings: %(url)s\n"
            ) % {
                "line": _line(notification),
                "url": _url(reverse("forum:notifications")),
            }
        send_mail_on_commit(subject, body, [email])
        Notification.objects.filter(pk=notification.pk).update(mailed_at=now)
    return targets


def on_mentions(
    post: Topic | Answer, text: str, *, actor: Any, previous: str = "", exclude: set[int] | None = None
) -> set[int]:
    """Notify colleagues named with ``@`` (in an edit: only names that were not there before)."""
    before = set(mentioned_names(previous))
    users = [u for u in resolve_mentions(text) if u.username not in before]
    topic = post if isinstance(post, Topic) else post.topic
    answer = post if isinstance(post, Answer) else None
    return _notify(
        [u.pk for u in users],
        Notification.Kind.MENTION,
        topic=topic,
        answer=answer,
        actor=actor,
        exclude=exclude or set(),
    )


def on_new_topic(topic: Topic, *, actor: Any, exclude: set[int] | None = None) -> set[int]:
    followers = Subscription.objects.filter(tag__in=topic.tags.all()).values_list("user_id", flat=True)
    return _notify(followers, Notification.Kind.TOPIC, topic=topic, answer=None, actor=actor, exclude=exclude or set())


def on_new_answer(answer: Answer, *, actor: Any, exclude: set[int] | None = None) -> set[int]:
    followers = Subscription.objects.filter(topic_id=answer.topic_id).values_list("user_id", flat=True)
    return _notify(
        followers, Notification.Kind.ANSWER, topic=answer.topic, answer=answer, actor=actor, exclude=exclude or set()
    )


def on_accepted(answer: Answer, *, actor: Any) -> set[int]:
    if answer.author_id is None:
        return set()
    return _notify(
        [answer.author_id], Notification.Kind.ACCEPTED, topic=answer.topic, answer=answer, actor=actor, exclude=set()
    )


def mark_read(user: Any, notification_ids: Iterable[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    return qs.update(read_at=timezone.now())


def send_daily_digests(today: datetime.date | None = None) -> int:
    """One e-mail per person (daily mode) and day with the news not mailed yet; returns the mails sent.

    Idempotent: the day is claimed on the person's setting before the mail is queued, so a second
    run on the same day (several clocks, a retry) sends nothing more.
    """
    today = today or timezone.localdate()
    pending = (
        Notification.objects.filter(mailed_at__isnull=True, topic__hidden=False)
        .filter(Q(user__forum_setting__isnull=True) | Q(user__forum_setting__mode=NotificationSetting.Mode.DAILY))
        .values_list("user_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in list(pending):
        with transaction.atomic():
            setting, _created = NotificationSetting.objects.get_or_create(user_id=user_id)
            claimed = (
                NotificationSetting.objects.filter(pk=setting.pk, mode=NotificationSetting.Mode.DAILY)
                .filter(Q(last_digest_on__isnull=True) | Q(last_digest_on__lt=today))
                .update(last_digest_on=today)
            )
            if not claimed:
                continue
            items = list(
                Notification.objects.filter(user_id=user_id, mailed_at__isnull=True, topic__hidden=False)
                .select_related("topic", "answer")
                .order_by("created_at", "id")[:100]
            )
            user = User.objects.filter(pk=user_id, is_active=True).first()
            if not items or user is None or not user.email:
                continue
            with translation.override(settings.LANGUAGE_CODE):
                subject = _("Transfer forum: your daily digest (%(count)d new)") % {"count": len(items)}
                body = _(
                    "Hello %(name)s,\n\nnew in your subscriptions of the transfer forum:\n\n%(lines)s\n\nYour notification settings: %(url)s\n"
                ) % {
                    "name": user.get_full_name() or user.get_username(),
                    "lines": "\n".join(_line(n) for n in items),
                    "url": _url(reverse("forum:notifications")),
                }
            send_mail_on_commit(subject, body, [user.email])
            Notification.objects.filter(pk__in=[n.pk for n in items]).update(mailed_at=timezone.now())
            sent += 1
    return sent
