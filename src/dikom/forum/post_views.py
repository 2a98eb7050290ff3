"""Pages around posts: votes, following, drafts, editing with its version list, flags and the
moderators' queue, and the person's notifications and e-mail setting.

Thin like ``views.py``: ``access`` decides, ``actions``/``notifications`` change state. Every form
posts without JavaScript and returns to the page it came from.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dikom.forum import access, actions, notifications
from dikom.forum.forms import EditForm, FlagForm, NotificationSettingForm
from dikom.forum.models import Answer, Flag, Notification, Revision, Subscription, Tag, Topic


def _post(request: HttpRequest, topic_uuid: Any, answer_uuid: Any = None) -> tuple[Topic, Topic | Answer]:
    found = access.get_topic(request.user, topic_uuid)
    if answer_uuid:
        return found, access.get_answer(request.user, found, answer_uuid)
    return found, found


def _back(found: Topic, post: Topic | Answer) -> HttpResponse:
    url = reverse("forum:topic", args=[found.uuid])
    if isinstance(post, Answer):
        url += f"#a-{post.uuid}"
    return redirect(url)


@login_required
@require_POST
def vote(request: HttpRequest, topic_uuid: Any, answer_uuid: Any = None) -> HttpResponse:
    found, post = _post(request, topic_uuid, answer_uuid)
    try:
        voted = actions.toggle_vote(post, user=request.user)
    except actions.ForumError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your vote is counted.") if voted else _("Your vote is taken back."))
    return _back(found, post)


@login_required
@require_POST
def follow(request: HttpRequest, topic_uuid: Any) -> HttpResponse:
    found = access.get_topic(request.user, topic_uuid)
    if request.POST.get("action") == "unfollow":
        notifications.unfollow(request.user, topic=found)
        messages.success(request, _("You no longer follow this topic."))
    else:
        notifications.follow_topic(request.user, found)
        messages.success(request, _("You follow this topic; new answers are notified to you."))
    return redirect("forum:topic", topic_uuid=found.uuid)


@login_required
@require_POST
def follow_tag(request: HttpRequest, slug: str) -> HttpResponse:
    access.require_forum_user(request.user)
    tag = Tag.objects.filter(slug=slug).first()
    if tag is None:
        raise Http404
    if request.POST.get("action") == "unfollow":
        notifications.unfollow(request.user, tag=tag)
        messages.success(request, _("You no longer follow “%(name)s”.") % {"name": tag.name})
    else:
        notifications.follow_tag(request.user, tag)
        messages.success(request, _("You follow “%(name)s”; new questions are notified to you.") % {"name": tag.name})
    if request.POST.get("next") == "settings":
        return redirect("forum:notifications")
    return redirect(reverse("forum:index") + f"?thema={tag.slug}")


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, topic_uuid: Any, answer_uuid: Any = None) -> HttpResponse:
    found, post = _post(request, topic_uuid, answer_uuid)
    if not access.can_edit(request.user, post):
        raise PermissionDenied
    is_topic = isinstance(post, Topic)
    initial = {"body": post.body, **({"title": post.title} if isinstance(post, Topic) else {})}
    form = EditForm(request.POST or None, initial=initial, with_title=is_topic)
    if request.method == "POST" and form.is_valid():
        try:
            changed = actions.edit(
                post, actor=request.user, body=form.cleaned_data["body"], title=form.cleaned_data.get("title")
            )
        except actions.ForumError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your changes are saved.") if changed else _("Nothing was changed."))
            return _back(found, post)
    return render(
        request,
        "forum/edit.html",
        {"form": form, "topic": found, "post": post, "is_topic": is_topic},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def draft(request: HttpRequest, topic_uuid: Any, answer_uuid: Any = None) -> HttpResponse:
    found, post = _post(request, topic_uuid, answer_uuid)
    try:
        if request.POST.get("action") == "delete":
            actions.delete_draft(post, actor=request.user)
            messages.success(request, _("The draft is deleted."))
            if isinstance(post, Topic):
                return redirect("forum:drafts")
            return redirect("forum:topic", topic_uuid=found.uuid)
        actions.publish(post, actor=request.user)
    except actions.ForumError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Published for the staff of all member cities."))
    return _back(found, post)


def _diffs(revisions: list[Revision]) -> list[dict[str, Any]]:
    rows = []
    previous: Revision | None = None
    for revision in revisions:
        before = f"{previous.title}\n\n{previous.body}" if previous else ""
        after = f"{revision.title}\n\n{revision.body}"
        lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1))[2:]
        rows.append({"revision": revision, "diff": [(line[:1], line[1:]) for line in lines if line[:2] != "@@"]})
        previous = revision
    rows.reverse()
    return rows


@login_required
def versions(request: HttpRequest, topic_uuid: Any, answer_uuid: Any = None) -> HttpResponse:
    """Every published version of a question or answer: who changed what, when (for all staff)."""
    found, post = _post(request, topic_uuid, answer_uuid)
    target = {"topic": post} if isinstance(post, Topic) else {"answer": post}
    revisions = list(Revision.objects.filter(**target).select_related("editor").order_by("number"))
    return render(request, "forum/versions.html", {"topic": found, "post": post, "rows": _diffs(revisions)})


@login_required
@require_http_methods(["GET", "POST"])
def flag(request: HttpRequest, topic_uuid: Any, answer_uuid: Any = None) -> HttpResponse:
    found, post = _post(request, topic_uuid, answer_uuid)
    form = FlagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.flag(
                post, reporter=request.user, reason=form.cleaned_data["reason"], comment=form.cleaned_data["comment"]
            )
        except actions.ForumError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Thank you; the moderators will look at it."))
            return _back(found, post)
    return render(
        request,
        "forum/flag.html",
        {"form": form, "topic": found, "post": post},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def moderation(request: HttpRequest) -> HttpResponse:
    """The moderators' queue: open flags, oldest first, with what was reported."""
    access.require_forum_user(request.user)
    if not access.is_moderator(request.user):
        raise PermissionDenied
    open_flags = (
        Flag.objects.filter(outcome=Flag.Outcome.OPEN)
        .select_related("topic", "answer", "answer__topic", "reporter")
        .order_by("created_at", "id")
    )
    recent = (
        Flag.objects.exclude(outcome=Flag.Outcome.OPEN)
        .select_related("topic", "answer", "answer__topic", "resolved_by")
        .order_by("-resolved_at")[:20]
    )
    return render(request, "forum/moderation.html", {"flags": open_flags[:200], "recent": recent})


@login_required
@require_POST
def flag_dismiss(request: HttpRequest, flag_id: int) -> HttpResponse:
    access.require_forum_user(request.user)
    found = Flag.objects.filter(pk=flag_id).first()
    if found is None:
        raise Http404
    try:
        actions.dismiss_flag(found, actor=request.user)
    except actions.ForumError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The report is dismissed."))
    return redirect("forum:moderation")


@login_required
def drafts(request: HttpRequest) -> HttpResponse:
    access.require_forum_user(request.user)
    own = Q(author_id=request.user.pk, published_at__isnull=True)
    return render(
        request,
        "forum/drafts.html",
        {
            "topics": Topic.objects.filter(own).order_by("-updated_at"),
            "answers": Answer.objects.filter(own).select_related("topic").order_by("-updated_at"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def notifications_page(request: HttpRequest) -> HttpResponse:
    """The person's news, their subscriptions and how they want to be e-mailed."""
    access.require_forum_user(request.user)
    setting = notifications.setting_for(request.user)
    form = NotificationSettingForm(request.POST or None, initial={"mode": setting.mode})
    if request.method == "POST":
        if request.POST.get("action") == "read":
            notifications.mark_read(request.user)
            messages.success(request, _("All notifications are marked as read."))
            return redirect("forum:notifications")
        if form.is_valid():
            notifications.set_mode(request.user, form.cleaned_data["mode"])
            messages.success(request, _("Your notification setting is saved."))
            return redirect("forum:notifications")
    items = (
        Notification.objects.filter(user_id=int(request.user.pk or 0), topic__hidden=False)
        .select_related("topic", "answer", "actor")
        .order_by("-created_at", "-id")[:100]
    )
    subscriptions = Subscription.objects.filter(user_id=int(request.user.pk or 0)).select_related("topic", "tag")
    return render(
        request,
        "forum/notifications.html",
        {
            "items": items,
            "form": form,
            "topic_subscriptions": [s for s in subscriptions if s.topic_id],
            "tag_subscriptions": [s for s in subscriptions if s.tag_id],
        },
        status=400 if request.method == "POST" else 200,
    )
