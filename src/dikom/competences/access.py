"""Who may see and change what in roadMAP: written once, used by every view.

- A person's assessments, gaps and evidence: the person, their line managers
  (heads of their org unit or of a unit above it, in the same city) and the
  city's HR role. Nobody else, not even the city's administrators or the
  platform administrators. Anyone else gets 404, as if the person were not in
  roadMAP.
- Confirming or correcting an assessment: the line managers only.
- A city's heat map (aggregates, cells under five people hidden): HR and
  municipality administrators of the city; a line manager for the units they
  head. Staff of other cities: 404.
- Frameworks: every staff member reads the cooperation's frameworks and those
  of their cities; HR and administrators of a city import into it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from dikom.accounts.access import roles_in, staff_municipalities
from dikom.accounts.roles import Role
from dikom.competences.models import Framework, FrameworkVersion, RoleProfile, StaffProfile, UnitManager
from dikom.municipalities.models import Municipality, OrgUnit

HR_ROLES = frozenset({Role.HUMAN_RESOURCES})
CITY_OVERVIEW_ROLES = frozenset({Role.HUMAN_RESOURCES, Role.MUNICIPALITY_ADMIN})
FRAMEWORK_EDITOR_ROLES = frozenset({Role.HUMAN_RESOURCES, Role.MUNICIPALITY_ADMIN})


def _authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def managed_unit_ids(user: Any, municipality_id: int) -> set[int]:
    """Ids of the units ``user`` heads in the city, with all units below them."""
    if not _authenticated(user):
        return set()
    heads = set(
        UnitManager.objects.filter(user=user, org_unit__municipality_id=municipality_id).values_list(
            "org_unit_id", flat=True
        )
    )
    if not heads:
        return set()
    children: dict[int, list[int]] = {}
    for unit_id, parent_id in OrgUnit.objects.filter(municipality_id=municipality_id).values_list("id", "parent_id"):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(unit_id)
    result: set[int] = set()
    stack = list(heads)
    while stack:
        unit_id = stack.pop()
        if unit_id in result:
            continue
        result.add(unit_id)
        stack.extend(children.get(unit_id, []))
    return result


def is_manager_of(user: Any, staff: StaffProfile) -> bool:
    if not _authenticated(user) or staff.user_id == user.pk or staff.org_unit_id is None:
        return False
    return staff.org_unit_id in managed_unit_ids(user, staff.municipality_id)


def is_hr_of(user: Any, municipality: Municipality | int) -> bool:
    return _authenticated(user) and bool(roles_in(user, municipality) & HR_ROLES)


def can_view_person(user: Any, staff: StaffProfile) -> bool:
    if not _authenticated(user):
        return False
    if staff.user_id == user.pk:
        return True
    return is_hr_of(user, staff.municipality_id) or is_manager_of(user, staff)


def get_staff_for_viewer(user: Any, staff_uuid: Any) -> StaffProfile:
    """The staff member's roadMAP record if ``user`` may see their assessments, else 404."""
    staff = (
        StaffProfile.objects.select_related("user", "municipality", "org_unit", "role_profile__framework_version")
        .filter(uuid=staff_uuid)
        .first()
    )
    if staff is None or not can_view_person(user, staff):
        raise Http404
    return staff


def get_staff_for_manager(user: Any, staff_uuid: Any) -> StaffProfile:
    """For confirming and correcting: 404 for those who may not see the person, 403 for HR and the person."""
    staff = get_staff_for_viewer(user, staff_uuid)
    if not is_manager_of(user, staff):
        raise PermissionDenied
    return staff


def own_staff_profiles(user: Any) -> QuerySet[StaffProfile]:
    if not _authenticated(user):
        return StaffProfile.objects.none()
    return StaffProfile.objects.filter(user=user).select_related(
        "municipality", "org_unit", "role_profile__framework_version"
    )


def managed_staff(user: Any) -> list[StaffProfile]:
    """The people whose assessments ``user`` reviews as line manager (all their cities)."""
    if not _authenticated(user):
        return []
    people: list[StaffProfile] = []
    cities = set(UnitManager.objects.filter(user=user).values_list("org_unit__municipality_id", flat=True))
    for municipality_id in sorted(cities):
        units = managed_unit_ids(user, municipality_id)
        people.extend(
            StaffProfile.objects.filter(municipality_id=municipality_id, org_unit_id__in=units)
            .exclude(user=user)
            .select_related("user", "org_unit", "role_profile")
            .order_by("user__last_name", "user__first_name")
        )
    return people


def get_municipality_for_overview(user: Any, slug: str) -> tuple[Municipality, set[int] | None]:
    """The city whose heat map ``user`` may read, and the unit ids they are limited to (None: all).

    404 for people without a role in the city, 403 for its staff who neither
    hold an overview role nor head a unit.
    """
    municipality = Municipality.objects.filter(slug=slug).first()
    if municipality is None or not _authenticated(user):
        raise Http404
    held = roles_in(user, municipality)
    if not held:
        raise Http404
    if held & CITY_OVERVIEW_ROLES:
        return municipality, None
    units = managed_unit_ids(user, municipality.pk)
    if not units:
        raise PermissionDenied
    return municipality, units


def overview_municipalities(user: Any) -> list[Municipality]:
    """Cities whose heat map the user may open (for navigation)."""
    cities = list(staff_municipalities(user)) if _authenticated(user) else []
    managed = set(UnitManager.objects.filter(user=user).values_list("org_unit__municipality_id", flat=True))
    return [m for m in cities if roles_in(user, m) & CITY_OVERVIEW_ROLES or m.pk in managed]


def visible_frameworks(user: Any) -> QuerySet[Framework]:
    if not _authenticated(user):
        return Framework.objects.none()
    cities = staff_municipalities(user).values("pk")
    return Framework.objects.filter(Q(municipality__isnull=True) | Q(municipality__in=cities))


def get_framework_version(user: Any, version_uuid: Any) -> FrameworkVersion:
    version = (
        FrameworkVersion.objects.select_related("framework__municipality")
        .filter(uuid=version_uuid, framework__in=visible_frameworks(user))
        .first()
    )
    if version is None:
        raise Http404
    return version


def get_municipality_for_framework_import(user: Any, slug: str) -> Municipality:
    municipality = Municipality.objects.filter(slug=slug).first()
    if municipality is None or not _authenticated(user):
        raise Http404
    held = roles_in(user, municipality)
    if not held:
        raise Http404
    if not held & FRAMEWORK_EDITOR_ROLES:
        raise PermissionDenied
    return municipality


def framework_import_municipalities(user: Any) -> list[Municipality]:
    if not _authenticated(user):
        return []
    return [m for m in staff_municipalities(user) if roles_in(user, m) & FRAMEWORK_EDITOR_ROLES]


def visible_profiles(user: Any) -> QuerySet[RoleProfile]:
    """Role profiles of the user's cities and those other cities share with the cooperation."""
    if not _authenticated(user):
        return RoleProfile.objects.none()
    cities = staff_municipalities(user).values("pk")
    return RoleProfile.objects.filter(Q(municipality__in=cities) | Q(shared=True)).select_related(
        "municipality", "framework_version__framework"
    )


def is_staff(user: Any) -> bool:
    return _authenticated(user) and staff_municipalities(user).exists()


# --- qualification programme and expert directory -------------------------------------------------
#
# - The training catalogue and the expert directory: every staff member of every member city.
# - Offering a training for a city: its HR and administrators.
# - The participant list of a training: the offering city's HR and administrators see everyone
#   (they run it); for trainings of the whole cooperation each city's HR sees its own staff.
#   Nobody sees a participant's assessments through a training.


def training_municipalities(user: Any) -> list[Municipality]:
    """Cities for which ``user`` may offer trainings."""
    return framework_import_municipalities(user)


def get_municipality_for_training(user: Any, slug: str) -> Municipality:
    return get_municipality_for_framework_import(user, slug)


def get_training(user: Any, training_uuid: Any) -> Any:
    from dikom.competences.models import Training

    if not is_staff(user):
        raise Http404
    training = (
        Training.objects.select_related("offered_by", "framework_version__framework").filter(uuid=training_uuid).first()
    )
    if training is None:
        raise Http404
    return training


def participants_visible_to(user: Any, training: Any) -> Any:
    """The enrolments of ``training`` that ``user`` organises (none for ordinary staff)."""
    from dikom.competences.models import Enrolment

    enrolments = Enrolment.objects.filter(training=training).select_related("staff__user", "staff__municipality")
    if not _authenticated(user):
        return enrolments.none()
    if training.offered_by_id is not None:
        if roles_in(user, training.offered_by_id) & FRAMEWORK_EDITOR_ROLES or user.is_superuser:
            return enrolments
        return enrolments.none()
    if user.is_superuser:
        return enrolments
    cities = [m.pk for m in framework_import_municipalities(user)]
    return enrolments.filter(staff__municipality_id__in=cities)


def roadmap_municipalities(user: Any) -> list[Municipality]:
    """Cities whose whole roadMAP (all departments, PDF) the user may read: HR and administrators."""
    if not _authenticated(user):
        return []
    return [m for m in staff_municipalities(user) if roles_in(user, m) & CITY_OVERVIEW_ROLES]


# --- approval of enrolments -------------------------------------------------------------------------
#
# An enrolment request goes to the person's line managers: the heads of the nearest unit at or
# above the person's unit that has a head (not the person themselves). Only where nobody heads
# any unit above the person (or they belong to no unit) does the city's HR decide instead.
# Nobody of another city ever decides (or sees the request).


def _unit_chain(org_unit_id: int | None, municipality_id: int) -> list[int]:
    if org_unit_id is None:
        return []
    parents = dict(OrgUnit.objects.filter(municipality_id=municipality_id).values_list("id", "parent_id"))
    chain: list[int] = []
    current: int | None = org_unit_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def line_managers_of(staff: StaffProfile) -> list[Any]:
    """The users who head the nearest unit above ``staff`` (including their own unit) that has a head."""
    heads: dict[int, list[Any]] = {}
    for manager in UnitManager.objects.filter(org_unit__municipality_id=staff.municipality_id).select_related("user"):
        if manager.user_id != staff.user_id and manager.user.is_active:
            heads.setdefault(manager.org_unit_id, []).append(manager.user)
    for unit_id in _unit_chain(staff.org_unit_id, staff.municipality_id):
        if heads.get(unit_id):
            return heads[unit_id]
    return []


def approvers_of(staff: StaffProfile) -> list[Any]:
    """Who decides on ``staff``'s enrolment requests: line managers, else the city's HR."""
    managers = line_managers_of(staff)
    if managers:
        return managers
    from dikom.accounts.models import User

    return list(
        User.objects.filter(
            is_active=True,
            memberships__municipality_id=staff.municipality_id,
            memberships__role__in=list(HR_ROLES),
        )
        .exclude(pk=staff.user_id)
        .distinct()
    )


def can_approve(user: Any, staff: StaffProfile) -> bool:
    if not _authenticated(user) or staff.user_id == user.pk:
        return False
    if is_manager_of(user, staff):
        return True
    return is_hr_of(user, staff.municipality_id) and not line_managers_of(staff)


def pending_approvals(user: Any) -> list[Any]:
    """Enrolment requests ``user`` decides on (their own city's staff only), oldest first."""
    from dikom.competences.models import Enrolment

    if not _authenticated(user):
        return []
    cities = set(UnitManager.objects.filter(user=user).values_list("org_unit__municipality_id", flat=True))
    cities |= {m.pk for m in staff_municipalities(user) if roles_in(user, m) & HR_ROLES}
    requests = (
        Enrolment.objects.filter(status=Enrolment.Status.REQUESTED, staff__municipality_id__in=cities)
        .select_related("staff__user", "staff__municipality", "staff__org_unit", "training__offered_by")
        .order_by("created_at", "id")
    )
    return [e for e in requests if can_approve(user, e.staff)]


def get_enrolment_for_approver(user: Any, enrolment_uuid: Any) -> Any:
    """A request ``user`` decides on, else 404 (also for other cities' requests)."""
    from dikom.competences.models import Enrolment

    enrolment = (
        Enrolment.objects.select_related("staff__user", "staff__municipality", "training")
        .filter(uuid=enrolment_uuid)
        .first()
    )
    if enrolment is None or not can_approve(user, enrolment.staff):
        raise Http404
    return enrolment
