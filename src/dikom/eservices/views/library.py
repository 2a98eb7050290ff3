"""The library and overviews: the public library, my city's services, create, import, export, a service's page, new versions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dikom.accounts.access import is_staff_member
from dikom.accounts.roles import Role
from dikom.eservices import access, actions, forms
from dikom.eservices.models import Adoption, Review, ServiceDefinition, ServiceVersion
from dikom.eservices.views.common import (
    Status,
    _redirect_version,
    _render,
    fee_rows,
    process_context,
)
from dikom.eservices.views.preview import (
    _t,
    preview_steps,
)
from dikom.forum import service as forum_service

# --- library and overviews ----------------------------------------------------------------------


@require_GET
def library(request: HttpRequest) -> HttpResponse:
    """The shared library: released services, for everyone (also without an account)."""
    form = forms.LibrarySearchForm(request.GET or None)
    services = (
        ServiceDefinition.objects.filter(latest_released__isnull=False)
        .select_related("latest_released", "municipality")
        .annotate(adoption_count=Count("adoptions", filter=Q(adoptions__active=True)))
        .order_by("title", "pk")
    )
    query = ""
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        if query:
            services = services.filter(
                Q(title__icontains=query) | Q(leika_key__startswith=query) | Q(keywords__icontains=query)
            )
    user = request.user
    staff = is_staff_member(user)
    return _render(
        request,
        "library.html",
        {
            "form": form,
            "query": query,
            "services": services,
            "is_staff": staff,
            "can_create": staff and access.designer_municipalities(user).exists(),
        },
    )


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """My city's services with their status, versions waiting for my review, my city's adoptions."""
    user = request.user
    if not is_staff_member(user):
        raise PermissionDenied
    own_cities = access.membership_cities(user, access.DRAFT_VIEW_ROLES)
    versions = ServiceVersion.objects.only(
        "pk", "definition_id", "number", "status", "submitted_at", "released_at", "updated_at"
    ).order_by("-number")
    authored = (
        ServiceDefinition.objects.filter(municipality_id__in=own_cities)
        .select_related("municipality")
        .prefetch_related(Prefetch("versions", queryset=versions))
        .order_by("municipality__name", "title")
    )
    reviewer_cities = access.membership_cities(user, (Role.REVIEWER,))
    to_review = []
    if reviewer_cities:
        to_review = list(
            ServiceVersion.objects.filter(status=Status.IN_REVIEW)
            .exclude(municipality_id__in=reviewer_cities if len(reviewer_cities) == 1 else [])
            .select_related("definition", "municipality")
            .order_by("submitted_at")
        )
        decided = set(
            Review.objects.filter(version__in=to_review, municipality_id__in=reviewer_cities)
            .exclude(decision=Review.Decision.COMMENT_ONLY)
            .values_list("version_id", "content_hash")
        )
        for version in to_review:
            version.decided = (version.pk, version.content_hash) in decided  # type: ignore[attr-defined]
    adoptions = (
        Adoption.objects.filter(municipality__in=access.adopting_municipalities(user))
        .select_related("definition", "version", "pending_upgrade_to", "municipality")
        .order_by("municipality__name", "definition__title")
    )
    return _render(
        request,
        "mine.html",
        {
            "authored": authored,
            "to_review": to_review,
            "is_reviewer": bool(reviewer_cities),
            "adoptions": adoptions,
            "can_create": access.designer_municipalities(user).exists(),
            "unread": access.notifications_for(user).filter(read_at__isnull=True).count(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    """A new service: the designer names it, the draft version 1 starts from a minimal definition."""
    municipalities = access.designer_municipalities(request.user).order_by("name")
    if not municipalities.exists():
        raise PermissionDenied
    form = forms.CreateServiceForm(
        request.POST or None, municipalities=municipalities, initial={"municipality": municipalities.first()}
    )
    if request.method == "POST" and form.is_valid():
        try:
            version = actions.create_service(
                municipality=form.cleaned_data["municipality"], actor=request.user, title=form.cleaned_data["title"]
            )
        except actions.WorkflowError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The service was created as a draft."))
            return _redirect_version(version, "eservices:edit")
    return _render(request, "create.html", {"form": form}, status=400 if form.errors else 200)


def _definition_from_upload(data: bytes) -> tuple[dict[str, Any], list[str]]:
    """The definition in an uploaded FIM schema or dikom archive, and warnings for the designer.

    Raises ``ValueError`` with a message for the designer when the file cannot be imported."""
    from dikom.eservices.definition import fim, interchange

    if data.startswith(b"PK"):
        try:
            definition, assets, _metadata = interchange.import_zip(data)
        except interchange.InterchangeError as exc:
            raise ValueError(_("The ZIP archive cannot be imported: %(reason)s.") % {"reason": exc}) from exc
        warnings = []
        if assets:
            warnings.append(
                _("The archive's %(count)s attached file(s) were not imported; add them again if needed.")
                % {"count": len(assets)}
            )
        return definition, warnings
    try:
        from dikom.eservices.codelists import lookup

        # Select fields whose code list was imported (manage.py import_codelists) become real selects.
        result = fim.import_xdatenfelder(data, code_lists=lookup)
    except fim.FimImportError as exc:
        raise ValueError(_("The FIM schema cannot be imported: %(reason)s") % {"reason": exc.message}) from exc
    return result.definition, [str(w) for w in result.warnings]


@login_required
@require_http_methods(["GET", "POST"])
def import_service(request: HttpRequest) -> HttpResponse:
    """A new draft from a FIM XDatenfelder schema or from a ZIP archive exported from dikom."""
    from dikom.eservices.definition import interchange

    municipalities = access.designer_municipalities(request.user).order_by("name")
    if not municipalities.exists():
        raise PermissionDenied
    form = forms.ImportServiceForm(
        request.POST or None,
        request.FILES or None,
        municipalities=municipalities,
        initial={"municipality": municipalities.first()},
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > interchange.MAX_ARCHIVE_BYTES:
                raise ValueError(
                    _("The file is larger than %(size)s MB.") % {"size": interchange.MAX_ARCHIVE_BYTES // 2**20}
                )
            definition, warnings = _definition_from_upload(upload.read())
            version = actions.create_service(
                municipality=form.cleaned_data["municipality"],
                actor=request.user,
                title=_t((definition.get("identity") or {}).get("title"), "de") or upload.name,
                content=definition,
            )
        except (ValueError, actions.WorkflowError) as exc:
            form.add_error("file", getattr(exc, "message", None) or str(exc))
        else:
            messages.success(
                request, _("The service was imported as a draft. Check the problems listed before you submit it.")
            )
            for warning in warnings[:20]:
                messages.warning(request, warning)
            if len(warnings) > 20:
                messages.warning(request, _("%(count)s further notes were left out.") % {"count": len(warnings) - 20})
            return _redirect_version(version, "eservices:edit")
    return _render(request, "import.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
def export_version(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A version as a ZIP archive (``definition.json`` + ``metadata.json``) that imports into an identical draft."""
    from django.utils import timezone

    from dikom.eservices.definition import interchange

    version = access.get_version(request.user, slug, number)
    archive = interchange.export_zip(
        version.content,
        {},
        {
            "exported_at": timezone.now().isoformat(timespec="seconds"),
            "source_ags": version.municipality.ags,
            "version": version.number,
            "slug": version.definition.slug,
            "status": version.status,
        },
    )
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{version.definition.slug}-v{version.number}.zip"'
    return response


@require_GET
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A service: its latest released version (or the open one), the version history, adoption links."""
    user = request.user
    definition = access.get_definition(user, slug)
    versions = list(
        access.visible_versions(user).filter(definition=definition).select_related("municipality").order_by("-number")
    )
    if not versions:
        raise Http404
    shown = definition.latest_released or versions[0]
    open_version = next((v for v in versions if v.status in ServiceVersion.OPEN), None)
    can_design = access.can_design(user, definition.municipality)
    admin_cities = access.adopting_municipalities(user) if definition.latest_released_id else []
    adopted = {
        a.municipality_id: a
        for a in Adoption.objects.filter(definition=definition, municipality__in=admin_cities).select_related("version")
    }
    return _render(
        request,
        "detail.html",
        {
            "definition": definition,
            "versions": versions,
            "shown": shown,
            "steps": preview_steps(shown.content),
            "fee_rows": fee_rows(shown.content),
            "field_types": forms.FIELD_TYPE_LABELS,
            "identity": shown.content.get("identity") or {},
            **process_context(shown.content, shown),
            "open_version": open_version,
            "can_design": can_design,
            "can_start_version": can_design and definition.latest_released_id and open_version is None,
            "admin_cities": [(city, adopted.get(city.pk)) for city in admin_cities],
            "adoption_count": Adoption.objects.filter(definition=definition, active=True).count(),
            # Forum questions about the service: staff of the cooperation only, never the public.
            "forum_staff": forum_service.is_forum_user(user) and definition.latest_released_id is not None,
            "forum_topics": forum_service.service_topics(user, definition.slug),
            "forum_ask_url": forum_service.ask_about_service_url(definition.slug),
        },
    )


@login_required
@require_POST
def new_version(request: HttpRequest, slug: str) -> HttpResponse:
    definition = access.get_definition(request.user, slug)
    if not access.can_design(request.user, definition.municipality):
        raise PermissionDenied
    try:
        version = actions.start_new_version(definition, actor=request.user)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
        return redirect("eservices:detail", slug=definition.slug)
    messages.success(request, _("Version %(number)s was created as a draft.") % {"number": version.number})
    return _redirect_version(version, "eservices:edit")
