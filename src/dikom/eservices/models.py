"""The shared library of online services.

- ``ServiceDefinition``: one online service of the cooperation, authored by one
  city; its versions carry the content.
- ``ServiceVersion``: one version of the definition's content (a
  ``dikom.service/1`` JSON document, see ``eservices.definition``). It moves
  draft → in review → (changes requested → in review …) → released, or is
  withdrawn. A released version never changes again: ``save`` refuses, and a
  database trigger refuses an UPDATE from any client (migration 0002).
- ``Review`` and ``ReviewComment``: the working group's decisions and remarks,
  each stamped with the hash of the content it was given on, so that an
  approval of older content does not count for changed content.
- ``Adoption``: a city uses a released version with its own local settings;
  the definition is never copied.
- ``Notification``: a small inbox per city and role.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.accounts.roles import Role
from dikom.municipalities.models import Municipality, OrgUnit


def content_hash(content: Any) -> str:
    """SHA-256 of the canonical JSON form of a definition (key order does not matter)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ReleasedVersionImmutable(Exception):
    """Raised when code tries to change or delete a released version."""


class ServiceDefinition(models.Model):
    """An online service of the shared library. Title, LeiKa key and keywords are
    caches of the latest released version (of the open draft before the first release)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(_("short name in addresses"), max_length=80, unique=True)
    municipality = models.ForeignKey(
        Municipality,
        verbose_name=_("authoring municipality"),
        on_delete=models.PROTECT,
        related_name="authored_services",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=300)
    leika_key = models.CharField(_("LeiKa key"), max_length=14, blank=True)
    keywords = models.CharField(_("keywords"), max_length=1000, blank=True, help_text=_("Comma-separated, for search."))
    latest_released = models.ForeignKey(
        "ServiceVersion",
        verbose_name=_("latest released version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        verbose_name = _("online service")
        verbose_name_plural = _("online services")

    def __str__(self) -> str:
        return self.title


class ServiceVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        RELEASED = "released", _("Released")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    EDITABLE = (Status.DRAFT, Status.CHANGES_REQUESTED)
    OPEN = (Status.DRAFT, Status.IN_REVIEW, Status.CHANGES_REQUESTED)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    definition = models.ForeignKey(
        ServiceDefinition, verbose_name=_("online service"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    content = models.JSONField(_("definition"))
    content_hash = models.CharField(_("content hash"), max_length=64, editable=False)
    based_on = models.ForeignKey(
        "self", verbose_name=_("based on"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("authoring municipality"), on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_round = models.PositiveIntegerField(_("review round"), default=0)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    release_quorum = models.JSONField(
        _("release quorum"),
        default=dict,
        blank=True,
        help_text=_("Snapshot at release: the quorum in force and the approvals that reached it."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["definition", "-number"]
        verbose_name = _("service version")
        verbose_name_plural = _("service versions")
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="eservices_version_unique_number"),
            # One version at a time is being worked on; improvements wait for its release or withdrawal.
            models.UniqueConstraint(
                fields=["definition"],
                condition=models.Q(status__in=["draft", "in_review", "changes_requested"]),
                name="eservices_version_one_open_per_service",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="released") | models.Q(released_at__isnull=False),
                name="eservices_version_released_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition.title} v{self.number}" if self.definition_id else f"v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The stored row decides, not this instance: a stale copy cannot bring back a released version.
        if self.pk is not None and self._stored_is_released():
            raise ReleasedVersionImmutable(f"{self} is released and cannot change")
        self.content_hash = content_hash(self.content)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.pk is not None and self._stored_is_released():
            raise ReleasedVersionImmutable(f"{self} is released and cannot be deleted")
        return super().delete(*args, **kwargs)

    def _stored_is_released(self) -> bool:
        return type(self).objects.filter(pk=self.pk, status=self.Status.RELEASED).exists()

    @property
    def is_released(self) -> bool:
        return self.status == self.Status.RELEASED

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE


class Review(models.Model):
    """A reviewer's decision on a version, for the content it had at that moment."""

    class Decision(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REQUEST_CHANGES = "request_changes", _("Request changes")
        COMMENT_ONLY = "comment_only", _("Comment only")

    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("reviewing municipality"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices)
    body = models.TextField(_("remarks"), blank=True)
    content_hash = models.CharField(max_length=64)
    review_round = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"{self.get_decision_display()} ({self.municipality_id})"


class ReviewComment(models.Model):
    """A remark on the whole definition (``path`` empty) or on one field or step (its path)."""

    version = models.ForeignKey(ServiceVersion, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(_("place"), max_length=300, blank=True)
    body = models.TextField(_("comment"))
    content_hash = models.CharField(max_length=64)
    resolved = models.BooleanField(_("resolved"), default=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("review comment")
        verbose_name_plural = _("review comments")

    def __str__(self) -> str:
        return self.body[:60]


class Adoption(models.Model):
    """A city offers a released version of a service with its own local settings."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.PROTECT, related_name="service_adoptions"
    )
    definition = models.ForeignKey(
        ServiceDefinition, verbose_name=_("online service"), on_delete=models.PROTECT, related_name="adoptions"
    )
    version = models.ForeignKey(
        ServiceVersion, verbose_name=_("adopted version"), on_delete=models.PROTECT, related_name="adoptions"
    )
    pending_upgrade_to = models.ForeignKey(
        ServiceVersion,
        verbose_name=_("newer version available"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    org_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("responsible organisational unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_adoptions",
    )
    fees = models.JSONField(
        _("local fee amounts"), default=dict, blank=True, help_text=_("Fee key → amount in cents, for adjustable fees.")
    )
    lanes = models.JSONField(
        _("org units per process lane"),
        default=dict,
        blank=True,
        help_text=_("Lane name → org unit id of this city; overrides the shared mapping of the definition."),
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    hint_de = models.TextField(_("local hint (German)"), blank=True)
    hint_en = models.TextField(_("local hint (English)"), blank=True)
    start_date = models.DateField(_("offered from"))
    active = models.BooleanField(_("active"), default=True)
    adopted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality", "definition__title"]
        verbose_name = _("adoption")
        verbose_name_plural = _("adoptions")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "definition"], name="eservices_adoption_once_per_city"),
        ]

    def __str__(self) -> str:
        return f"{self.definition} @ {self.municipality}"


class Notification(models.Model):
    """A note to the holders of one role in one city, e.g. "a newer version is released"."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="service_notifications")
    role = models.CharField(_("for role"), max_length=40, choices=Role.choices)
    text = models.CharField(_("text"), max_length=500)
    link = models.CharField(_("link"), max_length=300, blank=True)
    version = models.ForeignKey(ServiceVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["municipality", "role", "read_at"], name="eservices_notif_inbox")]

    def __str__(self) -> str:
        return self.text


class CodeList(models.Model):
    """One version of a code list (genericode, e.g. from XRepository) for FIM select fields.

    Versions are kept side by side and never changed: a FIM field names the
    version it was modelled with (``canonical_version_uri``); the importer uses
    that one when present, else the newest of the same list, and says so.
    """

    canonical_uri = models.CharField(_("code list (URN)"), max_length=300, db_index=True)
    version = models.CharField(_("version"), max_length=100)
    canonical_version_uri = models.CharField(_("code list version (URN)"), max_length=400, unique=True)
    short_name = models.CharField(_("short name"), max_length=200, blank=True)
    long_name = models.CharField(_("name"), max_length=300, blank=True)
    agency = models.CharField(_("publisher"), max_length=300, blank=True)
    code_column = models.CharField(_("code column"), max_length=200)
    label_column = models.CharField(_("label column"), max_length=200)
    columns = models.JSONField(_("columns"), default=list)
    rows = models.JSONField(_("rows"), default=list)
    source = models.CharField(_("source"), max_length=500, blank=True)
    sha256 = models.CharField(_("checksum (SHA-256)"), max_length=64)
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["canonical_uri", "-imported_at", "-pk"]
        verbose_name = _("code list")
        verbose_name_plural = _("code lists")

    def __str__(self) -> str:
        return self.canonical_version_uri
