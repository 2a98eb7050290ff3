"""The staff pages' lookups compiled once per thread (``dikom.lib.prepared``, issue 21, item 4) give
the ORM's objects and rows, in the ORM's order, for two cities (Fulda, Gießen), their units and
caseworkers, an administrator, an inactive colleague and a user of both cities."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Model

from dikom.accounts import access as accounts_access
from dikom.accounts.models import Membership
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import access
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.views import common
from dikom.municipalities.models import Municipality, OrgUnit

pytestmark = pytest.mark.django_db


def _values(obj: Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.fixture
def people(city_a: Any, city_b: Any, owner: Any, outsider: Any, worker_a: Any, worker_a2: Any, worker_b: Any,
           unit_giessen: Any) -> list[Any]:  # fmt: skip
    inactive = MembershipFactory(user__username="former", user__is_active=False, municipality=city_a,
                                 role=Role.CASEWORKER).user  # fmt: skip
    both = MembershipFactory(user__username="both", user__last_name="Beide", municipality=city_b,
                             role=Role.CASEWORKER, org_unit=unit_giessen).user  # fmt: skip
    MembershipFactory(user=both, municipality=city_a, role=Role.MUNICIPALITY_ADMIN)
    MembershipFactory(user=both, municipality=city_a, role=Role.ANALYST)
    return [owner, outsider, worker_a, worker_a2, worker_b, inactive, both]


def test_cities_memberships_colleagues_and_units_are_the_orm_s(people: list[Any], city_a: Any, city_b: Any) -> None:
    cities = [city_a, city_b]
    for city in cities:
        found = access._CITY.first(city.slug)
        assert found is not None and _values(found) == _values(Municipality.objects.filter(slug=city.slug).first())
        colleagues = access.colleague_list(city)
        assert [_values(u) for u in colleagues] == [_values(u) for u in access.colleagues(city)]
        assert colleagues and all(u.is_active for u in colleagues)
        units = list(OrgUnit.objects.filter(municipality=city).order_by("name").values_list("uuid", "name"))
        assert common._UNITS.rows(city.pk) == units and units
        for user in people:
            orm = list(
                Membership.objects.filter(user=user, municipality=city, role__in=access.CASE_ROLES).select_related(
                    "org_unit"
                )
            )
            read = access._CASE_MEMBERSHIPS.all(user.pk, city.pk)
            assert [_values(m) for m in read] == [_values(m) for m in orm]
            assert [m.org_unit and _values(m.org_unit) for m in read] == [
                m.org_unit and _values(m.org_unit) for m in orm
            ]
    assert access._CITY.first("no-such-city") is None
    for city in cities:
        read = accounts_access._CITY_WITH_DISTRICT.all(city.slug)
        orm = Municipality.objects.select_related("district").get(slug=city.slug)
        assert [(_values(m), _values(m.district)) for m in read] == [(_values(orm), _values(orm.district))]
    assert accounts_access._CITY_WITH_DISTRICT.all("no-such-city") == []
    fulda_names = {u.username for u in access.colleague_list(city_a)}
    assert "outsider" not in fulda_names and "former" not in fulda_names and "both" in fulda_names
    for user in people:
        orm = list(
            Membership.objects.filter(user=user)
            .select_related("municipality")
            .order_by("municipality__name", "municipality_id", "role")
        )
        read = accounts_access._MEMBERSHIPS.all(user.pk)
        assert [(_values(m), _values(m.municipality)) for m in read] == [
            (_values(m), _values(m.municipality)) for m in orm
        ]
    both = next(u for u in people if u.username == "both")
    assert [m.slug for m in accounts_access.membership_municipalities(both)] == ["fulda", "giessen"]


def _unit_ids_before(user: Any, municipality: Any) -> set[int]:
    """``cases.access._unit_ids`` as it was at commit 601aedb: one statement per level of the tree."""
    roots = {m.org_unit_id for m in access._memberships(user, municipality) if m.org_unit_id is not None}
    found = set(roots)
    frontier = set(roots)
    while frontier:
        children = set(
            OrgUnit.objects.filter(parent_id__in=frontier, municipality=municipality).values_list("pk", flat=True)
        )
        frontier = children - found
        found |= children
    return found


def test_the_units_below_a_member_s_unit_are_the_ones_found_level_by_level(
    people: list[Any], city_a: Any, city_b: Any, unit_a: Any, unit_giessen: Any, worker_a: Any
) -> None:
    from dikom.accounts.models import User
    from dikom.municipalities.tests.factories import OrgUnitFactory

    child = OrgUnitFactory(municipality=city_a, name="Sachgebiet", parent=unit_a)
    grandchild = OrgUnitFactory(municipality=city_a, name="Team", parent=child)
    OrgUnitFactory(municipality=city_a, name="Ur-Enkel", parent=grandchild)
    OrgUnitFactory(municipality=city_b, name="Gießener Team", parent=unit_giessen)
    for user in people:
        for city in (city_a, city_b):
            fresh = User.objects.get(pk=user.pk)
            expected = _unit_ids_before(User.objects.get(pk=user.pk), city)
            assert access.unit_ids(fresh, city) == expected
    below = access.unit_ids(User.objects.get(pk=worker_a.pk), city_a)
    assert {unit_a.pk, child.pk, grandchild.pk} <= below and unit_giessen.pk not in below
