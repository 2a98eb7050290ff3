"""roadMAP pages: own competences and gaps, self-assessment, review by the line manager,
heat maps, city comparison, frameworks and role profiles.

Thin: ``access.py`` decides who sees what (and answers 404 for other people's
data), ``forms.py`` validates, ``actions.py`` changes state and writes the
audit log, ``gaps.py`` computes. Every form works without JavaScript.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dikom.competences import access, actions, exchange, gaps
from dikom.competences.forms import CitySettingsForm, EvidenceForm, FrameworkImportForm, ReviewForm, SelfAssessmentForm
from dikom.competences.models import Assessment, CitySettings, Evidence, StaffProfile
from dikom.lib import pdf
from dikom.municipalities.models import Municipality

logger = logging.getLogger(__name__)


def _language() -> str:
    return (get_language() or "de")[:2]


def _require_staff(request: HttpRequest) -> None:
    if not access.is_staff(request.user):
        raise PermissionDenied


@login_required
def index(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    own = []
    for staff in access.own_staff_profiles(request.user):
        rows = gaps.person_rows(staff, _language())
        own.append({"staff": staff, "rows": [r for r in rows if r.required is not None]})
    managed = access.managed_staff(request.user)
    pending = dict(
        StaffProfile.objects.filter(pk__in=[s.pk for s in managed])
        .annotate(n=Count("assessments", filter=Q(assessments__status=Assessment.Status.PENDING)))
        .values_list("pk", "n")
    )
    return render(
        request,
        "competences/index.html",
        {
            "own": own,
            "managed": [(s, pending.get(s.pk, 0)) for s in managed],
            "overview_cities": access.overview_municipalities(request.user),
            "roadmap_city_ids": {m.pk for m in access.roadmap_municipalities(request.user)},
            "approvals": len(access.pending_approvals(request.user)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def self_assessment(request: HttpRequest, staff_uuid: Any) -> HttpResponse:
    staff = access.get_staff_for_viewer(request.user, staff_uuid)
    if staff.user_id != request.user.pk:
        raise Http404  # only the person assesses themselves
    if staff.role_profile is None:
        messages.warning(request, _("No role profile is assigned to you yet. Please ask HR."))
        return redirect("competences:index")
    version = staff.role_profile.framework_version
    rows = [r for r in gaps.person_rows(staff, _language()) if r.required is not None]
    form = SelfAssessmentForm(
        request.POST or None,
        version=version,
        competences=[(r.code, r.title) for r in rows],
        initial_levels={r.code: r.self_level for r in rows if r.self_level},
        language=_language(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = actions.submit_self_assessment(staff, form.levels(), actor=request.user)
        except actions.CompetenceError as exc:
            form.add_error(None, str(exc))
        else:
            if created:
                messages.success(request, _("Your self-assessment was saved and goes to your line manager."))
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("competences:person", staff_uuid=staff.uuid)
    return render(
        request,
        "competences/self_assessment.html",
        {"staff": staff, "form": form, "version": version, "rows": rows},
        status=400 if request.method == "POST" else 200,
    )


def _person_context(request: HttpRequest, staff: StaffProfile) -> dict[str, Any]:
    rows = gaps.person_rows(staff, _language())
    version = staff.role_profile.framework_version if staff.role_profile else None
    is_manager = access.is_manager_of(request.user, staff)
    history = list(
        staff.assessments.select_related("reviewed_by", "framework_version__framework").order_by("-created_at")[:200]
    )
    evidence = list(
        Evidence.objects.filter(assessment__staff=staff).select_related("assessment").order_by("-created_at")
    )
    return {
        "staff": staff,
        "rows": rows,
        "version": version,
        "is_self": staff.user_id == request.user.pk,
        "is_manager": is_manager,
        "history": history,
        "evidence": evidence,
        "review_levels": range(1, (version.max_level if version else 0) + 1),
        "matches": gaps.matching_trainings(staff, rows),
    }


@login_required
def person(request: HttpRequest, staff_uuid: Any) -> HttpResponse:
    staff = access.get_staff_for_viewer(request.user, staff_uuid)
    actions.record_person_view(staff, actor=request.user, request=request)
    return render(request, "competences/person.html", _person_context(request, staff))


def _assessment_of(staff: StaffProfile, assessment_uuid: Any) -> Assessment:
    assessment = staff.assessments.select_related("framework_version", "staff").filter(uuid=assessment_uuid).first()
    if assessment is None:
        raise Http404
    return assessment


@login_required
@require_POST
def review(request: HttpRequest, staff_uuid: Any, assessment_uuid: Any) -> HttpResponse:
    staff = access.get_staff_for_manager(request.user, staff_uuid)
    assessment = _assessment_of(staff, assessment_uuid)
    form = ReviewForm(request.POST, version=assessment.framework_version, language=_language())
    if form.is_valid():
        try:
            actions.review_assessment(
                assessment, manager=request.user, level=form.cleaned_data["level"], comment=form.cleaned_data["comment"]
            )
        except actions.CompetenceError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The assessment was reviewed."))
        return redirect("competences:person", staff_uuid=staff.uuid)
    messages.error(request, _("Please choose a valid level."))
    context = _person_context(request, staff)
    return render(request, "competences/person.html", context, status=400)


@login_required
@require_POST
def add_evidence(request: HttpRequest, staff_uuid: Any, assessment_uuid: Any) -> HttpResponse:
    staff = access.get_staff_for_viewer(request.user, staff_uuid)
    if not (staff.user_id == request.user.pk or access.is_manager_of(request.user, staff)):
        raise PermissionDenied
    assessment = _assessment_of(staff, assessment_uuid)
    form = EvidenceForm(request.POST, request.FILES)
    error = None
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            actions.add_evidence(
                assessment,
                actor=request.user,
                note=form.cleaned_data["note"],
                upload=actions.EvidenceUpload(str(upload.name), upload.size, upload.file) if upload else None,
            )
        except actions.CompetenceError as exc:
            error = str(exc)
    else:
        error = " ".join(str(e) for errs in form.errors.values() for e in errs)
    if error:
        messages.error(request, error)
        context = _person_context(request, staff)
        return render(request, "competences/person.html", context, status=400)
    messages.success(request, _("The evidence was added."))
    return redirect("competences:person", staff_uuid=staff.uuid)


@login_required
def evidence_file(request: HttpRequest, staff_uuid: Any, evidence_uuid: Any) -> FileResponse:
    staff = access.get_staff_for_viewer(request.user, staff_uuid)
    evidence = Evidence.objects.filter(uuid=evidence_uuid, assessment__staff=staff).exclude(file="").first()
    if evidence is None:
        raise Http404
    actions.record_person_view(staff, actor=request.user, request=request, what="evidence")
    response = FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.file_name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def heat_map(request: HttpRequest, slug: str) -> HttpResponse:
    municipality, unit_ids = access.get_municipality_for_overview(request.user, slug)
    heat = gaps.city_heat_map(municipality.pk, unit_ids=unit_ids, language=_language())
    return render(
        request,
        "competences/heat_map.html",
        {
            "municipality": municipality,
            "heat": heat,
            "rows": heat.rows(),
            "limited": unit_ids is not None,
            "min_cell": gaps.MIN_CELL,
            "can_edit_settings": unit_ids is None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def city_settings(request: HttpRequest, slug: str) -> HttpResponse:
    municipality, unit_ids = access.get_municipality_for_overview(request.user, slug)
    if unit_ids is not None:
        raise PermissionDenied
    current = actions.city_settings(municipality)
    form = CitySettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        actions.update_city_settings(municipality, actor=request.user, **form.cleaned_data)
        messages.success(request, _("The settings were saved."))
        return redirect("competences:heat_map", slug=municipality.slug)
    return render(
        request,
        "competences/settings.html",
        {"municipality": municipality, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def compare(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    cities = list(
        Municipality.objects.filter(
            pk__in=CitySettings.objects.filter(compare_across_cities=True).values("municipality_id")
        ).order_by("name")
    )
    values = gaps.comparison([c.pk for c in cities], _language())
    codes: list[str] = []
    for per_city in values.values():
        codes.extend(c for c in per_city if c not in codes)
    rows = [(code, [values[c.pk].get(code) for c in cities]) for code in codes]
    return render(request, "competences/compare.html", {"cities": cities, "rows": rows, "min_cell": gaps.MIN_CELL})


@login_required
def frameworks(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    items = []
    for framework in access.visible_frameworks(request.user).select_related("municipality"):
        latest = framework.versions.order_by("-number").first()
        if latest is not None:
            items.append((framework, latest))
    editable = access.framework_import_municipalities(request.user)
    return render(
        request,
        "competences/frameworks.html",
        {"items": items, "language": _language(), "import_cities": editable},
    )


@login_required
def framework_version(request: HttpRequest, version_uuid: Any) -> HttpResponse:
    version = access.get_framework_version(request.user, version_uuid)
    language = _language()
    areas = [
        {
            "code": a["code"],
            "title": a["title"].get(language) or a["title"]["de"],
            "competences": [(c["code"], c["title"].get(language) or c["title"]["de"]) for c in a["competences"]],
        }
        for a in version.content["areas"]
    ]
    levels = [
        (lvl["value"], lvl["title"].get(language), lvl["descriptor"].get(language) or lvl["descriptor"]["de"])
        for lvl in version.levels
    ]
    others = version.framework.versions.order_by("-number")
    return render(
        request,
        "competences/framework.html",
        {"version": version, "areas": areas, "levels": levels, "others": others, "language": language},
    )


@login_required
def framework_export(request: HttpRequest, version_uuid: Any, fmt: str) -> HttpResponse:
    version = access.get_framework_version(request.user, version_uuid)
    name = f"{version.framework.key}-v{version.number}"
    if fmt == "json":
        response = HttpResponse(exchange.to_json(version.content), content_type="application/json; charset=utf-8")
    elif fmt == "csv":
        response = HttpResponse(exchange.to_csv(version.content), content_type="text/csv; charset=utf-8")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def framework_import(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_municipality_for_framework_import(request.user, slug)
    form = FrameworkImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = actions.import_framework_version(
                form.cleaned_data["file"], municipality=municipality, actor=request.user
            )
        except actions.CompetenceError as exc:
            form.add_error("file", str(exc))
        else:
            version = result.version
            if result.created:
                messages.success(request, _("Framework imported as version %(n)d.") % {"n": version.number})
            else:
                messages.info(
                    request,
                    _(
                        "This framework is already stored with exactly this content as version %(n)d; "
                        "nothing was imported twice."
                    )
                    % {"n": version.number},
                )
            return redirect("competences:framework", version_uuid=version.uuid)
    return render(
        request,
        "competences/framework_import.html",
        {"municipality": municipality, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def profiles(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    language = _language()
    items = []
    for profile in access.visible_profiles(request.user).order_by("municipality__name", "name"):
        titles = {c["code"]: c["title"].get(language) for c in profile.framework_version.competences()}
        items.append(
            {
                "profile": profile,
                "requirements": [(code, titles.get(code, code), lvl) for code, lvl in profile.requirements.items()],
            }
        )
    return render(request, "competences/profiles.html", {"items": items})


def _roadmap_context(request: HttpRequest, slug: str) -> dict[str, Any]:
    municipality, unit_ids = access.get_municipality_for_overview(request.user, slug)
    if unit_ids is not None:
        raise PermissionDenied  # the whole city's roadMAP: HR and administrators, not line managers
    return {
        "municipality": municipality,
        "roadmap": gaps.city_roadmap(municipality.pk, language=_language()),
        "min_cell": gaps.MIN_CELL,
    }


@login_required
def roadmap(request: HttpRequest, slug: str) -> HttpResponse:
    """The digitalisation officer's view: needs against present competences per department."""
    return render(request, "competences/roadmap.html", _roadmap_context(request, slug))


@login_required
def roadmap_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    context = _roadmap_context(request, slug)
    html = render_to_string(
        "competences/pdf/roadmap.html", {**context, "generated_at": timezone.localtime()}, request=request
    )
    try:
        document = pdf.render_pdf(html)  # fetches nothing but the platform's static files
    except pdf.PdfError as error:
        logger.exception("competences: the roadMAP PDF could not be made")
        return render(
            request,
            "competences/pdf_unavailable.html",
            {**context, "pdf_failed": not isinstance(error, pdf.PdfUnavailable)},
            status=503,
        )
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="roadmap-{context["municipality"].slug}.pdf"'
    return response
