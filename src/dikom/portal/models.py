"""Applications citizens fill in and submit in their city's portal."""

from __future__ import annotations

import secrets
import uuid
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.eservices.models import Adoption, ServiceVersion
from dikom.municipalities.models import Municipality


def new_visit_id() -> str:
    return secrets.token_hex(16)


def new_submission_key() -> str:
    return secrets.token_hex(16)


class Application(models.Model):
    """One citizen's application for an adopted online service, from draft to submission."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        IN_PROCESSING = "in_processing", _("in processing")
        DECIDED = "decided", _("decided")
        CANCELLED = "cancelled", _("cancelled")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # NULL until submitted: NULLs never collide in the unique constraint, empty strings would.
    reference = models.CharField(_("reference number"), max_length=32, null=True, blank=True)  # noqa: DJ001
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.PROTECT, related_name="portal_applications"
    )
    adoption = models.ForeignKey(Adoption, on_delete=models.PROTECT, related_name="portal_applications")
    # The version the application started on; it finishes on it whatever the city does meanwhile.
    version = models.ForeignKey(ServiceVersion, on_delete=models.PROTECT, related_name="portal_applications")
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="portal_applications"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    answers = models.JSONField(default=dict, blank=True)  # {step_key: {field_key: value}}
    current_step = models.PositiveIntegerField(default=1)
    resume_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Usage events only; emptied on submission, so no stored key leads from an application to its events.
    visit_id = models.CharField(max_length=32, default=new_visit_id, editable=False, blank=True)
    submission_key = models.CharField(max_length=32, default=new_submission_key, editable=False)
    auth_method = models.CharField(max_length=30, blank=True)
    trust_level = models.CharField(max_length=20, blank=True)
    # SHA-256 of provider and pseudonymous subject: binds the draft to one sign-in, names no one.
    identity_hash = models.CharField(max_length=64, blank=True, editable=False)
    payment_reference = models.CharField(max_length=64, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submission_data = models.JSONField(default=dict, blank=True)
    feedback_given = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "reference"], name="portal_application_reference_unique"),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="portal_app_status_updated")]

    def __str__(self) -> str:
        return self.reference or str(self.uuid)

    @property
    def content(self) -> dict[str, Any]:
        return self.version.content

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class ReferenceCounter(models.Model):
    """The last reference number given out per municipality and year."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("reference counter")
        verbose_name_plural = _("reference counters")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "year"], name="portal_reference_counter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.municipality_id}/{self.year}: {self.last}"


def upload_path(instance: ApplicationFile, filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"portal/{instance.application.uuid}/{secrets.token_hex(12)}{suffix}"


class ApplicationFile(models.Model):
    """A file a citizen uploaded for a file field (stored under ``MEDIA_ROOT/portal/<uuid>/``)."""

    class ScanStatus(models.TextChoices):
        CLEAN = "clean", _("clean")
        INFECTED = "infected", _("infected")
        UNSCANNED = "unscanned", _("not scanned")
        FAILED = "failed", _("scan failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="files")
    field_path = models.CharField(max_length=200)  # step.field or step.group[0].field
    file = models.FileField(upload_to=upload_path, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    scan_status = models.CharField(max_length=20, choices=ScanStatus.choices, default=ScanStatus.UNSCANNED)
    active_content = models.JSONField(
        default=list, blank=True, help_text="Markers of active content found in a PDF (javascript, launch, …)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("application file")
        verbose_name_plural = _("application files")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name
