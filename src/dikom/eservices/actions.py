"""State changes of the service library: the only code that writes definitions,
versions, reviews, comments, adoptions and notifications.

Every function runs in one transaction, writes an audit event and leaves side
effects (notifications are rows, so they commit with the change). Permission
checks happen before, in ``access.py``; the rules of the workflow (which
status allows what, the quorum, the local settings) are enforced here.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.accounts.models import Membership
from dikom.accounts.roles import Role
from dikom.audit import actions as audit
from dikom.eservices.models import (
    Adoption,
    Notification,
    Review,
    ReviewComment,
    ServiceDefinition,
    ServiceVersion,
)
from dikom.lib.slugs import german_slugify as slugify
from dikom.municipalities.models import Municipality, OrgUnit

Status = ServiceVersion.Status
Decision = Review.Decision

DEFAULT_RELEASE_QUORUM = 2
# Paths under /dienste/ that are pages, not services.
RESERVED_SLUGS = frozenset({"meine", "neu", "importieren", "benachrichtigungen"})
MAX_FEE_CENTS = 100_000_000  # one million euros: far above any municipal fee


class WorkflowError(Exception):
    """A state change the workflow does not allow; ``message`` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SubmissionBlocked(WorkflowError):
    """Submission refused because the definition has problems (``problems``: DefinitionProblem list)."""

    def __init__(self, problems: list[Any]) -> None:
        super().__init__(
            _("The service cannot be submitted yet: %(count)s problem(s) must be solved first.")
            % {"count": len(problems)}
        )
        self.problems = problems


def release_quorum() -> int:
    """Approvals from different cities that release a version (``DIKOM_ESERVICES_RELEASE_QUORUM``, default 2)."""
    value = getattr(settings, "DIKOM_ESERVICES_RELEASE_QUORUM", DEFAULT_RELEASE_QUORUM)
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_RELEASE_QUORUM


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None


def _text(value: Any) -> str:
    from dikom.eservices.definition.schema import text

    return text(value)


def _identity_caches(content: Any) -> dict[str, str]:
    identity = content.get("identity") if isinstance(content, dict) else None
    identity = identity if isinstance(identity, dict) else {}
    keywords = identity.get("keywords")
    keywords = [str(k) for k in keywords] if isinstance(keywords, list) else []
    leika = identity.get("leika_key")
    return {
        "title": (_text(identity.get("title")) or "?")[:300],
        "leika_key": leika[:14] if isinstance(leika, str) else "",
        "keywords": ", ".join(keywords)[:1000],
    }


def _update_caches(definition: ServiceDefinition, content: Any) -> None:
    caches = _identity_caches(content)
    changed = [name for name, value in caches.items() if getattr(definition, name) != value]
    if changed:
        for name in changed:
            setattr(definition, name, caches[name])
        definition.save(update_fields=[*changed, "updated_at"])


def _unique_slug(title: str) -> str:
    base = slugify(title)[:70].strip("-") or "dienst"
    slug, counter = base, 2
    while slug in RESERVED_SLUGS or ServiceDefinition.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


def _notify(municipality: Municipality | int, role: str, text: str, link: str, version: ServiceVersion | None) -> None:
    Notification.objects.create(
        municipality_id=getattr(municipality, "pk", municipality),
        role=role,
        text=text[:500],
        link=link,
        version=version,
    )


def _version_url(version: ServiceVersion, name: str = "eservices:version") -> str:
    return reverse(name, kwargs={"slug": version.definition.slug, "number": version.number})


# --- creating and editing ----------------------------------------------------------------


@transaction.atomic
def create_service(
    *,
    municipality: Municipality,
    actor: Any,
    title: str,
    content: dict[str, Any] | None = None,
    slug: str | None = None,
    is_demo: bool = False,
) -> ServiceVersion:
    """A new service authored by ``municipality``: its draft version 1 (empty unless ``content`` is given).

    The address (``slug``) is made from the title unless given."""
    from dikom.eservices.definition import empty_definition

    title = title.strip()
    if not title:
        raise WorkflowError(_("Give the service a title."))
    content = copy.deepcopy(content) if content is not None else empty_definition(title)
    caches = _identity_caches(content)
    if slug is not None and (slug in RESERVED_SLUGS or ServiceDefinition.objects.filter(slug=slug).exists()):
        raise WorkflowError(_("The address “%(slug)s” is already taken.") % {"slug": slug})
    definition = ServiceDefinition.objects.create(
        slug=slug or _unique_slug(title),
        municipality=municipality,
        created_by=_user(actor),
        is_demo=is_demo,
        **caches,
    )
    version = ServiceVersion.objects.create(
        definition=definition,
        number=1,
        content=content,
        municipality=municipality,
        created_by=_user(actor),
    )
    audit.record(
        "eservice.create",
        actor=actor,
        municipality=municipality,
        obj=definition,
        changes={"slug": definition.slug, "title": definition.title, "version": 1},
    )
    return version


def _locked(version: ServiceVersion) -> ServiceVersion:
    """The version's row, locked for the rest of the transaction (PostgreSQL; SQLite locks the whole file)."""
    return (
        ServiceVersion.objects.select_for_update(of=("self",))
        .select_related("definition", "municipality")
        .get(pk=version.pk)
    )


@transaction.atomic
def update_draft(version: ServiceVersion, *, actor: Any, content: dict[str, Any]) -> ServiceVersion:
    """Replace the content of an editable version (draft or changes requested)."""
    from dikom.eservices.definition import diff_definitions

    version = _locked(version)
    if not version.is_editable:
        raise WorkflowError(_("Only drafts and versions with requested changes can be edited."))
    if not isinstance(content, dict):
        raise WorkflowError(_("A definition must be a JSON object."))
    if content == version.content:
        return version
    changes = diff_definitions(version.content, content)
    version.content = copy.deepcopy(content)
    version.save(update_fields=["content", "content_hash", "updated_at"])
    if version.definition.latest_released_id is None:
        _update_caches(version.definition, content)
    audit.record(
        "eservice.version.edit",
        actor=actor,
        municipality=version.municipality,
        obj=version,
        changes={"changed_paths": [c.path for c in changes][:50], "count": len(changes)},
    )
    return version


@transaction.atomic
def submit_for_review(version: ServiceVersion, *, actor: Any) -> ServiceVersion:
    """Hand an editable version to the working group; refused while ``validate_definition`` finds problems."""
    from dikom.eservices.definition import validate_definition

    version = _locked(version)
    if not version.is_editable:
        raise WorkflowError(_("Only drafts and versions with requested changes can be submitted."))
    problems = validate_definition(version.content)
    if problems:
        raise SubmissionBlocked(problems)
    previous = version.status
    version.status = Status.IN_REVIEW
    version.review_round += 1
    version.submitted_at = timezone.now()
    version.save(update_fields=["status", "review_round", "submitted_at", "updated_at"])
    reviewer_cities = (
        Membership.objects.filter(role=Role.REVIEWER)
        .exclude(municipality_id=version.municipality_id)
        .values_list("municipality_id", flat=True)
        .distinct()
    )
    text = _("%(city)s submitted “%(title)s” version %(number)s for review.") % {
        "city": version.municipality.name,
        "title": _text(version.content.get("identity", {}).get("title")) or version.definition.title,
        "number": version.number,
    }
    for city_id in sorted(set(reviewer_cities)):
        _notify(city_id, Role.REVIEWER, text, _version_url(version), version)
    audit.record(
        "eservice.version.submit",
        actor=actor,
        municipality=version.municipality,
        obj=version,
        changes={"status": [previous, version.status], "round": version.review_round, "hash": version.content_hash},
    )
    return version


@transaction.atomic
def withdraw_version(version: ServiceVersion, *, actor: Any) -> ServiceVersion:
    """Give up an unreleased version; the service can then get a new version again."""
    version = _locked(version)
    if version.status not in ServiceVersion.OPEN:
        raise WorkflowError(_("Only versions that are not released can be withdrawn."))
    previous = version.status
    version.status = Status.WITHDRAWN
    version.save(update_fields=["status", "updated_at"])
    audit.record(
        "eservice.version.withdraw",
        actor=actor,
        municipality=version.municipality,
        obj=version,
        changes={"status": [previous, version.status]},
    )
    return version


@transaction.atomic
def start_new_version(definition: ServiceDefinition, *, actor: Any) -> ServiceVersion:
    """An improvement of a released service: a draft copy of the latest released content."""
    definition = ServiceDefinition.objects.select_for_update(of=("self",)).get(pk=definition.pk)
    latest = ServiceVersion.objects.filter(definition=definition, status=Status.RELEASED).order_by("-number").first()
    if latest is None:
        raise WorkflowError(_("A new version can only be based on a released version."))
    if ServiceVersion.objects.filter(definition=definition, status__in=ServiceVersion.OPEN).exists():
        raise WorkflowError(_("This service already has a version in progress."))
    number = (ServiceVersion.objects.filter(definition=definition).aggregate(n=Max("number"))["n"] or 0) + 1
    try:
        with transaction.atomic():
            version = ServiceVersion.objects.create(
                definition=definition,
                number=number,
                content=copy.deepcopy(latest.content),
                based_on=latest,
                municipality=definition.municipality,
                created_by=_user(actor),
            )
    except IntegrityError as exc:  # a concurrent request created it first
        raise WorkflowError(_("This service already has a version in progress.")) from exc
    audit.record(
        "eservice.version.create",
        actor=actor,
        municipality=definition.municipality,
        obj=version,
        changes={"based_on": latest.number, "number": number},
    )
    return version


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
    version = _locked(version)
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
        reviewer=_user(actor),
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
        _notify(
            version.municipality,
            Role.PROCESS_DESIGNER,
            _("%(city)s requests changes to “%(title)s” version %(number)s.")
            % {"city": municipality.name, "title": title, "number": version.number},
            _version_url(version),
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
    _update_caches(definition, version.content)
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
    _notify(
        version.municipality,
        Role.PROCESS_DESIGNER,
        _("“%(title)s” version %(number)s is released.") % {"title": definition.title, "number": version.number},
        _version_url(version),
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
        _notify(
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

    version = _locked(version)
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
        author=_user(actor),
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
    comment.resolved_by = _user(actor)
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
    _release_if_ready(_locked(comment.version), actor=actor)
    return comment


# --- adoption -------------------------------------------------------------------------------


def adjustable_fees(content: Any) -> dict[str, dict[str, Any]]:
    """Fee key → fee of the fees a city may set itself (``locally_adjustable``)."""
    fees = content.get("fees") if isinstance(content, dict) else None
    return {
        fee["key"]: fee
        for fee in (fees if isinstance(fees, list) else [])
        if isinstance(fee, dict) and isinstance(fee.get("key"), str) and fee.get("locally_adjustable") is True
    }


@dataclass
class LocalSettings:
    """What a city sets when it adopts a service."""

    start_date: dt.date
    org_unit: OrgUnit | None = None
    fees: dict[str, int] = field(default_factory=dict)
    contact_email: str = ""
    contact_phone: str = ""
    hint_de: str = ""
    hint_en: str = ""
    active: bool = True
    #: Lane name of the process → id of one of the city's org units (overrides the shared mapping).
    lanes: dict[str, int] = field(default_factory=dict)


PHONE = re.compile(r"^\+?[0-9 ()/\-]{3,40}$")


def check_local_settings(municipality: Municipality, version: ServiceVersion, local: LocalSettings) -> None:
    """Raise ``ValidationError`` (by field) for local settings that do not fit the city or the version."""
    errors: dict[str, list[str]] = {}
    if local.org_unit is not None and local.org_unit.municipality_id != municipality.pk:
        errors.setdefault("org_unit", []).append(_("Choose an organisational unit of your own city."))
    adjustable = adjustable_fees(version.content)
    for key, amount in local.fees.items():
        if key not in adjustable:
            errors.setdefault("fees", []).append(
                _("The fee “%(key)s” cannot be set locally in this version.") % {"key": key}
            )
        elif isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            errors.setdefault("fees", []).append(_("The fee “%(key)s” must be a non-negative amount.") % {"key": key})
        elif amount > MAX_FEE_CENTS:
            errors.setdefault("fees", []).append(_("The fee “%(key)s” is implausibly high.") % {"key": key})
    if local.lanes:
        from dikom.eservices.process import process_lanes

        lanes = set(process_lanes(version.content))
        own_units = set(OrgUnit.objects.filter(municipality=municipality).values_list("pk", flat=True))
        for lane, unit_id in local.lanes.items():
            if lane not in lanes:
                errors.setdefault("lanes", []).append(
                    _("The process of this version has no lane “%(lane)s”.") % {"lane": lane}
                )
            elif unit_id not in own_units:
                errors.setdefault("lanes", []).append(
                    _("Lane “%(lane)s”: choose an organisational unit of your own city.") % {"lane": lane}
                )
    if local.contact_phone and not PHONE.match(local.contact_phone):
        errors.setdefault("contact_phone", []).append(_("Enter a phone number of digits, spaces, +, /, - and ()."))
    if local.start_date is None:
        errors.setdefault("start_date", []).append(_("Enter the date from which your city offers the service."))
    if errors:
        raise ValidationError(errors)


def _apply_local(adoption: Adoption, local: LocalSettings) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    values = {
        "org_unit_id": local.org_unit.pk if local.org_unit else None,
        "fees": dict(sorted(local.fees.items())),
        "lanes": dict(sorted(local.lanes.items())),
        "contact_email": local.contact_email.strip(),
        "contact_phone": local.contact_phone.strip(),
        "hint_de": local.hint_de.strip(),
        "hint_en": local.hint_en.strip(),
        "start_date": local.start_date,
        "active": local.active,
    }
    for name, value in values.items():
        old = getattr(adoption, name)
        if old != value:
            changes[name] = [old, value]
            setattr(adoption, name, value)
    return changes


@transaction.atomic
def adopt_service(
    *, municipality: Municipality, version: ServiceVersion, actor: Any, local: LocalSettings, is_demo: bool = False
) -> Adoption:
    """``municipality`` offers the released ``version`` with its local settings (the definition is not copied)."""
    version = ServiceVersion.objects.select_related("definition").get(pk=version.pk)
    if version.status != Status.RELEASED:
        raise WorkflowError(_("Only released versions can be adopted."))
    if Adoption.objects.filter(municipality=municipality, definition=version.definition).exists():
        raise WorkflowError(_("Your city has already adopted this service; change its settings instead."))
    check_local_settings(municipality, version, local)
    adoption = Adoption(
        municipality=municipality,
        definition=version.definition,
        version=version,
        adopted_by=_user(actor),
        start_date=local.start_date,
        is_demo=is_demo,
    )
    changes = _apply_local(adoption, local)
    latest = version.definition.latest_released
    if latest is not None and latest.number > version.number:
        adoption.pending_upgrade_to = latest
    try:
        with transaction.atomic():
            adoption.save()
    except IntegrityError as exc:
        raise WorkflowError(_("Your city has already adopted this service; change its settings instead.")) from exc
    audit.record(
        "eservice.adopt",
        actor=actor,
        municipality=municipality,
        obj=adoption,
        changes={"version": version.number, **changes},
    )
    return adoption


@transaction.atomic
def update_adoption(adoption: Adoption, *, actor: Any, local: LocalSettings) -> Adoption:
    """Change a city's local settings of an adopted service."""
    adoption = (
        Adoption.objects.select_for_update(of=("self",)).select_related("version", "municipality").get(pk=adoption.pk)
    )
    check_local_settings(adoption.municipality, adoption.version, local)
    changes = _apply_local(adoption, local)
    if changes:
        adoption.save()
        audit.record(
            "eservice.adoption.update", actor=actor, municipality=adoption.municipality, obj=adoption, changes=changes
        )
    return adoption


@transaction.atomic
def upgrade_adoption(adoption: Adoption, *, actor: Any, to_version: ServiceVersion | None = None) -> Adoption:
    """Move a city to a newer released version. New applications start on it; applications in
    progress keep the version they started on (they store it). Local fees for fee keys the new
    version no longer lets cities adjust are dropped, and so are lane choices for lanes its
    process no longer has."""
    adoption = (
        Adoption.objects.select_for_update(of=("self",))
        .select_related("version", "definition", "municipality", "pending_upgrade_to")
        .get(pk=adoption.pk)
    )
    target = to_version or adoption.pending_upgrade_to or adoption.definition.latest_released
    if target is None or target.definition_id != adoption.definition_id or target.status != Status.RELEASED:
        raise WorkflowError(_("There is no released version to upgrade to."))
    if target.number <= adoption.version.number:
        raise WorkflowError(_("Your city already offers this version or a newer one."))
    adjustable = adjustable_fees(target.content)
    dropped = sorted(key for key in adoption.fees if key not in adjustable)
    from dikom.eservices.process import process_lanes

    target_lanes = set(process_lanes(target.content))
    dropped_lanes = sorted(lane for lane in adoption.lanes if lane not in target_lanes)
    adoption.lanes = {lane: unit for lane, unit in adoption.lanes.items() if lane in target_lanes}
    previous = adoption.version.number
    adoption.version = target
    adoption.fees = {key: value for key, value in adoption.fees.items() if key in adjustable}
    latest = adoption.definition.latest_released
    adoption.pending_upgrade_to = latest if latest is not None and latest.number > target.number else None
    adoption.save()
    audit.record(
        "eservice.adoption.upgrade",
        actor=actor,
        municipality=adoption.municipality,
        obj=adoption,
        changes={"version": [previous, target.number], "dropped_fees": dropped, "dropped_lanes": dropped_lanes},
    )
    Notification.objects.filter(
        municipality=adoption.municipality,
        role=Role.MUNICIPALITY_ADMIN,
        version__definition=adoption.definition,
        version__number__lte=target.number,
        read_at__isnull=True,
    ).update(read_at=timezone.now(), read_by=_user(actor))
    return adoption


@transaction.atomic
def mark_notification_read(notification: Notification, *, actor: Any) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.read_by = _user(actor)
        notification.save(update_fields=["read_at", "read_by"])
    return notification
