"""Creating and editing services: new services, drafts, submission for review, withdrawal, new versions."""

from __future__ import annotations

import copy
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.accounts.models import Membership
from dikom.accounts.roles import Role
from dikom.audit import actions as audit
from dikom.eservices.actions.common import (
    RESERVED_SLUGS,
    SubmissionBlocked,
    WorkflowError,
    acting_user,
    identity_caches,
    locked_version,
    notify,
    plain_text,
    unique_slug,
    update_caches,
    version_url,
)
from dikom.eservices.models import (
    ServiceDefinition,
    ServiceVersion,
)
from dikom.municipalities.models import Municipality

Status = ServiceVersion.Status

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
    caches = identity_caches(content)
    if slug is not None and (slug in RESERVED_SLUGS or ServiceDefinition.objects.filter(slug=slug).exists()):
        raise WorkflowError(_("The address “%(slug)s” is already taken.") % {"slug": slug})
    definition = ServiceDefinition.objects.create(
        slug=slug or unique_slug(title),
        municipality=municipality,
        created_by=acting_user(actor),
        is_demo=is_demo,
        **caches,
    )
    version = ServiceVersion.objects.create(
        definition=definition,
        number=1,
        content=content,
        municipality=municipality,
        created_by=acting_user(actor),
    )
    audit.record(
        "eservice.create",
        actor=actor,
        municipality=municipality,
        obj=definition,
        changes={"slug": definition.slug, "title": definition.title, "version": 1},
    )
    return version


@transaction.atomic
def update_draft(version: ServiceVersion, *, actor: Any, content: dict[str, Any]) -> ServiceVersion:
    """Replace the content of an editable version (draft or changes requested)."""
    from dikom.eservices.definition import diff_definitions

    version = locked_version(version)
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
        update_caches(version.definition, content)
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

    version = locked_version(version)
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
        "title": plain_text(version.content.get("identity", {}).get("title")) or version.definition.title,
        "number": version.number,
    }
    for city_id in sorted(set(reviewer_cities)):
        notify(city_id, Role.REVIEWER, text, version_url(version), version)
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
    version = locked_version(version)
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
                created_by=acting_user(actor),
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
