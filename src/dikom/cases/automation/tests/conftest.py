"""A submitted application and its case (as in cases/tests/test_case_lifecycle.py), units and rules."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import translation

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases.automation import actions as rule_actions
from dikom.cases.automation.models import Rule
from dikom.municipalities.tests.factories import OrgUnitFactory
from dikom.portal import actions as portal_actions
from dikom.portal.models import Application
from dikom.portal.tests.conftest import FAMILY, VALID_IBAN, release_and_adopt


def submit(adoption: Any, *, plz: str = "36037", name: str = "Erika Muster") -> Application:
    """A citizen's submission through the portal's actions (the portal's own tests cover the pages)."""
    from dikom.eservices.service import adoption_for

    offered = adoption_for(adoption.municipality, adoption.definition.slug)
    application = portal_actions.start_application(adopted=offered)
    portal_actions.save_step_answers(
        application,
        "person",
        {"name": name, "email": "erika@example.org", "plz": plz, "hat_kinder": "no"},
        next_step=3,
    )
    portal_actions.save_step_answers(application, "bank", {"iban": VALID_IBAN}, next_step=3)
    application, won = portal_actions.submit_application(application, submission_key=application.submission_key)
    assert won
    return application


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _english_log() -> Iterator[None]:
    """Log texts in English (their msgids), so the assertions hold once the German catalogue has them."""
    with translation.override("en"):
        yield


@pytest.fixture
def unit(city_a: Any) -> Any:
    return OrgUnitFactory(municipality=city_a, name="Bürgerbüro", short_name="BB", email="buergerbuero@fulda.example")


@pytest.fixture
def ordnungsamt(city_a: Any) -> Any:
    return OrgUnitFactory(municipality=city_a, name="Ordnungsamt", short_name="OA", email="ordnungsamt@fulda.example")


def _adopt(content: dict[str, Any], city: Any, unit: Any, suffix: str = "") -> Any:
    adoption = release_and_adopt(content, city, suffix=suffix)
    adoption.org_unit = unit
    adoption.save(update_fields=["org_unit"])
    return adoption


@pytest.fixture
def adoption(city_a: Any, city_b: Any, unit: Any) -> Any:
    """The family grant; not rule-based (a caseworker decides)."""
    return _adopt(copy.deepcopy(FAMILY), city_a, unit)


@pytest.fixture
def rule_based_adoption(city_a: Any, city_b: Any, unit: Any) -> Any:
    """The family grant as a fully rule-based service (processing.automatic_decision_allowed)."""
    content = copy.deepcopy(FAMILY)
    content["processing"] = {"automatic_decision_allowed": True}
    return _adopt(content, city_a, unit, suffix=" (regelbasiert)")


@pytest.fixture
def designer(city_a: Any) -> Any:
    return MembershipFactory(municipality=city_a, role=Role.PROCESS_DESIGNER).user


@pytest.fixture
def make_rule(owner: Any, city_a: Any) -> Callable[..., Rule]:
    """Create a rule through the checked action, active unless told otherwise."""

    def make(**fields: Any) -> Rule:
        fields.setdefault("name", "Testregel")
        fields.setdefault("trigger", "submitted")
        fields.setdefault("active", True)
        return rule_actions.create_rule(municipality=city_a, actor=owner, **fields)

    return make
