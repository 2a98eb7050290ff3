"""Pages of the Digital Transfer Forum: topics with answers, the question form, moderation, events.

Thin: ``access.py`` decides who reads and moderates (staff of every member city; never citizens),
``forms.py`` validates, ``actions.py`` changes state. Every form works without JavaScript.
Markdown is rendered by the ``markdown`` filter (raw HTML escaped).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dikom.competences.service import competence_titles
from dikom.eservices.service import released_services
from dikom.forum import access, actions, notifications, search
from dikom.forum.forms import AnswerForm, EventForm, QuestionForm
from dikom.forum.models import Answer, Category, Event, Registration, Subscription, Tag, Topic, Vote
from dikom.lib import icalendar


def _language() -> str:
    return (get_language() or "de")[:2]


SORTS = {
    "aktivitaet": ("-last_activity_at", "-pk"),
    "neu": ("-published_at", "-pk"),
    "stimmen": ("-score", "-last_activity_at", "-pk"),
}


def _cluster_choices() -> list[tuple[str, str]]:
    # Read through the app registry: the competences app owns its clusters, the forum only names them.
    cluster = apps.get_model("competences", "Cluster")
    return list(cluster.objects.order_by("name").values_list("key", "name"))


def _service_choices() -> list[tuple[str, str]]:
    return list(released_services().values_list("slug", "title"))


@login_required
def index(request: HttpRequest) -> HttpResponse:
    access.require_forum_user(request.user)
    query = request.GET.get("q", "").strip()[:100]
    tag = Tag.objects.filter(slug=request.GET.get("thema", "")[:80]).first()
    category = Category.objects.filter(slug=request.GET.get("kategorie", "")[:60]).first()
    sort = request.GET.get("sortierung", "")
    if sort not in SORTS:
        sort = "aktivitaet"
    result = None
    topics: Any = []
    if query:
        result = search.search(request.user, query, tag=tag.slug if tag else None, limit=50)
    else:
        topics = access.visible_topics(request.user).select_related(
            "category", "author", "author_municipality", "accepted_answer"
        )
        if tag is not None:
            topics = topics.filter(tags=tag)
        if category is not None:
            topics = topics.filter(category=category)
        topics = (
            topics.annotate(
                n_answers=Count("answers", filter=Q(answers__hidden=False, answers__published_at__isnull=False))
            )
            .prefetch_related("tags")
            .order_by(*SORTS[sort])[:50]
        )
    following_tag = tag is not None and Subscription.objects.filter(user_id=int(request.user.pk or 0), tag=tag).exists()
    return render(
        request,
        "forum/index.html",
        {
            "topics": topics,
            "result": result,
            "categories": Category.objects.all(),
            "events": Event.objects.filter(ends_at__gte=timezone.now()).order_by("starts_at")[:3],
            "query": query,
            "tag": tag,
            "following_tag": following_tag,
            "category": category,
            "sort": sort,
            "sorts": [("aktivitaet", _("latest activity")), ("neu", _("newest")), ("stimmen", _("most votes"))],
            "is_moderator": access.is_moderator(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest) -> HttpResponse:
    access.require_forum_user(request.user)
    titles = competence_titles(_language())
    clusters = _cluster_choices()
    services = _service_choices()
    initial: dict[str, Any] = {}
    code = request.GET.get("kompetenz", "")[:30]
    if code in dict(titles):
        initial["competences"] = [code]
    cluster_key = request.GET.get("cluster", "")[:60]
    if cluster_key in dict(clusters):
        initial["clusters"] = [cluster_key]
    service_slug = request.GET.get("dienst", "")[:80]
    if service_slug in dict(services):
        initial["services"] = [service_slug]
        initial["category"] = Category.objects.filter(slug="onlinedienste").first()
    form = QuestionForm(request.POST or None, initial=initial, competences=titles, clusters=clusters, services=services)
    if request.method == "POST" and form.is_valid():
        draft = "draft" in request.POST
        try:
            topic = actions.ask_question(
                author=request.user,
                category=form.cleaned_data["category"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                competences=[(c, dict(titles)[c]) for c in form.cleaned_data["competences"]],
                clusters=[(k, dict(clusters)[k]) for k in form.cleaned_data["clusters"]],
                services=[(k, dict(services)[k]) for k in form.cleaned_data["services"]],
                free_tags=form.free_tags(),
                draft=draft,
            )
        except actions.ForumError as exc:
            form.add_error(None, str(exc))
        else:
            if draft:
                messages.success(request, _("Your question is saved as a draft; only you can see it."))
            else:
                messages.success(request, _("Your question is published for the staff of all member cities."))
            return redirect("forum:topic", topic_uuid=topic.uuid)
    return render(request, "forum/ask.html", {"form": form}, status=400 if request.method == "POST" else 200)


def _topic_context(request: HttpRequest, topic: Topic, form: AnswerForm | None = None) -> dict[str, Any]:
    user = request.user
    moderator = access.is_moderator(user)
    answers = topic.answers.select_related("author", "author_municipality").filter(
        Q(published_at__isnull=False) | Q(author_id=user.pk)
    )
    if not moderator:
        answers = answers.filter(hidden=False)
    ordered = sorted(
        answers,
        key=lambda a: (a.pk != topic.accepted_answer_id, a.published_at is None, -a.score, a.created_at),
    )
    voted_answers = set(
        Vote.objects.filter(user_id=int(user.pk or 0), answer__topic=topic).values_list("answer_id", flat=True)
    )
    for item in ordered:
        item.voted = item.pk in voted_answers  # type: ignore[attr-defined]
        item.can_edit = access.can_edit(user, item)  # type: ignore[attr-defined]
    return {
        "topic": topic,
        "answers": ordered,
        "n_published": sum(1 for a in ordered if a.published_at is not None),
        "form": form or AnswerForm(),
        "can_accept": access.can_accept(user, topic),
        "can_edit_topic": access.can_edit(user, topic),
        "is_moderator": moderator,
        "is_author": topic.author_id == user.pk,
        "tags": list(topic.tags.all()),
        "voted_topic": Vote.objects.filter(user_id=int(user.pk or 0), topic=topic).exists(),
        "following": Subscription.objects.filter(user_id=int(user.pk or 0), topic=topic).exists(),
        "user_pk": user.pk,
        "mention_links": notifications.mention_links(user, [topic.body, *(a.body for a in ordered)]),
    }


@login_required
def topic(request: HttpRequest, topic_uuid: Any) -> HttpResponse:
    found = access.get_topic(request.user, topic_uuid)
    return render(request, "forum/topic.html", _topic_context(request, found))


@login_required
@require_POST
def post_answer(request: HttpRequest, topic_uuid: Any) -> HttpResponse:
    found = access.get_topic(request.user, topic_uuid)
    form = AnswerForm(request.POST)
    if form.is_valid():
        draft = "draft" in request.POST
        try:
            created = actions.answer(found, author=request.user, body=form.cleaned_data["body"], draft=draft)
        except actions.ForumError as exc:
            form.add_error(None, str(exc))
        else:
            if draft:
                messages.success(request, _("Your answer is saved as a draft; only you can see it."))
            else:
                messages.success(request, _("Your answer was published."))
            return redirect(reverse("forum:topic", args=[found.uuid]) + f"#a-{created.uuid}")
    return render(request, "forum/topic.html", _topic_context(request, found, form), status=400)


@login_required
@require_POST
def accept(request: HttpRequest, topic_uuid: Any, answer_uuid: Any) -> HttpResponse:
    found = access.get_topic(request.user, topic_uuid)
    try:
        actions.accept_answer(found, access.get_answer(request.user, found, answer_uuid), actor=request.user)
    except actions.ForumError as exc:
        messages.error(request, str(exc))
        return redirect("forum:topic", topic_uuid=found.uuid)
    messages.success(request, _("The answer is marked as accepted."))
    return redirect("forum:topic", topic_uuid=found.uuid)


@login_required
@require_POST
def moderate(request: HttpRequest, topic_uuid: Any) -> HttpResponse:
    found = access.get_topic(request.user, topic_uuid)
    action = request.POST.get("action", "")
    answer_uuid = request.POST.get("answer", "")
    try:
        if action in ("hide", "unhide"):
            target: Topic | Answer = access.get_answer(request.user, found, answer_uuid) if answer_uuid else found
            actions.set_hidden(target, action == "hide", actor=request.user)
        elif action in ("lock", "unlock"):
            actions.set_locked(found, action == "lock", actor=request.user)
        else:
            messages.error(request, _("Unknown moderation action."))
            return redirect("forum:topic", topic_uuid=found.uuid)
    except actions.ForumError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Done."))
    if request.POST.get("next") == "queue":
        return redirect("forum:moderation")
    return redirect("forum:topic", topic_uuid=found.uuid)


# --- events -------------------------------------------------------------------------------------


@login_required
def events(request: HttpRequest) -> HttpResponse:
    access.require_forum_user(request.user)
    upcoming = Event.objects.filter(ends_at__gte=timezone.now()).select_related("organiser").order_by("starts_at")
    return render(
        request,
        "forum/events.html",
        {"events": upcoming[:100], "can_create": access.can_create_events(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def event_new(request: HttpRequest) -> HttpResponse:
    access.require_forum_user(request.user)
    if not access.can_create_events(request.user):
        raise PermissionDenied
    form = EventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            event = actions.create_event(actor=request.user, **form.cleaned_data)
        except actions.ForumError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The event is announced to the staff of all member cities."))
            return redirect("forum:event", event_uuid=event.uuid)
    return render(request, "forum/event_form.html", {"form": form}, status=400 if request.method == "POST" else 200)


@login_required
def event(request: HttpRequest, event_uuid: Any) -> HttpResponse:
    found = access.get_event(request.user, event_uuid)
    taken = found.registrations.filter(status=Registration.Status.REGISTERED).count()
    return render(
        request,
        "forum/event.html",
        {
            "event": found,
            "own": found.registrations.filter(user_id=int(request.user.pk or 0)).first(),
            "seats_left": max(found.seats - taken, 0),
            "open": found.starts_at > timezone.now(),
        },
    )


@login_required
def event_ics(request: HttpRequest, event_uuid: Any) -> HttpResponse:
    """The event as an iCalendar file for one's own calendar."""
    found = access.get_event(request.user, event_uuid)
    body = icalendar.calendar(
        icalendar.Appointment(
            uid=f"event-{found.uuid}@dikom",
            title=found.title,
            starts_at=found.starts_at,
            ends_at=found.ends_at,
            location=found.place or (_("Online") if found.online else ""),
            description=found.description,
            url=request.build_absolute_uri(reverse("forum:event", args=[found.uuid])),
        ),
        now=timezone.now(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="veranstaltung-{found.uuid}.ics"'
    return response


@login_required
@require_POST
def event_register(request: HttpRequest, event_uuid: Any) -> HttpResponse:
    found = access.get_event(request.user, event_uuid)
    try:
        registration = actions.register(found, user=request.user)
    except actions.ForumError as exc:
        messages.error(request, str(exc))
    else:
        if registration.status == Registration.Status.WAITING:
            messages.info(request, _("All seats are taken; you are on the waiting list."))
        else:
            messages.success(request, _("You are registered."))
    return redirect("forum:event", event_uuid=found.uuid)


@login_required
@require_POST
def event_unregister(request: HttpRequest, event_uuid: Any) -> HttpResponse:
    found = access.get_event(request.user, event_uuid)
    actions.unregister(found, user=request.user)
    messages.success(request, _("Your registration was cancelled."))
    return redirect("forum:event", event_uuid=found.uuid)
