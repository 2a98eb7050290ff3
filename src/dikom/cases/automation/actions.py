"""The only code that changes automation rules. Every change is audited.

Rules are checked on every save (:func:`check_rule`): the condition is
well-formed JSON-Logic over the documented data object, every action is of a
known type with its parameters, names a unit or a colleague of the same city,
a reachable status, a usable text template and an allowed webhook address.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from dikom.audit import actions as audit
from dikom.cases.automation import rules
from dikom.cases.automation.models import Rule, Trigger
from dikom.municipalities.models import Municipality

EDITABLE = ("name", "description", "trigger", "service_slug", "task_filter", "condition", "actions", "active")


def adopted_content(municipality: Municipality, service_slug: str) -> dict[str, Any] | None:
    """The definition the city runs for ``service_slug`` (None: every service, or not adopted)."""
    from dikom.eservices.models import Adoption

    if not service_slug:
        return None
    adoption = (
        Adoption.objects.filter(municipality=municipality, definition__slug=service_slug)
        .select_related("version")
        .first()
    )
    if adoption is None:
        return None
    content = adoption.version.content
    return content if isinstance(content, dict) else None


def check_rule(municipality: Municipality, fields: dict[str, Any]) -> None:
    """Raise ValidationError ({field: [messages]}) for a rule that cannot be saved."""
    errors: dict[str, list[str]] = {}
    if not str(fields.get("name") or "").strip():
        errors["name"] = [_("Please give the rule a name.")]
    trigger = fields.get("trigger")
    if trigger not in Trigger.values:
        errors["trigger"] = [_("Please choose when the rule runs.")]
    if fields.get("task_filter") and trigger not in {Trigger.TASK_COMPLETED, Trigger.DEADLINE_PASSED}:
        errors["task_filter"] = [_("Only rules on a completed task or a passed deadline can be limited to a task.")]
    service_slug = str(fields.get("service_slug") or "")
    content = adopted_content(municipality, service_slug)
    if service_slug and content is None:
        errors["service_slug"] = [_("%(city)s does not offer this online service.") % {"city": municipality.name}]
    condition_problems = rules.check_condition(fields.get("condition"), content)
    if condition_problems:
        errors["condition"] = condition_problems
    action_problems = rules.check_actions(fields.get("actions"), municipality, content)
    if action_problems:
        errors["actions"] = action_problems
    if errors:
        raise ValidationError(errors)


def _snapshot(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in EDITABLE}


def create_rule(*, municipality: Municipality, actor: Any, request: HttpRequest | None = None, **fields: Any) -> Rule:
    """A new rule (inactive unless ``active`` is given) with its own webhook signing secret."""
    from dikom.lib.webhooks import signing

    values = {name: fields.get(name) for name in EDITABLE if name in fields}
    values.setdefault("active", False)
    values.setdefault("description", "")
    values.setdefault("service_slug", "")
    values.setdefault("task_filter", "")
    check_rule(municipality, values)
    with transaction.atomic():
        rule = Rule.objects.create(
            municipality=municipality,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            webhook_secret=signing.new_secret(),
            **values,
        )
        audit.record(
            "automation.rule.create",
            actor=actor,
            municipality=municipality,
            obj=rule,
            changes={name: [None, value] for name, value in _snapshot(rule).items()},
            request=request,
        )
    return rule


def update_rule(rule: Rule, *, actor: Any, request: HttpRequest | None = None, **fields: Any) -> Rule:
    before = _snapshot(rule)
    after = {**before, **{name: fields[name] for name in EDITABLE if name in fields}}
    check_rule(rule.municipality, after)
    changes = {name: [before[name], after[name]] for name in EDITABLE if before[name] != after[name]}
    if not changes:
        return rule
    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).update(**{name: after[name] for name in changes})
        rule.refresh_from_db()
        audit.record(
            "automation.rule.update", actor=actor, municipality=rule.municipality, obj=rule, changes=changes,
            request=request,
        )  # fmt: skip
    return rule


def set_rule_active(rule: Rule, *, actor: Any, active: bool, request: HttpRequest | None = None) -> Rule:
    """Activate (checked again first: units or colleagues may be gone) or deactivate a rule."""
    if active:
        check_rule(rule.municipality, _snapshot(rule))
    if rule.active == active:
        return rule
    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).update(active=active)
        rule.refresh_from_db()
        audit.record(
            "automation.rule.activate" if active else "automation.rule.deactivate",
            actor=actor,
            municipality=rule.municipality,
            obj=rule,
            changes={"active": [not active, active]},
            request=request,
        )
    return rule


def rotate_webhook_secret(rule: Rule, *, actor: Any, request: HttpRequest | None = None) -> Rule:
    """A new signing secret for the rule's webhooks (the old one stops working at once)."""
    from dikom.lib.webhooks import signing

    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).update(webhook_secret=signing.new_secret())
        rule.refresh_from_db()
        audit.record(
            "automation.rule.rotate_secret", actor=actor, municipality=rule.municipality, obj=rule, request=request
        )
    return rule
