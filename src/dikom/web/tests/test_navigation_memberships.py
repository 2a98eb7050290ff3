"""The staff navigation reads the user's memberships once per request, with the access checks
(issue 21, item 4): the same navigation as the two statements before gave, one statement at most,
none after an access check, and a role changed between two requests shows in the second.

``_navigation_before`` is ``navigation_for`` as it was at commit 601aedb (its municipalities from
``staff_municipalities``, the roles from ``roles_in``'s statement), kept here as the reference.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dikom.accounts import access
from dikom.accounts.models import Membership, User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory, UserFactory
from dikom.municipalities.models import Municipality
from dikom.municipalities.tests.factories import MunicipalityFactory
from dikom.web.context_processors import Navigation, navigation_for

pytestmark = pytest.mark.django_db


def _roles_before(user: Any) -> dict[int, set[str]]:
    roles: dict[int, set[str]] = {}
    for m_id, role in Membership.objects.filter(user=user).values_list("municipality_id", "role"):
        roles.setdefault(m_id, set()).add(role)
    return roles


def _navigation_before(user: Any) -> Navigation:
    if not getattr(user, "is_authenticated", False):
        return Navigation(kind="anonymous")
    is_platform_admin = bool(user.is_active and user.is_superuser)
    if is_platform_admin:
        municipalities = list(Municipality.objects.filter(memberships__user=user).distinct())
    else:
        municipalities = list(access.staff_municipalities(user))
    roles = _roles_before(user)

    def of(m: Municipality) -> set[str]:
        return roles.get(m.pk, set())

    return Navigation(
        kind="staff" if is_platform_admin or municipalities else "citizen",
        is_platform_admin=is_platform_admin,
        admin_municipalities=[m for m in municipalities if Role.MUNICIPALITY_ADMIN in of(m)],
        analytics_municipalities=[m for m in municipalities if of(m) & {Role.ANALYST, Role.MUNICIPALITY_ADMIN}],
        case_municipalities=[m for m in municipalities if of(m) & {Role.CASEWORKER, Role.MUNICIPALITY_ADMIN}],
    )


def _fresh(user: User) -> User:
    """The user as a new request loads it (no memo)."""
    return User.objects.get(pk=user.pk)


def _plain(nav: Navigation) -> tuple[Any, ...]:
    return (
        nav.kind,
        nav.is_platform_admin,
        [m.slug for m in nav.admin_municipalities],
        [m.slug for m in nav.analytics_municipalities],
        [m.slug for m in nav.case_municipalities],
    )


@pytest.fixture
def users(city_a: Municipality, city_b: Municipality, owner: User, colleague: User, outsider: User) -> list[User]:
    third = MunicipalityFactory(name="Alsfeld", slug="alsfeld")
    many = UserFactory(username="many")
    for city, role in [
        (city_b, Role.ANALYST),
        (city_b, Role.CASEWORKER),
        (city_a, Role.PROCESS_DESIGNER),
        (third, Role.MUNICIPALITY_ADMIN),
        (third, Role.ANALYST),
    ]:
        MembershipFactory(user=many, municipality=city, role=role)
    analyst = MembershipFactory(user__username="analyst", municipality=city_a, role=Role.ANALYST).user
    admin_with_city = UserFactory(username="root1", is_superuser=True, is_staff=True)
    MembershipFactory(user=admin_with_city, municipality=city_b, role=Role.CASEWORKER)
    return [
        owner,
        colleague,
        outsider,
        many,
        analyst,
        admin_with_city,
        UserFactory(username="root2", is_superuser=True, is_staff=True),
        UserFactory(username="inactive-root", is_superuser=True, is_active=False),
        UserFactory(username="citizen2"),
    ]


def test_the_navigation_is_the_one_of_the_two_statements(users: list[User]) -> None:
    for user in users:
        expected = _plain(_navigation_before(_fresh(user)))
        assert _plain(navigation_for(_fresh(user))) == expected, user.username
        checked = _fresh(user)
        access.roles_in(checked, 1)  # an access check first: the navigation reuses what it read
        assert _plain(navigation_for(checked)) == expected, user.username
    many = next(u for u in users if u.username == "many")
    nav = navigation_for(_fresh(many))
    assert [m.slug for m in nav.analytics_municipalities] == ["alsfeld", "giessen"]  # by name
    assert [m.slug for m in nav.case_municipalities] == ["alsfeld", "giessen"]  # administrator, caseworker
    assert [m.slug for m in nav.admin_municipalities] == ["alsfeld"]  # a designer role in Fulda: none of these


def test_one_statement_and_none_after_an_access_check(owner: User, city_a: Municipality) -> None:
    user = _fresh(owner)
    with CaptureQueriesContext(connection) as alone:
        navigation_for(user)
    assert len(alone.captured_queries) == 1
    user = _fresh(owner)
    assert access.roles_in(user, city_a) == {Role.MUNICIPALITY_ADMIN}
    with CaptureQueriesContext(connection) as after_check:
        nav = navigation_for(user)
    assert len(after_check.captured_queries) == 0 and [m.slug for m in nav.admin_municipalities] == ["fulda"]


def test_a_role_changed_between_two_requests_shows_at_once(
    colleague: User, city_a: Municipality, city_b: Municipality, login: Any
) -> None:
    client = login(Client(), colleague)
    nav = client.get("/vorgaenge/fulda/").content.decode()
    assert 'href="/vorgaenge/"' in nav and 'href="/analytics/"' not in nav and "/verwaltung/fulda/" not in nav
    Membership.objects.filter(user=colleague).update(role=Role.MUNICIPALITY_ADMIN)
    MembershipFactory(user=colleague, municipality=city_b, role=Role.ANALYST)
    page = client.get("/dienste/").content.decode()
    assert 'href="/verwaltung/fulda/"' in page and 'href="/analytics/"' in page
    Membership.objects.filter(user=colleague).delete()
    page = client.get("/").content.decode()
    assert "/verwaltung/fulda/" not in page and 'href="/vorgaenge/"' not in page
