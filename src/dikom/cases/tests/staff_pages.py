"""Fixtures and helpers for the caseworker page tests (inbox and case page).

City A (Fulda) has two units: the Bürgerbüro (responsible for the family grant)
and the Ordnungsamt (responsible for a second service). Caseworkers belong to
one unit each; ``outsider`` is the administrator of city B (Gießen).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import actions
from dikom.cases.models import Case
from dikom.lib.testing import english_client
from dikom.municipalities.tests.factories import OrgUnitFactory
from dikom.portal import actions as portal_actions
from dikom.portal.tests.conftest import FAMILY, VALID_IBAN, release_and_adopt

__all__ = [
    "adoption",
    "adoption_giessen",
    "adoption_unit_b",
    "media",
    "unit_a",
    "unit_b",
    "unit_giessen",
    "worker_a",
    "worker_a2",
    "worker_b",
]

PDF = b"%PDF-1.4\n% dikom case page test\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def submit_case(adoption: Any, *, name: str = "Erika Muster", with_file: bool = False) -> Case:
    """A citizen's submission through the portal's actions (the portal's tests cover its pages), and its case.

    The case is opened here directly: in these (transaction-wrapped) tests the portal's
    on-commit signal does not fire; ``open_case`` is what its receiver calls.
    """
    from dikom.eservices.service import adoption_for

    offered = adoption_for(adoption.municipality, adoption.definition.slug)
    application = portal_actions.start_application(adopted=offered)
    portal_actions.save_step_answers(
        application,
        "person",
        {"name": name, "email": "erika@example.org", "plz": "36037", "hat_kinder": "no"},
        next_step=3,
    )
    bank: dict[str, Any] = {"iban": VALID_IBAN}
    if with_file:
        spec = next(f for f in FAMILY["steps"][2]["fields"] if f["key"] == "nachweis")  # type: ignore[index]
        upload = SimpleUploadedFile("nachweis.pdf", PDF, content_type="application/pdf")
        stored = portal_actions.store_upload(application, spec, "bank.nachweis", upload)
        assert stored.error is None, stored.error
        bank["nachweis"] = stored.value
    portal_actions.save_step_answers(application, "bank", bank, next_step=3)
    application, won = portal_actions.submit_application(application, submission_key=application.submission_key)
    assert won
    return actions.open_case(application)


def client_for(login: Any, user: Any) -> Client:
    """A logged-in client that reads the pages in English (the msgids; German is the default)."""
    client = english_client()
    login(client, user)
    return client


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html
    )
    assert match, f"no field {name} on the page"
    return match.group(1)


def case_url(case: Case, suffix: str = "") -> str:
    return f"/vorgaenge/{case.municipality.slug}/{case.uuid}/{suffix}"


def task_prefix(task: Any, kind: str) -> str:
    return f"{kind}-{task.uuid.hex[:12]}"


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings


@pytest.fixture
def unit_a(city_a: Any) -> Any:
    return OrgUnitFactory(municipality=city_a, name="Bürgerbüro", short_name="BB")


@pytest.fixture
def unit_b(city_a: Any) -> Any:
    return OrgUnitFactory(municipality=city_a, name="Ordnungsamt")


@pytest.fixture
def unit_giessen(city_b: Any) -> Any:
    return OrgUnitFactory(municipality=city_b, name="Bürgerbüro Gießen")


@pytest.fixture
def adoption(city_a: Any, city_b: Any, unit_a: Any, media: Any) -> Any:
    adopted = release_and_adopt(copy.deepcopy(FAMILY), city_a)
    adopted.org_unit = unit_a
    adopted.save(update_fields=["org_unit"])
    return adopted


@pytest.fixture
def adoption_unit_b(adoption: Any, city_a: Any, unit_b: Any) -> Any:
    """A second service of city A, processed by the Ordnungsamt."""
    content = copy.deepcopy(FAMILY)
    content["identity"]["title"] = {"de": "Sondernutzung", "en": "Special use"}  # type: ignore[index]
    adopted = release_and_adopt(content, city_a)
    adopted.org_unit = unit_b
    adopted.save(update_fields=["org_unit"])
    return adopted


@pytest.fixture
def adoption_giessen(adoption: Any, city_b: Any, unit_giessen: Any) -> Any:
    adopted = release_and_adopt(copy.deepcopy(FAMILY), city_b, suffix=" Gießen")
    adopted.org_unit = unit_giessen
    adopted.save(update_fields=["org_unit"])
    return adopted


@pytest.fixture
def worker_a(city_a: Any, unit_a: Any) -> Any:
    return MembershipFactory(
        user__username="anna", user__first_name="Anna", user__last_name="Amt", municipality=city_a,
        role=Role.CASEWORKER, org_unit=unit_a,
    ).user  # fmt: skip


@pytest.fixture
def worker_a2(city_a: Any, unit_a: Any) -> Any:
    return MembershipFactory(
        user__username="bernd", user__first_name="Bernd", user__last_name="Büro", municipality=city_a,
        role=Role.CASEWORKER, org_unit=unit_a,
    ).user  # fmt: skip


@pytest.fixture
def worker_b(city_a: Any, unit_b: Any) -> Any:
    return MembershipFactory(
        user__username="carla", user__first_name="Carla", user__last_name="Ordnung", municipality=city_a,
        role=Role.CASEWORKER, org_unit=unit_b,
    ).user  # fmt: skip
