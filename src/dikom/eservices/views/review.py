"""One version: its content, diff and review (comments, decisions)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dikom.eservices import access, actions, forms
from dikom.eservices.models import Review, ReviewComment, ServiceVersion
from dikom.eservices.views.common import (
    Status,
    _redirect_version,
    _render,
    _version_kwargs,
    fee_rows,
    linked_problems,
    process_context,
    settings_summary,
)
from dikom.eservices.views.preview import (
    _attach,
    preview_steps,
)

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
