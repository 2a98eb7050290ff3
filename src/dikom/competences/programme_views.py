"""Pages of the qualification programme (training catalogue across cities) and of the
Virtual Competence Center (clusters, expert directory).

Thin, like ``views.py``: ``access.py`` decides who sees what, ``forms.py`` validates,
``programme.py`` changes state. Every form works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dikom.accounts.access import staff_municipalities
from dikom.competences import access, programme
from dikom.competences.actions import CompetenceError
from dikom.competences.forms import DocumentForm, ExpertContactForm, ExpertForm, TrainingForm
from dikom.competences.models import Cluster, Enrolment, Expert, Framework, FrameworkVersion, Training
from dikom.lib import icalendar
from dikom.municipalities.models import Municipality

COOPERATION = "kooperation"


def _language() -> str:
    return (get_language() or "de")[:2]


def _require_staff(request: HttpRequest) -> None:
    if not access.is_staff(request.user):
        raise PermissionDenied


def _digcomp() -> FrameworkVersion:
    framework = Framework.objects.filter(key="digcomp-2.2", municipality__isnull=True).first()
    version = framework.versions.order_by("-number").first() if framework else None
    if version is None:
        raise Http404
    return version


def _titles(version: FrameworkVersion, language: str) -> dict[str, str]:
    return {c["code"]: c["title"].get(language) or c["title"]["de"] for c in version.competences()}


def _annotated(trainings: Any) -> Any:
    taken = Q(enrolments__status__in=[Enrolment.Status.ENROLLED, Enrolment.Status.COMPLETED])
    return trainings.annotate(taken=Count("enrolments", filter=taken)).select_related(
        "offered_by", "framework_version__framework"
    )


def _cards(trainings: list[Training], titles: dict[str, str]) -> list[tuple[Training, list[Any], int]]:
    """(training, its targets with titles, seats left) for the catalogue cards."""
    return [
        (t, [(c, titles.get(c, c), lvl) for c, lvl in t.targets.items()], max(t.seats - getattr(t, "taken", 0), 0))
        for t in trainings
    ]


@login_required
def trainings(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    language = _language()
    version = _digcomp()
    titles = _titles(version, language)
    found = Training.objects.filter(cancelled=False, ends_at__gte=timezone.now())
    code = request.GET.get("kompetenz", "")[:30]
    city = request.GET.get("anbieter", "")[:60]
    fmt = request.GET.get("format", "")[:12]
    if code:
        found = found.filter(targets__has_key=code)
    if city == COOPERATION:
        found = found.filter(offered_by__isnull=True)
    elif city:
        found = found.filter(offered_by__slug=city)
    if fmt in Training.Format.values:
        found = found.filter(format=fmt)
    items = list(_annotated(found).order_by("starts_at")[:200])
    mine = list(
        Enrolment.objects.filter(staff__in=access.own_staff_profiles(request.user))
        .exclude(status=Enrolment.Status.CANCELLED)
        .select_related("training__offered_by")
        .order_by("training__starts_at")
    )
    return render(
        request,
        "competences/trainings.html",
        {
            "items": _cards(items, titles),
            "mine": mine,
            "competences": sorted(titles.items(), key=lambda item: [int(p) for p in item[0].split(".")]),
            "cities": Municipality.objects.filter(trainings__isnull=False).distinct().order_by("name"),
            "formats": Training.Format.choices,
            "selected": {"code": code, "city": city, "format": fmt},
            "cooperation": COOPERATION,
            "offer_cities": access.training_municipalities(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def training_new(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_municipality_for_training(request.user, slug)
    version = _digcomp()
    form = TrainingForm(request.POST or None, version=version, language=_language())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            training = programme.create_training(
                offered_by=municipality,
                title=data["title"],
                description=data["description"],
                provider=data["provider"],
                format=data["format"],
                place=data["place"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                seats=data["seats"],
                framework_version=version,
                targets=form.targets(),
                actor=request.user,
            )
        except CompetenceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The training is now in the catalogue of all member cities."))
            return redirect("competences:training", training_uuid=training.uuid)
    return render(
        request,
        "competences/training_form.html",
        {"municipality": municipality, "form": form, "version": version},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def training(request: HttpRequest, training_uuid: Any) -> HttpResponse:
    item = access.get_training(request.user, training_uuid)
    titles = _titles(item.framework_version, _language())
    own_staff = list(access.own_staff_profiles(request.user).filter(left_on__isnull=True))
    own = Enrolment.objects.filter(training=item, staff__in=own_staff).exclude(status=Enrolment.Status.CANCELLED)
    taken = item.enrolments.filter(status__in=[Enrolment.Status.ENROLLED, Enrolment.Status.COMPLETED]).count()
    return render(
        request,
        "competences/training.html",
        {
            "training": item,
            "targets": [(c, titles.get(c, c), lvl) for c, lvl in item.targets.items()],
            "own": own.first(),
            "in_roadmap": bool(own_staff),
            "can_enrol": bool(own_staff) and not item.cancelled and item.starts_at > timezone.now(),
            "seats_left": max(item.seats - taken, 0),
            "participants": list(access.participants_visible_to(request.user, item).order_by("status", "created_at")),
            "started": item.starts_at <= timezone.now(),
        },
    )


@login_required
def training_ics(request: HttpRequest, training_uuid: Any) -> HttpResponse:
    """The training as an iCalendar file for one's own calendar."""
    item = access.get_training(request.user, training_uuid)
    place = item.place or (_("Online") if item.format == Training.Format.ONLINE else "")
    body = icalendar.calendar(
        icalendar.Appointment(
            uid=f"training-{item.uuid}@dikom",
            title=item.title,
            starts_at=item.starts_at,
            ends_at=item.ends_at,
            location=place,
            description=item.description,
            url=request.build_absolute_uri(reverse("competences:training", args=[item.uuid])),
        ),
        now=timezone.now(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="schulung-{item.uuid}.ics"'
    return response


@login_required
@require_POST
def training_enrol(request: HttpRequest, training_uuid: Any) -> HttpResponse:
    item = access.get_training(request.user, training_uuid)
    staff = access.own_staff_profiles(request.user).filter(left_on__isnull=True).first()
    if staff is None:
        messages.error(request, _("You are not in roadMAP yet. HR of your city adds staff members."))
        return redirect("competences:training", training_uuid=item.uuid)
    try:
        enrolment = programme.request_enrolment(item, staff, actor=request.user)
    except CompetenceError as exc:
        messages.error(request, str(exc))
    else:
        if enrolment.status == Enrolment.Status.REQUESTED:
            messages.success(request, _("Your request was sent to your line manager for approval."))
        else:
            messages.info(request, _("Your enrolment: %(status)s") % {"status": enrolment.get_status_display()})
    return redirect("competences:training", training_uuid=item.uuid)


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    """Enrolment requests of the people one is line manager of (HR: of people without one)."""
    _require_staff(request)
    return render(request, "competences/approvals.html", {"requests": access.pending_approvals(request.user)})


@login_required
@require_POST
def approval_decide(request: HttpRequest, enrolment_uuid: Any) -> HttpResponse:
    enrolment = access.get_enrolment_for_approver(request.user, enrolment_uuid)
    decision = request.POST.get("decision", "")
    if decision not in ("approve", "decline"):
        messages.error(request, _("Please choose whether to approve or decline."))
        return redirect("competences:approvals")
    try:
        decided = programme.decide_enrolment(
            enrolment,
            approver=request.user,
            approve=decision == "approve",
            comment=request.POST.get("comment", "")[:500],
        )
    except CompetenceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(name)s · %(title)s: %(status)s")
            % {
                "name": decided.staff.user.get_full_name() or decided.staff.user.get_username(),
                "title": enrolment.training.title,
                "status": decided.get_status_display(),
            },
        )
    return redirect("competences:approvals")


@login_required
@require_POST
def training_cancel(request: HttpRequest, training_uuid: Any) -> HttpResponse:
    item = access.get_training(request.user, training_uuid)
    enrolment = Enrolment.objects.filter(training=item, staff__in=access.own_staff_profiles(request.user)).first()
    if enrolment is None:
        raise Http404
    try:
        programme.cancel_enrolment(enrolment, actor=request.user)
    except CompetenceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your enrolment was cancelled."))
    return redirect("competences:training", training_uuid=item.uuid)


@login_required
@require_POST
def training_complete(request: HttpRequest, training_uuid: Any, enrolment_uuid: Any) -> HttpResponse:
    item = access.get_training(request.user, training_uuid)
    enrolment = access.participants_visible_to(request.user, item).filter(uuid=enrolment_uuid).first()
    if enrolment is None:
        raise Http404
    try:
        evidence = programme.record_completion(enrolment, actor=request.user)
    except CompetenceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Completion recorded; it counts as evidence for %(n)d assessment(s).") % {"n": len(evidence)},
        )
    return redirect("competences:training", training_uuid=item.uuid)


# --- Virtual Competence Center ------------------------------------------------------------------


def _viewer_city_ids(request: HttpRequest) -> set[int]:
    """Cities of the viewer: an expert's e-mail address is shown within the own city, elsewhere only if agreed."""
    return set(staff_municipalities(request.user).values_list("pk", flat=True))


def _experts(code: str = "", cluster: Cluster | None = None) -> list[Expert]:
    """Experts who are still with their city; for a cluster, those who named it or any of its competences.

    Filtered in Python: JSON list containment is not portable between SQLite and PostgreSQL,
    and the directory of a cooperation holds hundreds of people, not millions.
    """
    found = list(
        Expert.objects.filter(staff__left_on__isnull=True)
        .select_related("staff__user", "staff__municipality", "staff__org_unit")
        .prefetch_related("clusters")
        .order_by("staff__user__last_name", "staff__user__first_name")[:2000]
    )
    if cluster is not None:
        codes = set(cluster.competence_codes)
        found = [e for e in found if cluster in e.clusters.all() or codes & set(e.competence_codes)]
    if code:
        found = [e for e in found if code in e.competence_codes]
    return found


@login_required
def experts(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    language = _language()
    titles = _titles(_digcomp(), language)
    code = request.GET.get("kompetenz", "")[:30]
    cluster_key = request.GET.get("cluster", "")[:60]
    cluster = Cluster.objects.filter(key=cluster_key).first() if cluster_key else None
    found = [e for e in _experts(code, cluster) if e.staff.user_id != request.user.pk]
    own = Expert.objects.filter(staff__in=access.own_staff_profiles(request.user)).first()
    return render(
        request,
        "competences/experts.html",
        {
            "experts": [(e, [(c, titles.get(c, c)) for c in e.competence_codes]) for e in found],
            "competences": sorted(titles.items(), key=lambda item: [int(p) for p in item[0].split(".")]),
            "clusters": Cluster.objects.all(),
            "selected": {"code": code, "cluster": cluster_key},
            "code_title": titles.get(code, ""),
            "own": own,
            "can_opt_in": access.own_staff_profiles(request.user).exists(),
            "viewer_city_ids": _viewer_city_ids(request),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def expert_entry(request: HttpRequest) -> HttpResponse:
    staff = access.own_staff_profiles(request.user).filter(left_on__isnull=True).first()
    if staff is None:
        messages.error(request, _("You are not in roadMAP yet. HR of your city adds staff members."))
        return redirect("competences:experts")
    current = Expert.objects.filter(staff=staff).first()
    initial = (
        {
            "competences": current.competence_codes,
            "clusters": current.clusters.all(),
            "availability": current.availability,
            "unavailable_until": current.unavailable_until,
            "share_email": current.share_email,
        }
        if current
        else None
    )
    form = ExpertForm(request.POST or None, initial=initial, version=_digcomp(), language=_language())
    if request.method == "POST" and form.is_valid():
        try:
            programme.opt_in_as_expert(
                staff,
                competence_codes=form.cleaned_data["competences"],
                clusters=list(form.cleaned_data["clusters"]),
                availability=form.cleaned_data["availability"],
                unavailable_until=form.cleaned_data["unavailable_until"],
                share_email=form.cleaned_data["share_email"],
                actor=request.user,
            )
        except CompetenceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("You are listed in the expert directory of the cooperation."))
            return redirect("competences:experts")
    return render(
        request,
        "competences/expert_form.html",
        {"form": form, "current": current, "staff": staff},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def expert_opt_out(request: HttpRequest) -> HttpResponse:
    for staff in access.own_staff_profiles(request.user):
        programme.opt_out_as_expert(staff, actor=request.user)
    messages.success(request, _("You were removed from the expert directory."))
    return redirect("competences:experts")


@login_required
def clusters(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    return render(request, "competences/clusters.html", {"clusters": Cluster.objects.all()})


@login_required
def cluster(request: HttpRequest, key: str) -> HttpResponse:
    _require_staff(request)
    found = Cluster.objects.filter(key=key).first()
    if found is None:
        raise Http404
    language = _language()
    titles = _titles(_digcomp(), language)
    codes = found.competence_codes
    query = Q()
    for c in codes:
        query |= Q(targets__has_key=c)
    upcoming = (
        _annotated(Training.objects.filter(query, cancelled=False, ends_at__gte=timezone.now())).order_by("starts_at")[
            :50
        ]
        if codes
        else []
    )
    experts_found = [e for e in _experts(cluster=found) if e.staff.user_id != request.user.pk]
    return render(
        request,
        "competences/cluster.html",
        {
            "cluster": found,
            "competences": [(c, titles.get(c, c)) for c in codes],
            "items": _cards(list(upcoming), titles),
            "experts": [(e, [(c, titles.get(c, c)) for c in e.competence_codes]) for e in experts_found],
            "viewer_city_ids": _viewer_city_ids(request),
            "today": timezone.localdate(),
            "documents": found.documents.annotate(n_versions=Count("versions")).order_by("title"),
            "document_form": DocumentForm(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def expert_contact(request: HttpRequest, expert_uuid: Any) -> HttpResponse:
    """A contact request to an expert of any city, by mail; refused while the expert is away."""
    _require_staff(request)
    expert = (
        Expert.objects.select_related("staff__user", "staff__municipality")
        .filter(uuid=expert_uuid, staff__left_on__isnull=True)
        .first()
    )
    if expert is None:
        raise Http404
    form = ExpertContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            programme.contact_expert(expert, sender=request.user, message=form.cleaned_data["message"])
        except CompetenceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your request was sent. The expert answers you by e-mail."))
            return redirect("competences:experts")
    return render(
        request,
        "competences/expert_contact.html",
        {"expert": expert, "form": form, "available": expert.is_available()},
        status=400 if request.method == "POST" else 200,
    )
