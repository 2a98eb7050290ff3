"""Pages of the service library: library, my city's services, the designer,
review, version history, adoption, notifications.

Thin: ``access.py`` decides who may see or do what (404 for what a user may
not see, 403 for what he may see but not change), ``actions.py`` changes
state, ``forms`` turns form input into definition changes. Every form
works without JavaScript; ``static/eservices/designer.js`` only refreshes the
live preview while typing.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dikom.accounts.access import is_staff_member
from dikom.accounts.roles import Role
from dikom.eservices import access, actions, forms
from dikom.eservices.models import Adoption, Review, ReviewComment, ServiceDefinition, ServiceVersion
from dikom.forum import service as forum_service

Status = ServiceVersion.Status
INPUT_TYPES = {
    "text": "text",
    "email": "email",
    "phone": "tel",
    "number": "text",
    "date": "date",
    "iban": "text",
    "postcode": "text",
}
LOCATOR = re.compile(r"^\d{1,3}(?:-\d{1,3}){0,4}$")
PATH_RE = re.compile(r"^steps\[(\d+)\]((?:\.fields\[\d+\])*)")


def _t(value: Any, language: str | None = None) -> str:
    from dikom.eservices.definition.schema import text

    return text(value, language or _language())


def _language() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


# --- the citizen's view of a step (live preview, review page) -------------------------------


@dataclass
class PreviewField:
    id: str
    path: str
    type: str
    label: str
    help: str = ""
    text: str = ""
    required: bool = False
    required_rule: str = ""
    visible_rule: str = ""
    input_type: str = "text"
    inputmode: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    accept: str = ""
    max_mb: str = ""
    hints: list[str] = field(default_factory=list)
    fields: list[PreviewField] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)
    comments: list[Any] = field(default_factory=list)
    edit_url: str = ""
    locator: str = ""


@dataclass
class PreviewStep:
    index: int
    path: str
    key: str
    title: str
    visible_rule: str
    fields: list[PreviewField]
    problems: list[Any] = field(default_factory=list)
    comments: list[Any] = field(default_factory=list)
    edit_url: str = ""


def _compact(rule: Any) -> str:
    return json.dumps(rule, ensure_ascii=False) if rule is not None else ""


def _preview_fields(fields: Any, path: str, id_prefix: str, language: str) -> list[PreviewField]:
    result = []
    for index, spec in enumerate(fields if isinstance(fields, list) else []):
        if not isinstance(spec, dict):
            continue
        field_path = f"{path}.fields[{index}]"
        kind = str(spec.get("type", "text"))
        validation: dict[str, Any] = spec["validation"] if isinstance(spec.get("validation"), dict) else {}
        hints = []
        if validation.get("min") is not None or validation.get("max") is not None:
            hints.append(
                _("From %(min)s to %(max)s") % {"min": validation.get("min", "…"), "max": validation.get("max", "…")}
            )
        if validation.get("max_length"):
            hints.append(_("At most %(n)s characters") % {"n": validation["max_length"]})
        if validation.get("min_date") or validation.get("max_date"):
            hints.append(
                _("Date between %(min)s and %(max)s")
                % {"min": validation.get("min_date", "…"), "max": validation.get("max_date", "…")}
            )
        max_bytes = spec.get("max_bytes")
        item = PreviewField(
            id=f"{id_prefix}-{spec.get('key', index)}",
            path=field_path,
            type=kind,
            label=_t(spec.get("label"), language),
            help=_t(spec.get("help"), language),
            text=_t(spec.get("text"), language),
            required=spec.get("required") is True,
            required_rule=_compact(spec.get("required_if")),
            visible_rule=_compact(spec.get("visible_if")),
            input_type=INPUT_TYPES.get(kind, "text"),
            inputmode={"number": "decimal", "postcode": "numeric"}.get(kind, ""),
            options=[
                (str(o.get("value", "")), _t(o.get("label"), language) or str(o.get("value", "")))
                for o in spec.get("options") or []
                if isinstance(o, dict)
            ],
            accept=",".join(a for a in spec.get("accept") or [] if isinstance(a, str)),
            max_mb=f"{max_bytes / (1024 * 1024):.1f}".replace(".0", "") if isinstance(max_bytes, int) else "",
            hints=hints,
        )
        if kind == "repeating_group":
            item.fields = _preview_fields(spec.get("fields"), field_path, item.id, language)
        result.append(item)
    return result


def preview_steps(content: Any, language: str | None = None) -> list[PreviewStep]:
    language = language or _language()
    steps = []
    for index, step in enumerate(content.get("steps") or [] if isinstance(content, dict) else []):
        if not isinstance(step, dict):
            continue
        path = f"steps[{index}]"
        steps.append(
            PreviewStep(
                index=index,
                path=path,
                key=str(step.get("key", "")),
                title=_t(step.get("title"), language) or str(step.get("key", "")),
                visible_rule=_compact(step.get("visible_if")),
                fields=_preview_fields(step.get("fields"), path, f"preview-{index}", language),
            )
        )
    return steps


def _walk_preview(fields: list[PreviewField]) -> list[PreviewField]:
    result = []
    for item in fields:
        result.append(item)
        result.extend(_walk_preview(item.fields))
    return result


def _attach(steps: list[PreviewStep], items: list[Any], attribute: str) -> list[Any]:
    """Put problems or comments (objects with ``path``) next to the step or field they concern;
    returns those that concern neither (the whole definition, identity, fees, settings)."""
    by_path: dict[str, Any] = {}
    for step in steps:
        by_path[step.path] = step
        for item in _walk_preview(step.fields):
            by_path[item.path] = item
    rest = []
    for item in items:
        path = item.path
        target = None
        while path and target is None:
            target = by_path.get(path)
            path = path.rsplit(".", 1)[0] if "." in path else ""
        if target is None:
            rest.append(item)
        else:
            getattr(target, attribute).append(item)
    return rest


# --- locating parts of a definition ----------------------------------------------------------


def _parse_locator(locator: str) -> list[int]:
    if not LOCATOR.match(locator):
        raise Http404
    return [int(part) for part in locator.split("-")]


def _locate_field(content: dict[str, Any], step_index: int, locator: list[int]) -> tuple[dict[str, Any], list[Any]]:
    """The field at ``locator`` (indexes, nested into repeating groups) and the list that holds it."""
    steps = content.get("steps") or []
    if not 0 <= step_index < len(steps) or not isinstance(steps[step_index], dict):
        raise Http404
    container = steps[step_index].setdefault("fields", [])
    spec: dict[str, Any] | None = None
    for depth, index in enumerate(locator):
        if not isinstance(container, list) or not 0 <= index < len(container) or not isinstance(container[index], dict):
            raise Http404
        spec = container[index]
        if depth < len(locator) - 1:
            container = spec.get("fields")
    if spec is None:
        raise Http404
    return spec, container


def _step(content: dict[str, Any], step_index: int) -> dict[str, Any]:
    steps = content.get("steps") or []
    if not 0 <= step_index < len(steps) or not isinstance(steps[step_index], dict):
        raise Http404
    return steps[step_index]


def _locator_of(path: str) -> tuple[int, str] | None:
    match = PATH_RE.match(path)
    if match is None:
        return None
    indexes = re.findall(r"\[(\d+)\]", match.group(2))
    return int(match.group(1)), "-".join(indexes)


def _variable_of(content: dict[str, Any], step_index: int, locator: list[int]) -> str:
    step = _step(content, step_index)
    names = [str(step.get("key", ""))]
    container = step.get("fields") or []
    for index in locator:
        spec = container[index]
        names.append(str(spec.get("key", "")))
        container = spec.get("fields") or []
    return ".".join(names)


@dataclass
class LinkedProblem:
    path: str
    code: str
    message: str
    url: str


def problem_url(version: ServiceVersion, path: str) -> str:
    """Where in the designer a problem at ``path`` is fixed."""
    kwargs = {"slug": version.definition.slug, "number": version.number}
    located = _locator_of(path)
    if located is not None:
        step_index, locator = located
        if locator:
            return reverse("eservices:edit_field", kwargs={**kwargs, "step": step_index, "locator": locator})
        return reverse("eservices:edit_step", kwargs={**kwargs, "step": step_index})
    if path.startswith("fees"):
        match = re.match(r"^fees\[(\d+)\]", path)
        if match:
            return reverse("eservices:edit_fee", kwargs={**kwargs, "index": int(match.group(1))})
        return reverse("eservices:edit_fees", kwargs=kwargs)
    if path.startswith(("trust_level", "auth_methods", "payment_required", "summary_step", "documents")):
        return reverse("eservices:edit_settings", kwargs=kwargs)
    if path.startswith("processing"):
        anchor = "#process" if path.startswith("processing.bpmn") else "#process-settings"
        return reverse("eservices:edit_process", kwargs=kwargs) + anchor
    if path == "steps":
        return reverse("eservices:edit", kwargs=kwargs) + "#steps"
    return reverse("eservices:edit", kwargs=kwargs) + "#identity"


def linked_problems(version: ServiceVersion) -> list[LinkedProblem]:
    from dikom.eservices.definition import validate_definition

    return [
        LinkedProblem(p.path, p.code, p.message, problem_url(version, p.path))
        for p in validate_definition(version.content)
    ]


# --- shared page helpers ----------------------------------------------------------------------


def euros(cents: Any) -> str:
    """1250 → "12,50 €" (German notation, the UI's default)."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        return ""
    whole, rest = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole:,}".replace(",", ".") + f",{rest:02d} €"


def fee_rows(content: Any) -> list[dict[str, Any]]:
    fees = content.get("fees") if isinstance(content, dict) else None
    return [
        {
            "index": index,
            "key": fee.get("key", ""),
            "label": _t(fee.get("label")) or fee.get("key", ""),
            "amount": euros(fee.get("amount_cents")),
            "rule": _compact(fee.get("amount_rule")),
            "adjustable": fee.get("locally_adjustable") is True,
        }
        for index, fee in enumerate(fees if isinstance(fees, list) else [])
        if isinstance(fee, dict)
    ]


def settings_summary(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "trust_level": forms.TRUST_LEVEL_LABELS.get(content.get("trust_level", "none"), content.get("trust_level")),
        "auth_methods": [str(forms.AUTH_METHOD_LABELS.get(m, m)) for m in content.get("auth_methods") or []],
    }


def process_context(content: Any, version: ServiceVersion | None = None) -> dict[str, Any]:
    """The process of a definition for the read-only pages (review, library): diagram, text
    alternative, lanes with their shared mapping, decision settings, letter template, and links to the
    decision tables (DMN) of ``version``."""
    from dikom.eservices import decision_forms, process

    processing = content.get("processing") if isinstance(content, dict) else None
    processing = processing if isinstance(processing, dict) else {}
    template = processing.get("letter_template")
    view = process.process_view(content)
    mapping = process.shared_lane_mapping(content)
    return {
        "process": view,
        "process_lanes": [(lane, mapping.get(lane, "")) for lane in (view.lanes if view else [])],
        "processing": {
            "present": bool(processing),
            "sign_off_required": processing.get("sign_off_required") is True,
            "automatic_decision_allowed": processing.get("automatic_decision_allowed") is True,
            "letter_template": template.get("de", "") if isinstance(template, dict) else "",
        },
        "decision_links": [
            (
                f["name"],
                reverse(
                    "eservices:decision_table",
                    kwargs={"slug": version.definition.slug, "number": version.number, "key": f["key"]},
                ),
            )
            for f in decision_forms.stored_files(content)
        ]
        if version is not None
        else [],
    }


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, f"eservices/{template}", context, status=status)


def _version_kwargs(version: ServiceVersion) -> dict[str, Any]:
    return {"slug": version.definition.slug, "number": version.number}


def _redirect_version(version: ServiceVersion, name: str = "eservices:version", **extra: Any) -> HttpResponse:
    return redirect(reverse(name, kwargs={**_version_kwargs(version), **extra}))


def _hash_matches(request: HttpRequest, version: ServiceVersion) -> bool:
    if request.POST.get("content_hash") == version.content_hash:
        return True
    messages.error(
        request,
        _(
            "The service was changed meanwhile (perhaps by a colleague). Your change was not saved; check the current state and try again."
        ),
    )
    return False


def _editable(request: HttpRequest, slug: str, number: int) -> ServiceVersion:
    """A version the user may edit: 404 if he may not see it, 403 if he does not design for its city,
    and ``NotEditable`` (a redirect to the version page) when its status does not allow editing."""
    version = access.get_version_for_designer(request.user, slug, number)
    if not version.is_editable:
        raise NotEditable(version)
    return version


class NotEditable(Exception):
    def __init__(self, version: ServiceVersion) -> None:
        self.version = version


def designer_view(view: Any) -> Any:
    """Log-in required; a version that is no longer editable leads to its read-only page."""

    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotEditable as exc:
            messages.error(
                request,
                _("This version can no longer be edited (status: %(status)s).")
                % {"status": exc.version.get_status_display()},
            )
            return _redirect_version(exc.version)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _save(request: HttpRequest, version: ServiceVersion, content: dict[str, Any]) -> bool:
    try:
        actions.update_draft(version, actor=request.user, content=content)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
        return False
    return True


def _save_if_current(request: HttpRequest, version: ServiceVersion, content: dict[str, Any], done: str) -> None:
    """Save the designer's change unless a colleague changed the draft meanwhile; say what happened."""
    if _hash_matches(request, version) and _save(request, version, content):
        messages.success(request, done)


def _designer_context(version: ServiceVersion, section: str, **extra: Any) -> dict[str, Any]:
    content = version.content
    return {
        "version": version,
        "definition": version.definition,
        "section": section,
        "content_hash": version.content_hash,
        "steps": preview_steps(content),
        "problems": linked_problems(version),
        "fee_rows": fee_rows(content),
        "field_types": forms.FIELD_TYPE_LABELS,
        **extra,
    }


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


# --- one version: content, diff, review ----------------------------------------------------------


def _version_page(request: HttpRequest, version: ServiceVersion, **extra: Any) -> HttpResponse:
    from dikom.eservices.definition import diff_definitions, field_paths

    user = request.user
    steps = preview_steps(version.content)
    comments = list(
        ReviewComment.objects.filter(version=version).select_related("author", "municipality", "resolved_by")
    )
    for comment in comments:
        comment.version = version  # no query per comment in the permission check
    general_comments = _attach(steps, comments, "comments")
    reviews = list(Review.objects.filter(version=version).select_related("reviewer", "municipality"))
    for review in reviews:
        review.current = review.content_hash == version.content_hash  # type: ignore[attr-defined]
    diff = diff_definitions(version.based_on.content, version.content) if version.based_on is not None else None
    can_review = access.can_review(user, version)
    reviewer_cities = access.reviewer_municipalities(user, version) if can_review else []
    commenting = access.commenting_municipality(user, version)
    can_design = access.can_design(user, version.municipality)
    approvals = actions.current_approvals(version) if version.status == Status.IN_REVIEW else []
    paths = field_paths(version.content) if commenting else []
    process_comments = [c for c in general_comments if c.path.startswith("processing")]
    general_comments = [c for c in general_comments if not c.path.startswith("processing")]
    context = {
        "version": version,
        "definition": version.definition,
        "steps": steps,
        "general_comments": general_comments,
        "comments": comments,
        "reviews": reviews,
        "diff": diff,
        "identity": version.content.get("identity") or {},
        "fee_rows": fee_rows(version.content),
        "field_types": forms.FIELD_TYPE_LABELS,
        "settings_summary": settings_summary(version.content),
        **process_context(version.content, version),
        "process_comments": process_comments,
        "content_hash": version.content_hash,
        "can_review": can_review,
        "can_comment": commenting is not None,
        "can_design": can_design,
        "can_edit": can_design and version.is_editable,
        "can_withdraw": can_design and version.status in ServiceVersion.OPEN,
        "approvals": approvals,
        "open_comment_count": sum(1 for c in comments if not c.resolved) if version.status == Status.IN_REVIEW else 0,
        "quorum": actions.release_quorum(),
        "decision_form": extra.pop("decision_form", None)
        or (forms.DecisionForm(municipalities=reviewer_cities) if can_review else None),
        "comment_form": extra.pop("comment_form", None)
        or (forms.CommentForm(paths=paths, initial={"path": request.GET.get("pfad", "")}) if commenting else None),
        "problems": linked_problems(version) if can_design and version.status in ServiceVersion.OPEN else [],
        "resolvable": {c.pk for c in comments if access.can_resolve_comment(user, c)},
    }
    context.update(extra)
    return _render(request, "version.html", context, status=extra.get("status", 200))


@require_GET
def version_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A version as reviewers see it: the content, the diff to its predecessor, comments and decisions."""
    version = access.get_version(request.user, slug, number)
    return _version_page(request, version)


@login_required
@require_POST
def review_comment(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    from dikom.eservices.definition import field_paths

    version = access.get_version(request.user, slug, number)
    municipality = access.commenting_municipality(request.user, version)
    if municipality is None:
        raise PermissionDenied
    form = forms.CommentForm(request.POST, paths=field_paths(version.content))
    if not form.is_valid():
        return _version_page(request, version, comment_form=form, status=400)
    try:
        actions.add_comment(
            version,
            actor=request.user,
            municipality=municipality,
            body=form.cleaned_data["body"],
            path=form.cleaned_data["path"],
        )
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your comment was added."))
    return redirect(reverse("eservices:version", kwargs=_version_kwargs(version)) + "#comments")


@login_required
@require_POST
def review_decide(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = access.get_version(request.user, slug, number)
    if not access.can_review(request.user, version):
        raise PermissionDenied
    form = forms.DecisionForm(request.POST, municipalities=access.reviewer_municipalities(request.user, version))
    if not form.is_valid():
        return _version_page(request, version, decision_form=form, status=400)
    municipality = access.get_reviewing_municipality(request.user, version, form.cleaned_data.get("municipality"))
    try:
        actions.review_version(
            version,
            actor=request.user,
            municipality=municipality,
            decision=form.cleaned_data["decision"],
            body=form.cleaned_data["body"],
        )
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
        return _redirect_version(version)
    version.refresh_from_db()
    if version.status == Status.RELEASED:
        messages.success(request, _("Your approval completed the quorum: the version is released to the library."))
    elif (
        form.cleaned_data["decision"] == Review.Decision.APPROVE
        and len(actions.current_approvals(version)) >= actions.release_quorum()
        and actions.open_comments(version)
    ):
        messages.warning(
            request,
            _(
                "Your approval was recorded, but the version is not released yet: %(count)s reviewer comment(s) "
                "are still open. It is released as soon as the authoring city has resolved them."
            )
            % {"count": actions.open_comments(version)},
        )
    elif version.status == Status.CHANGES_REQUESTED:
        messages.success(request, _("The version was sent back to the authoring city with your requested changes."))
    else:
        messages.success(request, _("Your review was recorded."))
    return _redirect_version(version)


@login_required
@require_POST
def comment_resolve(request: HttpRequest, slug: str, number: int, comment_id: int) -> HttpResponse:
    version = access.get_version(request.user, slug, number)
    comment = access.get_comment(version, comment_id)
    if not access.can_resolve_comment(request.user, comment):
        raise PermissionDenied
    actions.resolve_comment(comment, actor=request.user)
    messages.success(request, _("The comment is marked as resolved."))
    version.refresh_from_db()
    if version.status == Status.RELEASED:
        messages.success(request, _("No comment is open any more and the quorum is reached: the version is released."))
    return redirect(reverse("eservices:version", kwargs=_version_kwargs(version)) + "#comments")


# --- designer: overview, identity, submit ---------------------------------------------------------


def _editor(request: HttpRequest, version: ServiceVersion, status: int = 200, **forms_: Any) -> HttpResponse:
    content = version.content
    context = _designer_context(
        version,
        "overview",
        identity_form=forms_.get("identity_form")
        or forms.IdentityForm(
            initial={**forms.IdentityForm.initial_from(content), "content_hash": version.content_hash}
        ),
        add_step_form=forms_.get("add_step_form") or forms.AddStepForm(initial={"content_hash": version.content_hash}),
        submit_blocked=forms_.get("submit_blocked", False),
    )
    _attach(context["steps"], context["problems"], "problems")
    context["open_comments"] = ReviewComment.objects.filter(version=version, resolved=False).count()
    return _render(request, "edit.html", context, status=status)


@designer_view
@require_GET
def edit(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The designer's overview: identity, steps, fees, settings, problems, submission."""
    return _editor(request, _editable(request, slug, number))


@designer_view
@require_POST
def edit_identity(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _editable(request, slug, number)
    form = forms.IdentityForm(request.POST)
    if not form.is_valid():
        return _editor(request, version, status=400, identity_form=form)
    _save_if_current(request, version, form.apply(version.content), _("The identity was saved."))
    return redirect(reverse("eservices:edit", kwargs=_version_kwargs(version)) + "#identity")


@designer_view
@require_POST
def submit(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _editable(request, slug, number)
    if not _hash_matches(request, version):
        return _redirect_version(version, "eservices:edit")
    try:
        actions.submit_for_review(version, actor=request.user)
    except actions.SubmissionBlocked:
        messages.error(request, _("The service cannot be submitted yet. Solve the problems listed below first."))
        return _editor(request, version, status=400, submit_blocked=True)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
        return _redirect_version(version, "eservices:edit")
    messages.success(request, _("The version was submitted to the working group for review."))
    return _redirect_version(version)


@login_required
@require_POST
def withdraw(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = access.get_version_for_designer(request.user, slug, number)
    try:
        actions.withdraw_version(version, actor=request.user)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The version was withdrawn."))
    return _redirect_version(version)


# --- designer: steps -------------------------------------------------------------------------------


@designer_view
@require_POST
def step_add(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _editable(request, slug, number)
    form = forms.AddStepForm(request.POST)
    if not form.is_valid():
        return _editor(request, version, status=400, add_step_form=form)
    if not _hash_matches(request, version):
        return _redirect_version(version, "eservices:edit")
    content, index = form.apply(version.content)
    if _save(request, version, content):
        messages.success(request, _("The step was added."))
        return _redirect_version(version, "eservices:edit_step", step=index)
    return _redirect_version(version, "eservices:edit")


@designer_view
@require_POST
def step_move(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    _step(content, step)
    target = step - 1 if request.POST.get("direction") == "up" else step + 1
    steps = content["steps"]
    if _hash_matches(request, version) and 0 <= target < len(steps):
        steps[step], steps[target] = steps[target], steps[step]
        if _save(request, version, content):
            messages.success(request, _("The step was moved."))
    return redirect(reverse("eservices:edit", kwargs=_version_kwargs(version)) + "#steps")


@designer_view
@require_POST
def step_delete(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    _step(content, step)
    if _hash_matches(request, version):
        del content["steps"][step]
        if _save(request, version, content):
            messages.success(
                request, _("The step was deleted. Rules that referred to its fields are listed as problems.")
            )
    return redirect(reverse("eservices:edit", kwargs=_version_kwargs(version)) + "#steps")


def _step_page(
    request: HttpRequest, version: ServiceVersion, step_index: int, status: int = 200, **extra: Any
) -> HttpResponse:
    content = version.content
    step = _step(content, step_index)
    language = request.GET.get("sprache") if request.GET.get("sprache") in ("de", "en") else _language()
    context = _designer_context(version, "steps", **extra)
    steps = context["steps"]
    if language != _language():
        steps = preview_steps(content, language)
        context["steps"] = steps
    _attach(steps, context["problems"], "problems")
    current = steps[step_index]
    for item in _walk_preview(current.fields):
        located = _locator_of(item.path)
        if located:
            item.locator = located[1]
            item.edit_url = reverse(
                "eservices:edit_field",
                kwargs={**_version_kwargs(version), "step": step_index, "locator": located[1]},
            )
    context.update(
        {
            "step_index": step_index,
            "step": step,
            "current": current,
            "preview_language": language,
            "step_form": extra.get("step_form")
            or forms.StepForm(
                initial={**forms.StepForm.initial_from(step), "content_hash": version.content_hash},
                content=content,
                index=step_index,
            ),
            "add_field_form": extra.get("add_field_form")
            or forms.AddFieldForm(initial={"content_hash": version.content_hash}),
            "field_types": forms.FIELD_TYPE_LABELS,
        }
    )
    return _render(request, "edit_step.html", context, status=status)


@designer_view
@require_http_methods(["GET", "POST"])
def edit_step(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    """One step: its title and visibility rule, its fields (add, reorder, delete) and the live preview."""
    version = _editable(request, slug, number)
    _step(version.content, step)
    if request.method == "POST":
        form = forms.StepForm(request.POST, content=version.content, index=step)
        if not form.is_valid():
            return _step_page(request, version, step, status=400, step_form=form)
        _save_if_current(request, version, form.apply(version.content), _("The step was saved."))
        return _redirect_version(version, "eservices:edit_step", step=step)
    return _step_page(request, version, step)


@designer_view
@require_POST
def field_add(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    """A new field at the end of the step, or of a repeating group (``group`` = its locator)."""
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    step_spec = _step(content, step)
    form = forms.AddFieldForm(request.POST)
    if not form.is_valid():
        return _step_page(request, version, step, status=400, add_field_form=form)
    group = request.POST.get("group", "")
    if group:
        group_spec, _siblings = _locate_field(content, step, _parse_locator(group))
        if group_spec.get("type") != "repeating_group":
            raise Http404
        container = group_spec.setdefault("fields", [])
        prefix = [*_parse_locator(group)]
    else:
        container = step_spec.setdefault("fields", [])
        prefix = []
    if not _hash_matches(request, version):
        return _redirect_version(version, "eservices:edit_step", step=step)
    form.apply(container)
    if _save(request, version, content):
        messages.success(request, _("The field was added. Now set its details."))
        locator = "-".join(str(i) for i in [*prefix, len(container) - 1])
        return _redirect_version(version, "eservices:edit_field", step=step, locator=locator)
    return _redirect_version(version, "eservices:edit_step", step=step)


@designer_view
@require_POST
def field_move(request: HttpRequest, slug: str, number: int, step: int, locator: str) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    indexes = _parse_locator(locator)
    _spec, container = _locate_field(content, step, indexes)
    index = indexes[-1]
    target = index - 1 if request.POST.get("direction") == "up" else index + 1
    if _hash_matches(request, version) and 0 <= target < len(container):
        container[index], container[target] = container[target], container[index]
        if _save(request, version, content):
            messages.success(request, _("The field was moved."))
    return redirect(reverse("eservices:edit_step", kwargs={**_version_kwargs(version), "step": step}) + "#fields")


@designer_view
@require_POST
def field_delete(request: HttpRequest, slug: str, number: int, step: int, locator: str) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    indexes = _parse_locator(locator)
    _spec, container = _locate_field(content, step, indexes)
    if _hash_matches(request, version):
        del container[indexes[-1]]
        if _save(request, version, content):
            messages.success(request, _("The field was deleted. Rules that referred to it are listed as problems."))
    return redirect(reverse("eservices:edit_step", kwargs={**_version_kwargs(version), "step": step}) + "#fields")


def _apply_field_form(
    version: ServiceVersion, step: int, indexes: list[int], data: Any
) -> tuple[forms.FieldForm, dict[str, Any]]:
    """Bind the field form to ``data`` and return it with the content as it would be after saving."""
    content = copy.deepcopy(version.content)
    spec, container = _locate_field(content, step, indexes)
    form = forms.FieldForm(data, content=content, field=spec, siblings=container)
    if form.is_valid():
        old_variable = _variable_of(content, step, indexes)
        old_key = form.apply(spec)
        if old_key is not None:
            forms.rename_variables(content, old_variable, _variable_of(content, step, indexes))
    return form, content


@designer_view
@require_http_methods(["GET", "POST"])
def edit_field(request: HttpRequest, slug: str, number: int, step: int, locator: str) -> HttpResponse:
    """One field: label, help, required, validation, options, rules; with the step's live preview."""
    version = _editable(request, slug, number)
    indexes = _parse_locator(locator)
    spec, siblings = _locate_field(copy.deepcopy(version.content), step, indexes)
    status = 200
    if request.method == "POST":
        form, content = _apply_field_form(version, step, indexes, request.POST)
        if form.is_valid():
            _save_if_current(request, version, content, _("The field was saved."))
            return _redirect_version(version, "eservices:edit_field", step=step, locator=locator)
        status = 400
    else:
        form = forms.FieldForm(
            initial={**forms.FieldForm.initial_from(spec), "content_hash": version.content_hash},
            content=version.content,
            field=spec,
            siblings=siblings,
        )
    path = f"steps[{step}]" + "".join(f".fields[{i}]" for i in indexes)
    return _step_page(
        request,
        version,
        step,
        status=status,
        field_form=form,
        field_spec=spec,
        field_locator=locator,
        field_path=path,
        field_type_label=forms.FIELD_TYPE_LABELS.get(str(spec.get("type")), spec.get("type")),
        field_problems=[p for p in linked_problems(version) if p.path == path or p.path.startswith(path + ".")],
        preview_url=reverse("eservices:preview", kwargs={**_version_kwargs(version), "step": step}),
    )


@designer_view
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest, slug: str, number: int, step: int) -> HttpResponse:
    """The citizen's view of one step as an HTML fragment. POSTed with a field form (by
    designer.js while the designer types), it shows the unsaved change; nothing is stored."""
    version = _editable(request, slug, number)
    content = version.content
    locator = request.POST.get("locator", "") if request.method == "POST" else ""
    if locator:
        _form, content = _apply_field_form(version, step, _parse_locator(locator), request.POST)
    language = request.GET.get("sprache") if request.GET.get("sprache") in ("de", "en") else _language()
    steps = preview_steps(content, language)
    if not 0 <= step < len(steps):
        raise Http404
    return _render(request, "_preview_step.html", {"current": steps[step], "standalone": True})


# --- designer: fees and settings -------------------------------------------------------------------


def _fees_page(request: HttpRequest, version: ServiceVersion, status: int = 200, **extra: Any) -> HttpResponse:
    context = _designer_context(
        version,
        "fees",
        fee_form=extra.pop("fee_form", None)
        or forms.FeeForm(initial={"content_hash": version.content_hash}, content=version.content),
        **extra,
    )
    return _render(request, "edit_fees.html", context, status=status)


@designer_view
@require_http_methods(["GET", "POST"])
def edit_fees(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The fees: a fixed amount or a calculation rule each, and whether cities may set their own amount."""
    version = _editable(request, slug, number)
    if request.method == "POST":
        form = forms.FeeForm(request.POST, content=version.content)
        if not form.is_valid():
            return _fees_page(request, version, status=400, fee_form=form)
        _save_if_current(request, version, form.apply(version.content), _("The fee was added."))
        return _redirect_version(version, "eservices:edit_fees")
    return _fees_page(request, version)


def _fee(content: dict[str, Any], index: int) -> dict[str, Any]:
    fees = content.get("fees") or []
    if not 0 <= index < len(fees) or not isinstance(fees[index], dict):
        raise Http404
    return fees[index]


@designer_view
@require_http_methods(["GET", "POST"])
def edit_fee(request: HttpRequest, slug: str, number: int, index: int) -> HttpResponse:
    version = _editable(request, slug, number)
    fee = _fee(version.content, index)
    if request.method == "POST":
        form = forms.FeeForm(request.POST, content=version.content, index=index)
        if form.is_valid():
            _save_if_current(request, version, form.apply(version.content), _("The fee was saved."))
            return _redirect_version(version, "eservices:edit_fees")
        status = 400
    else:
        form = forms.FeeForm(
            initial={**forms.FeeForm.initial_from(fee), "content_hash": version.content_hash},
            content=version.content,
            index=index,
        )
        status = 200
    context = _designer_context(version, "fees", fee_form=form, fee=fee, fee_index=index)
    return _render(request, "edit_fee.html", context, status=status)


@designer_view
@require_POST
def fee_delete(request: HttpRequest, slug: str, number: int, index: int) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    _fee(content, index)
    if _hash_matches(request, version):
        del content["fees"][index]
        if _save(request, version, content):
            messages.success(request, _("The fee was deleted."))
    return _redirect_version(version, "eservices:edit_fees")


def _settings_page(request: HttpRequest, version: ServiceVersion, status: int = 200, **extra: Any) -> HttpResponse:
    content = version.content
    context = _designer_context(
        version,
        "settings",
        settings_form=extra.pop("settings_form", None)
        or forms.SettingsForm(
            initial={**forms.SettingsForm.initial_from(content), "content_hash": version.content_hash}
        ),
        document_form=extra.pop("document_form", None)
        or forms.DocumentForm(initial={"content_hash": version.content_hash}),
        documents=[
            {
                "index": i,
                "title": _t(d.get("title")),
                "kind": forms.DOCUMENT_KIND_LABELS.get(str(d.get("kind")), d.get("kind")),
            }
            for i, d in enumerate(content.get("documents") or [])
            if isinstance(d, dict)
        ],
        **extra,
    )
    return _render(request, "edit_settings.html", context, status=status)


@designer_view
@require_http_methods(["GET", "POST"])
def edit_settings(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Trust level, authentication methods, payment, summary step and the documents citizens receive."""
    version = _editable(request, slug, number)
    if request.method == "POST":
        form = forms.SettingsForm(request.POST)
        if not form.is_valid():
            return _settings_page(request, version, status=400, settings_form=form)
        _save_if_current(request, version, form.apply(version.content), _("The settings were saved."))
        return _redirect_version(version, "eservices:edit_settings")
    return _settings_page(request, version)


@designer_view
@require_POST
def document_add(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = _editable(request, slug, number)
    form = forms.DocumentForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, version, status=400, document_form=form)
    _save_if_current(request, version, form.apply(version.content), _("The document was added."))
    return redirect(reverse("eservices:edit_settings", kwargs=_version_kwargs(version)) + "#documents")


@designer_view
@require_POST
def document_delete(request: HttpRequest, slug: str, number: int, index: int) -> HttpResponse:
    version = _editable(request, slug, number)
    content = copy.deepcopy(version.content)
    documents = content.get("documents") or []
    if not 0 <= index < len(documents):
        raise Http404
    if _hash_matches(request, version):
        del documents[index]
        if _save(request, version, content):
            messages.success(request, _("The document was removed."))
    return redirect(reverse("eservices:edit_settings", kwargs=_version_kwargs(version)) + "#documents")


# --- designer: the process (BPMN, lanes, decisions, letter template) ------------------------------


def _letter_preview(source: str, content: dict[str, Any]) -> tuple[Any, str]:
    """The letter template rendered with sample data, or the reason it cannot be rendered."""
    from dikom.cases.letters import LetterTemplateError
    from dikom.eservices import process

    if not source.strip():
        return None, ""
    try:
        return process.render_letter_preview(source, content), ""
    except LetterTemplateError as error:
        return None, _("The letter template cannot be used: %(reason)s") % {"reason": error}


def _process_page(request: HttpRequest, version: ServiceVersion, status: int = 200, **extra: Any) -> HttpResponse:
    from dikom.eservices import process

    content = version.content
    stored = process.process_view(content)
    lanes = stored.lanes if stored else []
    settings_form = extra.pop("settings_form", None) or forms.ProcessSettingsForm(
        initial={**forms.ProcessSettingsForm.initial_from(content, lanes), "content_hash": version.content_hash},
        lanes=lanes,
    )
    if settings_form.is_bound:
        source = settings_form.cleaned_data.get("letter_template_de", "") if settings_form.is_valid() else ""
    else:
        source = settings_form.initial.get("letter_template_de", "")
    preview, preview_error = _letter_preview(source, content)
    from dikom.eservices import decision_forms

    decision_form = extra.pop("decision_form", None) or decision_forms.DecisionUploadForm(
        initial={"content_hash": version.content_hash}
    )
    context = _designer_context(
        version,
        "process",
        process=stored,
        upload_form=extra.pop("upload_form", None)
        or forms.ProcessUploadForm(initial={"content_hash": version.content_hash}),
        settings_form=settings_form,
        letter_preview=preview,
        letter_preview_error=preview_error,
        max_upload_mb=process.MAX_UPLOAD_BYTES // 2**20,
        decision_form=decision_form,
        decision_files=decision_forms.stored_files(content),
        **extra,
    )
    context["process_problems"] = [p for p in context["problems"] if p.path.startswith("processing")]
    return _render(request, "edit_process.html", context, status=status)


@designer_view
@require_http_methods(["GET", "POST"])
def edit_process(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The process of the service: its diagram and import report, the lanes' org units, sign-off and
    automatic decisions, the letter template with a preview from sample data."""
    from dikom.eservices import process

    version = _editable(request, slug, number)
    if request.method == "POST":
        stored = process.process_view(version.content)
        form = forms.ProcessSettingsForm(request.POST, lanes=stored.lanes if stored else [])
        if not form.is_valid():
            return _process_page(request, version, status=400, settings_form=form)
        if request.POST.get("action") == "preview":
            return _process_page(request, version, settings_form=form, previewing=True)
        _save_if_current(request, version, form.apply(version.content), _("The processing settings were saved."))
        return redirect(reverse("eservices:edit_process", kwargs=_version_kwargs(version)) + "#process-settings")
    return _process_page(request, version)


@designer_view
@require_POST
def process_upload(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """A BPMN file replaces the process. It is checked first: with errors nothing is stored and the
    import report names each problem with its element and line; notes do not stop it."""
    from dikom.eservices import process

    version = _editable(request, slug, number)
    form = forms.ProcessUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        report = form.report
        return _process_page(
            request,
            version,
            status=400,
            upload_form=form,
            refused_errors=process.report_lines(report.errors) if report is not None else [],
            refused_notes=process.report_lines(report.notes) if report is not None else [],
        )
    report = form.report
    lanes = process.lane_names(report)
    content = forms.with_process(version.content, form.cleaned_data["file"], lanes)
    if _hash_matches(request, version) and _save(request, version, content):
        notes = len(report.notes)
        if notes:
            messages.success(
                request,
                ngettext(
                    "The process was stored. The import report lists %(count)s note.",
                    "The process was stored. The import report lists %(count)s notes.",
                    notes,
                )
                % {"count": notes},
            )
        else:
            messages.success(request, _("The process was stored."))
    return redirect(reverse("eservices:edit_process", kwargs=_version_kwargs(version)) + "#process")


@designer_view
@require_POST
def process_delete(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Remove the process; cases of this version then follow the default one-task process."""
    version = _editable(request, slug, number)
    _save_if_current(
        request,
        version,
        forms.with_process(version.content, None, []),
        _("The process was removed. Cases of this version get one task for the responsible unit."),
    )
    return redirect(reverse("eservices:edit_process", kwargs=_version_kwargs(version)) + "#process")


# --- adoption -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def adoption(request: HttpRequest, slug: str, city: str) -> HttpResponse:
    """A city adopts a released service with its local settings, changes them, and sees what a newer
    version changes before upgrading."""
    from dikom.eservices.definition import diff_definitions

    municipality = access.get_adopting_municipality(request.user, city)
    definition = access.get_definition(request.user, slug)
    latest = definition.latest_released
    if latest is None:
        raise Http404
    current = access.get_adoption(municipality, definition)
    version = current.version if current else latest
    initial = forms.AdoptionForm.initial_from(current) if current else {"active": True}
    form = forms.AdoptionForm(
        request.POST or None,
        municipality=municipality,
        version=version,
        fees=current.fees if current else None,
        lanes=current.lanes if current else None,
        initial=initial,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                if current is None:
                    actions.adopt_service(
                        municipality=municipality, version=latest, actor=request.user, local=form.local_settings()
                    )
                    messages.success(request, _("%(city)s now offers this service.") % {"city": municipality.name})
                else:
                    actions.update_adoption(current, actor=request.user, local=form.local_settings())
                    messages.success(request, _("The local settings were saved."))
            except actions.WorkflowError as exc:
                messages.error(request, exc.message)
            else:
                return redirect("eservices:adoption", slug=definition.slug, city=municipality.slug)
        status = 400
    upgrade = current.pending_upgrade_to if current else None
    if current is not None and upgrade is None and latest.number > current.version.number:
        upgrade = latest
    return _render(
        request,
        "adoption.html",
        {
            "definition": definition,
            "municipality": municipality,
            "adoption": current,
            "version": version,
            "form": form,
            "upgrade": upgrade,
            "upgrade_diff": diff_definitions(current.version.content, upgrade.content) if current and upgrade else None,
            "fee_rows": fee_rows(version.content),
        },
        status=status,
    )


@login_required
@require_POST
def adoption_upgrade(request: HttpRequest, slug: str, city: str) -> HttpResponse:
    municipality = access.get_adopting_municipality(request.user, city)
    definition = access.get_definition(request.user, slug)
    current = access.get_adoption(municipality, definition)
    if current is None:
        raise Http404
    try:
        upgraded = actions.upgrade_adoption(current, actor=request.user)
    except actions.WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "New applications now start on version %(number)s; applications in progress finish on the version they started on."
            )
            % {"number": upgraded.version.number},
        )
    return redirect("eservices:adoption", slug=definition.slug, city=municipality.slug)


# --- notifications --------------------------------------------------------------------------------


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    items = list(access.notifications_for(request.user)[:100])
    return _render(request, "notifications.html", {"notifications": items})


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = access.get_notification(request.user, notification_id)
    actions.mark_notification_read(notification, actor=request.user)
    if request.POST.get("follow") and url_has_allowed_host_and_scheme(
        notification.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(notification.link)
    return redirect("eservices:notifications")
