"""Fixtures of the service library tests: four cities and the people of the workflow.

- ``designer_a``: process designer of city A (Fulda), the authoring city
- ``reviewer_a``: working-group reviewer of city A (may follow, never approve A's work)
- ``reviewer_b`` / ``reviewer_c``: reviewers of cities B (Gießen) and C (Marburg)
- ``admin_d``: municipality administrator of city D (Wetzlar), who adopts
- ``admin_b_only``: administrator of B without reviewer role (sees no drafts of A)

Pages are requested in English (the language cookie the switcher sets; web pages
ignore ``Accept-Language``) so that assertions on texts do not depend on the state
of the German catalogue.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory, OrgUnitFactory


@pytest.fixture
def city_c(db: Any) -> Municipality:
    district = DistrictFactory(key="06534", name="Landkreis Marburg-Biedenkopf")
    return MunicipalityFactory(name="Marburg", slug="marburg", ags="06534014", district=district)


@pytest.fixture
def city_d(db: Any) -> Municipality:
    district = DistrictFactory(key="06532", name="Lahn-Dill-Kreis")
    return MunicipalityFactory(name="Wetzlar", slug="wetzlar", ags="06532023", district=district)


def _member(username: str, municipality: Municipality, role: str) -> User:
    return MembershipFactory(user__username=username, municipality=municipality, role=role).user


@pytest.fixture
def designer_a(city_a: Municipality) -> User:
    return _member("designer_a", city_a, Role.PROCESS_DESIGNER)


@pytest.fixture
def reviewer_a(city_a: Municipality) -> User:
    return _member("reviewer_a", city_a, Role.REVIEWER)


@pytest.fixture
def reviewer_b(city_b: Municipality) -> User:
    return _member("reviewer_b", city_b, Role.REVIEWER)


@pytest.fixture
def reviewer_b2(city_b: Municipality) -> User:
    return _member("reviewer_b2", city_b, Role.REVIEWER)


@pytest.fixture
def reviewer_c(city_c: Municipality) -> User:
    return _member("reviewer_c", city_c, Role.REVIEWER)


@pytest.fixture
def admin_d(city_d: Municipality) -> User:
    return _member("admin_d", city_d, Role.MUNICIPALITY_ADMIN)


@pytest.fixture
def admin_b_only(city_b: Municipality) -> User:
    return _member("admin_b_only", city_b, Role.MUNICIPALITY_ADMIN)


@pytest.fixture
def org_unit_d(city_d: Municipality) -> OrgUnit:
    return OrgUnitFactory(municipality=city_d, name="Ordnungsamt Wetzlar")


def english_client() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def en_client() -> Callable[[], Client]:
    return english_client


@pytest.fixture
def as_user(login: Callable[[Client, User], Client]) -> Callable[[User], Client]:
    """A signed-in (2FA-verified) client for ``user``, asking for English pages."""

    def make(user: User) -> Client:
        return login(english_client(), user)

    return make


PARKING = {
    "format": "dikom.service/1",
    "identity": {
        "title": {"de": "Bewohnerparkausweis", "en": "Resident parking permit"},
        "description": {"de": "Parkausweis für Bewohnerinnen und Bewohner beantragen."},
        "leika_key": "99058011001000",
        "ozg_topic": "Mobilität und Reisen",
        "keywords": ["Parken", "Anwohner"],
    },
    "steps": [
        {
            "key": "antrag",
            "title": {"de": "Antragsteller", "en": "Applicant"},
            "fields": [
                {"key": "name", "type": "text", "label": {"de": "Name", "en": "Name"}, "required": True},
                {"key": "email", "type": "email", "label": {"de": "E-Mail"}, "required": True},
                {"key": "zweitwagen", "type": "yes_no", "label": {"de": "Zweitfahrzeug?"}, "required": True},
            ],
        },
        {
            "key": "fahrzeug",
            "title": {"de": "Fahrzeug", "en": "Vehicle"},
            "fields": [
                {"key": "kennzeichen", "type": "text", "label": {"de": "Kennzeichen"}, "required": True},
            ],
        },
    ],
    "fees": [
        {
            "key": "ausweis",
            "label": {"de": "Ausweisgebühr"},
            "amount_cents": 3000,
            "locally_adjustable": True,
        },
        {"key": "porto", "label": {"de": "Porto"}, "amount_cents": 85, "locally_adjustable": False},
    ],
    "summary_step": True,
    "trust_level": "low",
    "auth_methods": ["bundid", "eid"],
    "payment_required": True,
    "documents": [{"key": "bescheid", "title": {"de": "Parkausweis"}, "kind": "decision"}],
}


@pytest.fixture
def parking() -> dict[str, Any]:
    """A releasable definition (the resident parking permit), a fresh copy per test."""
    return copy.deepcopy(PARKING)


@pytest.fixture
def draft(city_a: Municipality, designer_a: User, parking: dict[str, Any]):
    """A draft version 1 of the parking permit, authored by city A."""
    from dikom.eservices import actions

    return actions.create_service(municipality=city_a, actor=designer_a, title="Bewohnerparkausweis", content=parking)


@pytest.fixture
def in_review(draft, designer_a: User):
    """The draft, submitted for review."""
    from dikom.eservices import actions

    return actions.submit_for_review(draft, actor=designer_a)


@pytest.fixture
def released(in_review, reviewer_b: User, reviewer_c: User, city_b: Municipality, city_c: Municipality):
    """Version 1, approved by B and C and therefore released."""
    from dikom.eservices import actions

    actions.review_version(in_review, actor=reviewer_b, municipality=city_b, decision="approve")
    actions.review_version(in_review, actor=reviewer_c, municipality=city_c, decision="approve")
    in_review.refresh_from_db()
    assert in_review.status == "released"
    return in_review
