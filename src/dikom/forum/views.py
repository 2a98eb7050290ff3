"""Pages of the Digital Transfer Forum: topics with answers, the question form, moderation, events.

Thin: ``access.py`` decides who reads and moderates (staff of every member city; never citizens),
``forms.py`` validates, ``actions.py`` changes state. Every form works without JavaScript.
Markdown is rendered by the ``markdown`` filter (raw HTML escaped).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dikom.competences.service import competence_titles
from dikom.forum import access, actions
from dikom.forum.forms import AnswerForm, EventForm, QuestionForm
from dikom.forum.models import Answer, Category, Event, Registration, Tag, Topic
from dikom.lib import icalendar


def _language() -> str:
    return (get_language() or "de")[:2]


@login_required
def index(request: HttpRequest) -> HttpResponse:
    access.require_forum_user(request.user)
    topics = Topic.objects.select_related("category", "author", "author_municipality", "accepted_answer")
    if not access.is_moderator(request.user):
        topics = topics.filter(hidden=False)
    query = request.GET.get("q", "").strip()[:100]
    tag = Tag.objects.filter(slug=request.GET.get("thema", "")[:80]).first()
    category = Category.objects.filter(slug=request.GET.get("kategorie", "")[:60]).first()
    if query:
        topics = topics.filter(Q(title__icontains=query) | Q(body__icontains=query))
    if tag is not None:
        topics = topics.filter(tags=tag)
    if category is not None:
        topics = topics.filter(category=category)
    topics = topics.annotate(n_answers=Count("answers", filter=Q(answers__hidden=False))).prefetch_related("tags")
    return render(
        request,
        "forum/index.html",
        {
            "topics": topics[:50],
            "categories": Category.objects.all(),
            "events": Event.objects.filter(ends_at__gte=timezone.now()).order_by("starts_at")[:3],
            "query": query,
            "tag": tag,
            "category": category,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest) -> HttpResponse:
    access.require_forum_user(request.user)
    titles = competence_titles(_language())
    initial = {}
    code = request.GET.get("kompetenz", "")[:30]
    if code in dict(titles):
        initial["competences"] = [code]
    form = QuestionForm(request.POST or None, initial=initial, competences=titles)
    if request.method == "POST" and form.is_valid():
        chosen = [(c, dict(titles)[c]) for c in form.cleaned_data["competences"]]
        try:
            topic = actions.ask_question(
                author=request.user,
                category=form.cleaned_data["category"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                competences=chosen,
                free_tags=form.free_tags(),
            )
        except actions.ForumError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your question is published for the staff of all member cities."))
            return redirect("forum:topic", topic_uuid=topic.uuid)
    return render(request, "forum/ask.html", {"form": form}, status=400 if request.method == "POST" else 200)


def _topic_context(request: HttpRequest, topic: Topic, form: AnswerForm | None = None) -> dict[str, Any]:
    moderator = access.is_moderator(request.user)
    answers = topic.answers.select_related("author", "author_municipality")
    if not moderator:
        answers = answers.filter(hidden=False)
    return {
        "topic": topic,
        "answers": list(answers),
        "form": form or AnswerForm(),
        "can_accept": access.can_accept(request.user, topic),
        "is_moderator": moderator,
        "tags": list(topic.tags.all()),
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
        try:
            actions.answer(found, author=request.user, body=form.cleaned_data["body"])
        except actions.ForumError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your answer was published."))
            return redirect("forum:topic", topic_uuid=found.uuid)
    return render(request, "forum/topic.html", _topic_context(request, found, form), status=400)


def _answer_of(found: Topic, answer_uuid: Any) -> Answer:
    item = found.answers.filter(uuid=answer_uuid).first()
    if item is None:
        raise Http404
    return item


@login_required
@require_POST
def accept(request: HttpRequest, topic_uuid: Any, answer_uuid: Any) -> HttpResponse:
    found = access.get_topic(request.user, topic_uuid)
    try:
        actions.accept_answer(found, _answer_of(found, answer_uuid), actor=request.user)
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
            target: Topic | Answer = _answer_of(found, answer_uuid) if answer_uuid else found
            actions.set_hidden(target, action == "hide", actor=request.user)
        elif action in ("lock", "unlock"):
            actions.set_locked(found, action == "lock", actor=request.user)
        else:
            messages.error(request, _("Unknown moderation action."))
            return redirect("forum:topic", topic_uuid=found.uuid)
    except ValidationError as exc:  # a malformed answer id: as if the answer did not exist
        raise Http404 from exc
    except actions.ForumError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Done."))
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
