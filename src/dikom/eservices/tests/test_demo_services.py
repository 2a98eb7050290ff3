"""The demo services: drafted by Marburg, reviewed by Gießen and Fulda, released,
adopted by all six founding cities, each with its own parking fee; idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from dikom.demo.actions import load_demo_cooperation
from dikom.eservices import service
from dikom.eservices.definition import validate_definition
from dikom.eservices.models import Adoption, Review, ReviewComment, ServiceDefinition, ServiceVersion

pytestmark = pytest.mark.django_db

FOUNDING = {"fulda", "giessen", "limburg", "marburg", "offenbach", "wetzlar"}


def test_demo_services_are_co_developed_released_and_adopted_by_all_six_founding_cities():
    load_demo_cooperation(password="Demo-Passwort-123")

    result = service.load_demo_services()

    assert sorted(result.created) == ["bewohnerparkausweis", "hundesteuer-anmeldung", "zuschuss-mehrwegwindeln"]
    assert result.adopted == 18
    for definition in ServiceDefinition.objects.all():
        assert definition.is_demo
        assert definition.municipality.slug == "marburg"
        version = definition.latest_released
        assert version.status == ServiceVersion.Status.RELEASED
        assert validate_definition(version.content) == []
        approvals = Review.objects.filter(version=version, decision=Review.Decision.APPROVE)
        assert {r.municipality.slug for r in approvals} == {"giessen", "fulda"}
        assert all(r.reviewer is not None for r in approvals)
        assert ReviewComment.objects.filter(version=version).exists()
        adoptions = Adoption.objects.filter(definition=definition)
        assert {a.municipality.slug for a in adoptions} == FOUNDING
        assert all(a.org_unit is not None and a.org_unit.municipality_id == a.municipality_id for a in adoptions)
    parking = Adoption.objects.filter(definition__slug="bewohnerparkausweis")
    fees = {a.municipality.slug: a.fees["ausweis"] for a in parking}
    assert len(set(fees.values())) == 6  # each city its own fee

    # Running it again changes nothing
    again = service.load_demo_services()
    assert (again.created, again.adopted) == ([], 0)
    assert ServiceVersion.objects.count() == 3
    assert Adoption.objects.count() == 18

    # The portal finds the services of a city
    marburg = parking.get(municipality__slug="marburg").municipality
    offered = service.adopted_services(marburg, today=dt.date(2026, 6, 1))
    assert [o.definition.slug for o in offered] == [
        "bewohnerparkausweis",
        "hundesteuer-anmeldung",
        "zuschuss-mehrwegwindeln",
    ]
    assert service.adopted_services(marburg, today=dt.date(2025, 12, 31)) == []  # before the start date
    page = Client().get("/dienste/?q=Parken")
    assert "Bewohnerparkausweis" in page.content.decode()


def test_without_the_demo_cooperation_nothing_is_created():
    result = service.load_demo_services()
    assert result.created == []
    assert "demo cities missing" in result.skipped_reason
    assert not ServiceDefinition.objects.exists()
