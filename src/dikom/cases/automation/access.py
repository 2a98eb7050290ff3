"""Who may see and change a city's automation rules. Written once, used by every view.

- Municipality administrators and process designers of the city manage rules
  (create, edit, activate, dry run) and read the whole log.
- Caseworkers of the city read the rules and the log of the cases they may see.
- Anyone without a role in the city gets 404 (the city's rules do not exist
  for them); staff of the city with another role get 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from dikom.accounts.access import roles_in
from dikom.accounts.roles import Role
from dikom.cases.automation.models import Rule, RuleExecution
from dikom.municipalities.models import Municipality

MANAGE_ROLES = frozenset({Role.MUNICIPALITY_ADMIN, Role.PROCESS_DESIGNER})
READ_ROLES = MANAGE_ROLES | {Role.CASEWORKER}


def get_municipality(user: Any, slug: str, *, manage: bool = False) -> Municipality:
    municipality = Municipality.objects.filter(slug=slug).first()
    if municipality is None:
        raise Http404
    held = roles_in(user, municipality)
    if not held:
        raise Http404
    if not held & (MANAGE_ROLES if manage else READ_ROLES):
        raise PermissionDenied
    return municipality


def can_manage(user: Any, municipality: Municipality) -> bool:
    return bool(roles_in(user, municipality) & MANAGE_ROLES)


def get_rule(user: Any, municipality: Municipality, rule_uuid: Any, *, manage: bool = False) -> Rule:
    if manage and not can_manage(user, municipality):
        raise PermissionDenied
    try:
        return Rule.objects.select_related("municipality").get(uuid=rule_uuid, municipality=municipality)
    except (Rule.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def visible_executions(user: Any, municipality: Municipality) -> QuerySet[RuleExecution]:
    """The log rows ``user`` may read: all of the city for managers, else those of the cases they see."""
    from dikom.cases.access import visible_cases

    rows = RuleExecution.objects.filter(rule__municipality=municipality)
    if can_manage(user, municipality):
        return rows
    if Role.CASEWORKER in roles_in(user, municipality):
        return rows.filter(case__in=visible_cases(user, municipality).values("pk"))
    return rows.none()
