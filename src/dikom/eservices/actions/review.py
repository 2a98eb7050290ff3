"""Review of a version by other cities: approvals and rejections, comments, the release at quorum."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.accounts.roles import Role
from dikom.audit import actions as audit
from dikom.eservices.actions.common import (
    WorkflowError,
    acting_user,
    locked_version,
    notify,
    release_quorum,
    update_caches,
    version_url,
)
from dikom.eservices.models import (
    Adoption,
    Notification,
    Review,
    ReviewComment,
    ServiceDefinition,
    ServiceVersion,
)
from dikom.municipalities.models import Municipality

Status = ServiceVersion.Status
Decision = Review.Decision

# --- review --------------------------------------------------------------------------------


def current_approvals(version: ServiceVersion) -> list[Review]:
    """The approvals that count towards the quorum: one per city (the first), other than the
    authoring city, given on the version's current content."""
    approvals: dict[int, Review] = {}
    for review in (
        Review.objects.filter(version=version, decision=Decision.APPROVE, content_hash=version.content_hash)
        .exclude(municipality_id=version.municipality_id)
        .select_related("municipality", "reviewer")
        .order_by("created_at", "pk")
    ):
        approvals.setdefault(review.municipality_id, review)
    return list(approvals.values())


@transaction.atomic
def review_version(
    version: ServiceVersion, *, actor: Any, municipality: Municipality, decision: str, body: str = ""
) -> Review:
    """A reviewer's decision on behalf of ``municipality``.

    Approvals from ``release_quorum()`` different cities on the same content
    release the version; "request changes" sends it back to the authoring city.
    """
    version = locked_version(version)
    if version.status != Status.IN_REVIEW:
        raise WorkflowError(_("This version is not in review."))
    if municipality.pk == version.municipality_id:
        raise WorkflowError(_("The authoring city cannot review its own version."))
    if decision not in Decision.values:
        raise WorkflowError(_("Unknown decision."))
    body = body.strip()
    if decision == Decision.REQUEST_CHANGES and not body:
        raise WorkflowError(_("Say which changes you request."))
    if decision == Decision.COMMENT_ONLY and not body:
        raise WorkflowError(_("Write a comment."))
    review = Review.objects.create(
        version=version,
        reviewer=acting_user(actor),
        municipality=municipality,
        decision=decision,
        body=body,
        content_hash=version.content_hash,
        review_round=version.review_round,
    )
    audit.record(
        "eservice.review",
        actor=actor,
        municipality=municipality,
        obj=version,
        changes={"decision": decision, "round": version.review_round, "hash": version.content_hash},
    )
    title = version.definition.title
    if decision == Decision.REQUEST_CHANGES:
        version.status = Status.CHANGES_REQUESTED
        version.save(update_fields=["status", "updated_at"])
        audit.record(
            "eservice.version.changes_requested",
            actor=actor,
            municipality=version.municipality,
            obj=version,
            changes={"status": [Status.IN_REVIEW, Status.CHANGES_REQUESTED], "by": municipality.name},
        )
        notify(
            version.municipality,
            Role.PROCESS_DESIGNER,
            _("%(city)s requests changes to “%(title)s” version %(number)s.")
            % {"city": municipality.name, "title": title, "number": version.number},
            version_url(version),
            version,
        )
    elif decision == Decision.APPROVE:
        _release_if_ready(version, actor=actor)
    return review


def open_comments(version: ServiceVersion) -> int:
    """Reviewers' comments on the version not yet marked as resolved; they hold the release back."""
    return ReviewComment.objects.filter(version=version, resolved=False).count()


def _release_if_ready(version: ServiceVersion, *, actor: Any) -> bool:
    """Release once the quorum of approvals is there and no reviewer's comment is still open.

    An approval that completes the quorum while comments are open is recorded, and the
    release follows when the last open comment is resolved (see ``resolve_comment``).
    """
    if version.status != Status.IN_REVIEW:
        return False
    approvals = current_approvals(version)
    if len(approvals) < release_quorum() or open_comments(version):
        return False
    _release(version, approvals, actor=actor)
    return True


def _release(version: ServiceVersion, approvals: list[Review], *, actor: Any) -> None:
    now = timezone.now()
    version.status = Status.RELEASED
    version.released_at = now
    version.release_quorum = {
        "required": release_quorum(),
        "approvals": [
            {
                "municipality": review.municipality.slug,
                "municipality_name": review.municipality.name,
                "reviewer": review.reviewer.get_username() if review.reviewer else "",
                "review_id": review.pk,
                "at": review.created_at.isoformat(),
            }
            for review in approvals
        ],
        "content_hash": version.content_hash,
        "round": version.review_round,
    }
    version.save(update_fields=["status", "released_at", "release_quorum", "updated_at"])
    # The reviewers' "please review" notifications are done with: nobody has to act on them any more.
    Notification.objects.filter(version=version, role=Role.REVIEWER, read_at__isnull=True).update(read_at=now)
    definition = ServiceDefinition.objects.select_for_update(of=("self",)).get(pk=version.definition_id)
    definition.latest_released = version
    definition.save(update_fields=["latest_released", "updated_at"])
    update_caches(definition, version.content)
    audit.record(
        "eservice.version.release",
        actor=actor,
        municipality=version.municipality,
        obj=version,
        changes={
            "status": [Status.IN_REVIEW, Status.RELEASED],
            "approvals": [a["municipality"] for a in version.release_quorum["approvals"]],
            "quorum": version.release_quorum["required"],
        },
    )
    notify(
        version.municipality,
        Role.PROCESS_DESIGNER,
        _("“%(title)s” version %(number)s is released.") % {"title": definition.title, "number": version.number},
        version_url(version),
        version,
    )
    adoptions = list(
        Adoption.objects.select_for_update(of=("self",))
        .select_related("municipality", "version")
        .filter(definition=definition)
        .exclude(version=version)
    )
    for adoption in adoptions:
        adoption.pending_upgrade_to = version
        adoption.save(update_fields=["pending_upgrade_to", "updated_at"])
        notify(
            adoption.municipality_id,
            Role.MUNICIPALITY_ADMIN,
            _(
                "Version %(number)s of “%(title)s” is released. Your city offers version %(current)s; "
                "review the changes and upgrade when ready."
            )
            % {"number": version.number, "title": definition.title, "current": adoption.version.number},
            reverse("eservices:adoption", kwargs={"slug": definition.slug, "city": adoption.municipality.slug}),
            version,
        )
        audit.record(
            "eservice.adoption.upgrade_available",
            municipality=adoption.municipality_id,
            obj=adoption,
            changes={"current": adoption.version.number, "available": version.number},
        )


@transaction.atomic
def add_comment(
    version: ServiceVersion, *, actor: Any, municipality: Municipality, body: str, path: str = ""
) -> ReviewComment:
    """A remark on the whole definition (``path`` empty) or on one step or field (its path)."""
    from dikom.eservices.definition import field_paths

    version = locked_version(version)
    if version.status != Status.IN_REVIEW:
        raise WorkflowError(_("Comments can be added while a version is in review."))
    body = body.strip()
    if not body:
        raise WorkflowError(_("Write a comment."))
    path = (path or "").strip()
    if path and path not in {p for p, _label in field_paths(version.content)}:
        raise WorkflowError(_("The place you comment on does not exist in this version."))
    comment = ReviewComment.objects.create(
        version=version,
        author=acting_user(actor),
        municipality=municipality,
        path=path,
        body=body,
        content_hash=version.content_hash,
    )
    audit.record(
        "eservice.comment",
        actor=actor,
        municipality=municipality,
        obj=version,
        changes={"path": path, "comment_id": comment.pk},
    )
    return comment


@transaction.atomic
def resolve_comment(comment: ReviewComment, *, actor: Any) -> ReviewComment:
    comment = ReviewComment.objects.select_for_update(of=("self",)).select_related("version").get(pk=comment.pk)
    if comment.resolved:
        return comment
    comment.resolved = True
    comment.resolved_by = acting_user(actor)
    comment.resolved_at = timezone.now()
    comment.save(update_fields=["resolved", "resolved_by", "resolved_at"])
    audit.record(
        "eservice.comment.resolve",
        actor=actor,
        municipality=comment.version.municipality_id,
        obj=comment.version,
        changes={"comment_id": comment.pk},
    )
    # The last open comment may have been all that held an approved version back.
    _release_if_ready(locked_version(comment.version), actor=actor)
    return comment
