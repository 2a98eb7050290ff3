"""A released, adopted three-step service for the portal tests (copied from the eservices helpers)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.municipalities.models import Municipality
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory

FAMILY = {
    "format": "dikom.service/1",
    "identity": {
        "title": {"de": "Familienzuschuss", "en": "Family grant"},
        "description": {"de": "Zuschuss für Familien beantragen."},
        "leika_key": "",
        "ozg_topic": "Familie und Kind",
        "keywords": ["Zuschuss", "Kinder"],
    },
    "steps": [
        {
            "key": "person",
            "title": {"de": "Antragsteller", "en": "Applicant"},
            "fields": [
                {"key": "hinweis", "type": "info", "text": {"de": "Bitte füllen Sie alles aus."}},
                {"key": "name", "type": "text", "label": {"de": "Name"}, "required": True},
                {"key": "email", "type": "email", "label": {"de": "E-Mail"}, "required": True},
                {"key": "plz", "type": "postcode", "label": {"de": "Postleitzahl"}, "required": True},
                {"key": "hat_kinder", "type": "yes_no", "label": {"de": "Haben Sie Kinder?"}, "required": True},
            ],
        },
        {
            "key": "kinder",
            "title": {"de": "Kinder", "en": "Children"},
            "visible_if": {"==": [{"var": "person.hat_kinder"}, "yes"]},
            "fields": [
                {
                    "key": "liste",
                    "type": "repeating_group",
                    "label": {"de": "Kind"},
                    "required": True,
                    "min_items": 1,
                    "max_items": 5,
                    "fields": [{"key": "vorname", "type": "text", "label": {"de": "Vorname"}, "required": True}],
                }
            ],
        },
        {
            "key": "bank",
            "title": {"de": "Bankverbindung", "en": "Bank account"},
            "fields": [
                {"key": "iban", "type": "iban", "label": {"de": "IBAN"}, "required": True},
                {
                    "key": "nachweis",
                    "type": "file",
                    "label": {"de": "Nachweis"},
                    "accept": ["application/pdf", "image/png"],
                    "max_bytes": 1024 * 1024,
                },
            ],
        },
    ],
    "fees": [],
    "summary_step": True,
    "trust_level": "none",
    "auth_methods": ["none"],
    "payment_required": False,
    "documents": [{"key": "quittung", "title": {"de": "Eingangsbestätigung"}, "kind": "receipt"}],
}

VALID_IBAN = "DE89370400440532013000"


@pytest.fixture
def family() -> dict[str, Any]:
    return copy.deepcopy(FAMILY)


def release_and_adopt(content: dict[str, Any], adopter: Municipality, *, suffix: str = "") -> Any:
    """Draft by Marburg, approved by Gießen and Wetzlar, adopted by ``adopter``; returns the adoption."""
    from dikom.eservices import actions

    marburg = Municipality.objects.filter(slug="marburg").first() or MunicipalityFactory(
        name="Marburg", slug="marburg", ags="06534014", district=DistrictFactory(key="06534")
    )
    wetzlar = Municipality.objects.filter(slug="wetzlar").first() or MunicipalityFactory(
        name="Wetzlar", slug="wetzlar", ags="06532023", district=DistrictFactory(key="06532")
    )
    giessen = Municipality.objects.exclude(pk__in=[marburg.pk, wetzlar.pk, adopter.pk]).first() or MunicipalityFactory()
    designer = MembershipFactory(municipality=marburg, role=Role.PROCESS_DESIGNER).user
    rev_1 = MembershipFactory(municipality=giessen, role=Role.REVIEWER).user
    rev_2 = MembershipFactory(municipality=wetzlar, role=Role.REVIEWER).user
    admin = MembershipFactory(municipality=adopter, role=Role.MUNICIPALITY_ADMIN).user
    title = content["identity"]["title"]["de"] + suffix
    version = actions.create_service(municipality=marburg, actor=designer, title=title, content=content)
    version = actions.submit_for_review(version, actor=designer)
    actions.review_version(version, actor=rev_1, municipality=giessen, decision="approve")
    actions.review_version(version, actor=rev_2, municipality=wetzlar, decision="approve")
    version.refresh_from_db()
    assert version.status == "released"
    return actions.adopt_service(
        municipality=adopter,
        version=version,
        actor=admin,
        local=actions.LocalSettings(start_date=dt.date(2020, 1, 1), contact_email="buergerbuero@example.org"),
    )


@pytest.fixture
def adoption(city_a: Municipality, city_b: Municipality, family: dict[str, Any]) -> Any:
    return release_and_adopt(family, city_a)
