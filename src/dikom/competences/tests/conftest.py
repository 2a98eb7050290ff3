"""roadMAP fixtures: a unit of Fulda (city_a) with its head, a clerk in it, HR, and DigComp."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.competences import actions
from dikom.competences.models import Framework, FrameworkVersion, RoleProfile, StaffProfile
from dikom.municipalities.models import Municipality, OrgUnit

REQUIREMENTS = {"1.1": 4, "4.2": 5, "2.4": 3}


@pytest.fixture
def digcomp(db: Any) -> FrameworkVersion:
    actions.install_builtin_frameworks()
    return Framework.objects.get(key="digcomp-2.2", municipality=None).versions.get()


def staff_user(municipality: Municipality, username: str, role: str = Role.STAFF_MEMBER) -> User:
    return MembershipFactory(
        user__username=username, user__first_name=username.title(), municipality=municipality, role=role
    ).user


@dataclass
class Team:
    unit: OrgUnit
    profile: RoleProfile
    clerk: StaffProfile
    manager: User
    hr: User


def make_unit(municipality: Municipality, name: str) -> OrgUnit:
    return OrgUnit.objects.create(municipality=municipality, name=name, kind=OrgUnit.Kind.OFFICE)


@pytest.fixture
def team(city_a: Municipality, digcomp: FrameworkVersion) -> Team:
    unit = make_unit(city_a, "Bürgerbüro")
    profile = actions.create_role_profile(
        municipality=city_a,
        name="Sachbearbeitung Bürgerbüro",
        framework_version=digcomp,
        requirements=REQUIREMENTS,
        shared=True,
        org_units=[unit],
    )
    clerk_user = staff_user(city_a, "clerk")
    clerk = actions.enrol_staff(user=clerk_user, municipality=city_a, org_unit=unit, role_profile=profile)
    manager = staff_user(city_a, "manager")
    actions.set_unit_manager(unit, manager)
    actions.enrol_staff(user=manager, municipality=city_a, org_unit=unit, role_profile=profile)
    hr = staff_user(city_a, "hr", Role.HUMAN_RESOURCES)
    return Team(unit=unit, profile=profile, clerk=clerk, manager=manager, hr=hr)
