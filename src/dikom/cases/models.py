"""Cases: every submitted application becomes a case that staff (and rules) take to a decision.

- :class:`Case` — one per submitted portal application; holds the workflow
  state (a serialised BPMN instance), the decision and the e-file transfer state.
- :class:`Task` — a piece of work for an org unit or a person: a BPMN user task
  or a consultation of another department. ``lock_version`` gives optimistic
  locking: two caseworkers acting at once, one wins, the other is told.
- :class:`CaseEvent` — the case's history; append-only (model guard and
  database triggers, like the audit log).
- :class:`CaseNote`, :class:`CaseMessage`, :class:`CaseDocument` — internal
  notes, messages between city and citizen, documents (application, letters).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        WAITING = "waiting_for_citizen", _("waiting for the citizen")
        DECIDED = "decided", _("decided")
        CLOSED = "closed", _("closed")

    class Outcome(models.TextChoices):
        NONE = "", _("not decided")
        APPROVED = "approved", _("approved")
        PARTLY_APPROVED = "partly_approved", _("partly approved")
        REJECTED = "rejected", _("rejected")

    class EfileStatus(models.TextChoices):
        NONE = "", _("not transferred")
        PENDING = "pending", _("transfer pending")
        TRANSFERRED = "transferred", _("transferred")
        RETRYING = "retrying", _("transfer failed, retrying")
        FAILED = "failed", _("transfer failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference number"), max_length=32)
    municipality = models.ForeignKey(
        "municipalities.Municipality", verbose_name=_("municipality"), on_delete=models.PROTECT, related_name="cases"
    )
    org_unit = models.ForeignKey(
        "municipalities.OrgUnit",
        verbose_name=_("responsible unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    application = models.OneToOneField("portal.Application", on_delete=models.PROTECT, related_name="case")
    service_slug = models.CharField(max_length=80)
    service_title = models.CharField(_("service"), max_length=300)
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("decision"), max_length=20, choices=Outcome.choices, blank=True, default="")
    decision_reasons = models.TextField(_("reasons"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_automatically = models.BooleanField(_("decided automatically"), default=False)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    # The BPMN process this case runs (XML as released with the service) and its serialised state.
    process_xml = models.TextField(blank=True)
    workflow_state = models.JSONField(default=dict, blank=True)
    media_breaks = models.PositiveIntegerField(_("media breaks"), default=0)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    efile_status = models.CharField(max_length=16, choices=EfileStatus.choices, blank=True, default="")
    efile_reference = models.CharField(max_length=200, blank=True)
    efile_attempts = models.PositiveIntegerField(default=0)
    efile_error = models.CharField(max_length=500, blank=True)
    lock_version = models.PositiveIntegerField(default=0)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "reference"], name="cases_case_reference_unique"),
        ]
        indexes = [
            models.Index(fields=["municipality", "status"], name="cases_case_city_status"),
            # The inbox at 10 000 open cases (issue 21): its list of services and the join of the
            # tasks with their cases (city, received) read this index alone, not the wide case rows.
            models.Index(
                fields=["municipality", "service_slug", "service_title", "org_unit", "opened_at", "id"],
                name="cases_case_city_service",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in {self.Status.OPEN, self.Status.WAITING}


class Task(models.Model):
    class Kind(models.TextChoices):
        WORKFLOW = "workflow", _("workflow task")
        CONSULTATION = "consultation", _("consultation")
        SIGN_OFF = "sign_off", _("second sign-off")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WORKFLOW)
    name = models.CharField(_("task"), max_length=300)
    bpmn_id = models.CharField(max_length=200, blank=True)
    engine_task_id = models.CharField(max_length=64, blank=True)
    lane = models.CharField(_("lane"), max_length=200, blank=True)
    org_unit = models.ForeignKey(
        "municipalities.OrgUnit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="case_tasks",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="case_tasks",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    instructions = models.TextField(_("instructions"), blank=True)
    # A caseworker's choice at a BPMN gateway without conditions: the paths ([value, label] pairs) and the
    # process data name the chosen value goes to.
    choices = models.JSONField(_("paths to choose from"), default=list, blank=True)
    choice_variable = models.CharField(_("choice variable"), max_length=200, blank=True)
    result = models.TextField(_("result"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_automatically = models.BooleanField(default=False)
    lock_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "created_at", "id"]
        indexes = [
            models.Index(fields=["org_unit", "status"], name="cases_task_unit_status"),
            models.Index(fields=["assignee", "status"], name="cases_task_assignee_status"),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.name}"


class CaseEvent(models.Model):
    """One entry of a case's history. Append-only."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # "caseworker", "rule: <name>", "citizen", "system": who acted, also when the user is deleted later.
    actor_label = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=60)
    text = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    automatic = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Case events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Case events are append-only")


class CaseNote(models.Model):
    """An internal note of staff; never shown to the citizen."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case note")
        verbose_name_plural = _("case notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.body[:40]}"


class CaseMessage(models.Model):
    """A message between the city and the citizen (portal mailbox)."""

    class Direction(models.TextChoices):
        TO_CITIZEN = "to_citizen", _("to the citizen")
        FROM_CITIZEN = "from_citizen", _("from the citizen")

    class Kind(models.TextChoices):
        MESSAGE = "message", _("message")
        INFORMATION_REQUEST = "information_request", _("request for information")
        ANSWER = "answer", _("answer")
        DECISION = "decision", _("decision letter")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.MESSAGE)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    document = models.ForeignKey(
        "cases.CaseDocument", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    # For an information request: answered by which message (the citizen's answer).
    answered_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="answers_request"
    )
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case message")
        verbose_name_plural = _("case messages")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.subject


def document_path(instance: CaseDocument, filename: str) -> str:
    return f"cases/{instance.case.uuid}/{uuid.uuid4().hex}-{filename[-80:]}"


class CaseDocument(models.Model):
    class Kind(models.TextChoices):
        APPLICATION = "application", _("application")
        ATTACHMENT = "attachment", _("attachment")
        LETTER = "letter", _("decision letter")
        OTHER = "other", _("other document")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=300)
    file = models.FileField(upload_to=document_path, max_length=300)
    file_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    active_content = models.JSONField(
        default=list,
        blank=True,
        help_text="Markers of active content found in an uploaded PDF (javascript, launch, …); shown as a warning.",
    )
    visible_to_citizen = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_automatically = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("case document")
        verbose_name_plural = _("case documents")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


# The case webhooks' models live in their own module; imported here so that Django finds them.
from dikom.cases.webhooks.models import WebhookDelivery, WebhookSubscription  # noqa: E402

__all__ = [
    "Case",
    "CaseDocument",
    "CaseEvent",
    "CaseMessage",
    "CaseNote",
    "Task",
    "WebhookDelivery",
    "WebhookSubscription",
]
