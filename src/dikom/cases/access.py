"""Who may see and do what with cases. Everything not allowed is a 404.

- Municipality admins see every case of their city.
- Caseworkers see the cases of their city that their org units are responsible
  for or have (had) a task in, and cases with a task assigned to them; a
  caseworker membership without an org unit sees every case of the city.
- Citizens see only the cases of their own applications (portal).
- Another city's cases do not exist for anyone (404).
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from dikom.accounts.models import Membership, User
from dikom.accounts.roles import Role
from dikom.cases.models import Case, Task
from dikom.lib.prepared import PreparedQuery
from dikom.municipalities.models import Municipality, OrgUnit

CASE_ROLES = {Role.MUNICIPALITY_ADMIN, Role.CASEWORKER}

# Lookups every staff page of the cases makes, compiled once per thread and database
# (``dikom.lib.prepared``; issue 21): the same statements as the querysets below give.
_CITY = PreparedQuery(
    Municipality,
    lambda slug: Municipality.objects.filter(slug=slug)[:1],
    fields=(Municipality._meta.get_field("slug"),),
    samples=("\x00prepared-sample",),
)
_CASE_MEMBERSHIPS = PreparedQuery(
    Membership,
    lambda user_id, city_id: Membership.objects.filter(
        user_id=user_id, municipality_id=city_id, role__in=sorted(CASE_ROLES)
    ).select_related("org_unit"),
    fields=(Membership._meta.get_field("user"), Membership._meta.get_field("municipality")),
    samples=(-7001, -7002),
)


def _colleagues_of(city_id: int) -> QuerySet[Any]:
    return (
        User.objects.filter(
            memberships__municipality_id=city_id, memberships__role__in=sorted(CASE_ROLES), is_active=True
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


_COLLEAGUES = PreparedQuery(
    User, _colleagues_of, fields=(Membership._meta.get_field("municipality"),), samples=(-7003,)
)


# The case roles of a user in a city are read once per loaded user object, i.e. once per
# request: a case page asked for them ten times (issue 21).
_MEMO = "_case_memberships_by_city"
_UNITS_MEMO = "_case_units_by_city"


def _memberships(user: Any, municipality: Municipality) -> list[Membership]:
    if not getattr(user, "is_authenticated", False):
        return []
    memo = user.__dict__.setdefault(_MEMO, {})
    if municipality.pk not in memo:
        memo[municipality.pk] = _CASE_MEMBERSHIPS.all(user.pk, municipality.pk)
    return list(memo[municipality.pk])


def get_municipality_for_cases(user: Any, slug: str) -> Municipality:
    municipality = _CITY.first(slug)
    if municipality is None or not _memberships(user, municipality):
        raise Http404
    return municipality


def sees_whole_city(user: Any, municipality: Municipality) -> bool:
    return any(m.role == Role.MUNICIPALITY_ADMIN or m.org_unit_id is None for m in _memberships(user, municipality))


def unit_ids(user: Any, municipality: Municipality) -> set[int]:
    """The user's org units in this city and every unit below them (read once per loaded user)."""
    memo = user.__dict__.setdefault(_UNITS_MEMO, {}) if getattr(user, "is_authenticated", False) else {}
    if municipality.pk not in memo:
        memo[municipality.pk] = frozenset(_unit_ids(user, municipality))
    return set(memo[municipality.pk])


_UNIT_TREE = PreparedQuery(
    OrgUnit,
    lambda city_id: OrgUnit.objects.filter(municipality_id=city_id).order_by().values_list("pk", "parent_id"),
    fields=(OrgUnit._meta.get_field("municipality"),),
    samples=(-7006,),
)


def _unit_ids(user: Any, municipality: Municipality) -> set[int]:
    """The roots and every unit of the city below them: the city's tree read in one statement (a
    city has dozens of units, not thousands), then walked level by level as before."""
    roots = {m.org_unit_id for m in _memberships(user, municipality) if m.org_unit_id is not None}
    if not roots:
        return set()
    children_of: dict[int, set[int]] = {}
    for pk, parent_id in _UNIT_TREE.rows(municipality.pk):
        if parent_id is not None:
            children_of.setdefault(parent_id, set()).add(pk)
    found = set(roots)
    frontier = set(roots)
    while frontier:
        children = set().union(*(children_of.get(pk, set()) for pk in frontier))
        frontier = children - found
        found |= children
    return found


def visible_cases(user: Any, municipality: Municipality) -> QuerySet[Case]:
    cases = Case.objects.filter(municipality=municipality)
    if not _memberships(user, municipality):
        return cases.none()
    if sees_whole_city(user, municipality):
        return cases
    units = unit_ids(user, municipality)
    # A subquery, not a join with the tasks: a join needs DISTINCT over whole case rows (their
    # BPMN XML and state included), and counting that for the inbox took most of its time at
    # 10 000 open cases (issue 21).
    with_my_tasks = Task.objects.filter(Q(org_unit_id__in=units) | Q(assignee=user)).values("case_id")
    return cases.filter(Q(org_unit_id__in=units) | Q(pk__in=with_my_tasks))


def get_case_for_staff(user: Any, municipality: Municipality, case_uuid: Any) -> Case:
    try:
        key = uuid_module.UUID(str(case_uuid))
    except ValueError as exc:
        raise Http404 from exc
    case = visible_cases(user, municipality).filter(uuid=key).select_related("application", "org_unit").first()
    if case is None:
        raise Http404
    return case


def may_work_on_task(user: Any, task: Task) -> bool:
    """Claim, complete or hand over: the assignee, or anyone of the task's unit while it is unassigned; admins."""
    memberships = _memberships(user, task.case.municipality)
    if not memberships:
        return False
    if any(m.role == Role.MUNICIPALITY_ADMIN for m in memberships):
        return True
    if task.assignee_id is not None:
        return bool(task.assignee_id == user.pk)
    if task.org_unit_id is None or sees_whole_city(user, task.case.municipality):
        return True
    return task.org_unit_id in unit_ids(user, task.case.municipality)


def may_manage_case(user: Any, municipality: Municipality, case: Case, open_tasks: list[Task]) -> bool:
    """Case-wide steps (request information, consult, decide, close): the responsible unit, the
    units working on the case's own process, and whoever decided or signed off the case (so the
    caseworker who decided can also close it, after the decision ended the open tasks). A
    consulted unit only answers its consultation."""
    if not _memberships(user, municipality):
        return False
    if sees_whole_city(user, municipality):
        return True
    user_pk = getattr(user, "pk", None)
    if user_pk is not None and user_pk in {case.decided_by_id, case.signed_off_by_id}:
        return True
    units = unit_ids(user, municipality)
    if case.org_unit_id is not None and case.org_unit_id in units:
        return True
    return any(
        t.kind == Task.Kind.WORKFLOW
        and (t.assignee_id == user_pk or (t.assignee_id is None and t.org_unit_id in units))
        for t in open_tasks
    )


def get_task_for_staff(user: Any, municipality: Municipality, task_uuid: Any) -> Task:
    try:
        key = uuid_module.UUID(str(task_uuid))
    except ValueError as exc:
        raise Http404 from exc
    task = Task.objects.filter(uuid=key, case__municipality=municipality).select_related("case").first()
    if task is None or not visible_cases(user, municipality).filter(pk=task.case_id).exists():
        raise Http404
    return task


def colleagues(municipality: Municipality) -> QuerySet[Any]:
    """Staff a task may be assigned to: caseworkers and admins of the city."""
    return _colleagues_of(municipality.pk)


def colleague_list(municipality: Municipality) -> list[Any]:
    """``list(colleagues(municipality))`` with the statement compiled once per thread (issue 21)."""
    return _COLLEAGUES.all(municipality.pk)


def get_case_for_citizen(user: Any, case_uuid: Any) -> Case:
    try:
        key = uuid_module.UUID(str(case_uuid))
    except ValueError as exc:
        raise Http404 from exc
    if not getattr(user, "is_authenticated", False):
        raise Http404
    case = Case.objects.filter(uuid=key, application__citizen=user).select_related("municipality").first()
    if case is None:
        raise Http404
    return case


# --- The case API (dikom.cases.api): API keys of specialist procedures and signed-in staff ---------
#
# An API key belongs to one city: with ``cases:read`` it sees every case of that city (a
# specialist procedure works for the whole city, like its administrators), with
# ``cases:write`` it may complete tasks, add documents and record decisions. Another city's
# case does not exist for it (404). A signed-in person sees and does exactly what the web
# pages allow (``visible_cases``, ``may_work_on_task``, ``may_manage_case``).


def is_api_key(principal: Any) -> bool:
    from dikom.accounts.service import ApiKeyUser

    return isinstance(principal, ApiKeyUser)


class ProcedureActor:
    """A specialist procedure acting through an API key, as the actions see it: not a person.

    The case history names the key ("Fachverfahren „…“ (Schlüssel …)"), the audit log
    records it as an API call with the key's prefix, no user is stored as decider or
    completer, and a required second sign-off still needs a person.
    """

    is_authenticated = False
    pk = None

    def __init__(self, principal: Any) -> None:
        self.api_key = principal.api_key

    def get_full_name(self) -> str:
        from django.utils.translation import gettext

        return gettext("Specialist procedure “%(name)s” (key %(prefix)s)") % {
            "name": self.api_key.name,
            "prefix": self.api_key.prefix,
        }

    def get_username(self) -> str:
        return f"api-key:{self.api_key.prefix}"


def actor_for(principal: Any) -> Any:
    """Who the actions record for ``principal``: the person, or the key as a :class:`ProcedureActor`."""
    return ProcedureActor(principal) if is_api_key(principal) else principal


def require_scope(principal: Any, scope: str) -> None:
    """403 for an API key without ``scope`` (people are checked by their roles instead)."""
    from django.core.exceptions import PermissionDenied
    from django.utils.translation import gettext

    if is_api_key(principal) and not principal.has_scope(scope):
        raise PermissionDenied(
            gettext("This API key lacks the scope “%(scope)s” that this endpoint needs.") % {"scope": scope}
        )


def api_visible_cases(principal: Any, municipality: Municipality) -> QuerySet[Case]:
    if is_api_key(principal):
        if principal.municipality.pk != municipality.pk:
            return Case.objects.none()
        return Case.objects.filter(municipality=municipality)
    return visible_cases(principal, municipality)


def get_case_for_api(principal: Any, case_uuid: Any) -> Case:
    """The case ``case_uuid`` if ``principal`` may see it; 404 otherwise (also for another city's case)."""
    try:
        key = uuid_module.UUID(str(case_uuid))
    except ValueError as exc:
        raise Http404 from exc
    cases = Case.objects.select_related("municipality", "application", "org_unit")
    if is_api_key(principal):
        case = cases.filter(uuid=key, municipality_id=principal.municipality.pk).first()
    else:
        case = cases.filter(uuid=key).first()
        if case is not None and not visible_cases(principal, case.municipality).filter(pk=case.pk).exists():
            case = None
    if case is None:
        raise Http404
    return case


def may_work_on_task_api(principal: Any, task: Task) -> bool:
    """Complete a task: an API key with ``cases:write`` (checked by ``require_scope``), or a person who may on the web pages."""
    if is_api_key(principal):
        return task.case.municipality_id == principal.municipality.pk
    return may_work_on_task(principal, task)


def may_manage_case_api(principal: Any, case: Case) -> bool:
    """Decide or add documents: an API key of the case's city, or a person who may manage the case on the web pages."""
    if is_api_key(principal):
        return bool(case.municipality_id == principal.municipality.pk)
    open_tasks = list(case.tasks.filter(status=Task.Status.OPEN))
    return may_manage_case(principal, case.municipality, case, open_tasks)


def can_manage_webhooks(user: Any, municipality: Municipality) -> bool:
    from dikom.accounts.access import has_role

    if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
        return True
    return has_role(user, municipality, [Role.MUNICIPALITY_ADMIN])


def get_municipality_for_webhooks(user: Any, slug: str) -> Municipality:
    """The city whose case webhooks ``user`` manages: its administrators (and platform admins); others 404."""
    municipality = _CITY.first(slug)
    if municipality is None:
        raise Http404
    if not can_manage_webhooks(user, municipality):
        raise Http404
    return municipality
