"""Automation rules of a city and the log of their executions.

- :class:`Rule` — *when* (a trigger, optionally only for one service or task)
  *if* (a JSON-Logic condition over the case's data object) *then* (an ordered
  list of actions). Rules are data, never code: the condition is evaluated by
  the safe evaluator of the service definitions, the actions are a fixed
  vocabulary (``dikom.cases.automation.rules``).
- :class:`RuleExecution` — one execution of one rule for one event of one case
  (or one case of a dry run). Real executions are unique per event
  (``rule, case, trigger, occurrence``) once they are *final*; a retried
  background task therefore never runs a rule twice for the same event.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Trigger(models.TextChoices):
    SUBMITTED = "submitted", _("application submitted")
    TASK_COMPLETED = "task_completed", _("task completed")
    DEADLINE_PASSED = "deadline_passed", _("deadline passed")
    PAYMENT_RECEIVED = "payment_received", _("payment received")


class Rule(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        "municipalities.Municipality",
        verbose_name=_("municipality"),
        on_delete=models.PROTECT,
        related_name="automation_rules",
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=False)
    trigger = models.CharField(_("when"), max_length=24, choices=Trigger.choices)
    # Empty: every service of the city.
    service_slug = models.CharField(_("online service"), max_length=80, blank=True)
    # Task triggers only: the task's BPMN id or its name; empty: every task.
    task_filter = models.CharField(_("task"), max_length=200, blank=True)
    # JSON-Logic over the data object (docs/automation.md); null: always.
    condition = models.JSONField(_("condition"), null=True, blank=True)
    actions = models.JSONField(_("actions"), default=list)
    # HMAC key of the call_webhook action (Standard Webhooks format, "whsec_…").
    webhook_secret = models.CharField(max_length=100, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["municipality", "trigger", "active"], name="automation_rule_lookup")]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """How the rule appears as the actor in the case history, the audit log and the letter."""
        return f"Regel: {self.name}"[:200]


class RuleExecution(models.Model):
    class Outcome(models.TextChoices):
        NOT_MATCHED = "not_matched", _("condition not met")
        DONE = "done", _("actions performed")
        REFUSED = "refused", _("refused, nothing changed")
        FAILED = "failed", _("failed, nothing changed")

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="executions")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="rule_executions")
    trigger = models.CharField(max_length=24, choices=Trigger.choices)
    # Which event of the trigger: "case", "task:<id>", "payment:<id>", "timer:<event id>".
    occurrence = models.CharField(max_length=100)
    dry_run = models.BooleanField(_("dry run"), default=False)
    matched = models.BooleanField(_("condition met"), default=False)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    # [{"type": ..., "outcome": "done" | "planned" | "refused" | "skipped", "text": ...}]
    actions_performed = models.JSONField(default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    # False only for a failed attempt that the worker will try again.
    final = models.BooleanField(default=True)
    attempt = models.PositiveIntegerField(default=1)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))

    class Meta:
        verbose_name = _("rule execution")
        verbose_name_plural = _("rule executions")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "case", "trigger", "occurrence"],
                condition=models.Q(dry_run=False, final=True),
                name="automation_execution_once_per_event",
            ),
        ]
        indexes = [models.Index(fields=["rule", "-started_at"], name="automation_execution_rule")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.case_id} {self.trigger} {self.outcome}"

    def action_rows(self) -> list[dict[str, Any]]:
        return [row for row in self.actions_performed if isinstance(row, dict)]
