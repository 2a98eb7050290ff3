"""The portal's measured service carries the LeiKa key and step titles of its library definition,
and becomes one with a service the city already measures under that LeiKa key."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.lib.testing import english_client, run_task_worker
from dikom.portal.tests.conftest import release_and_adopt
from dikom.portal.tests.test_journey import start, step_url

pytestmark = pytest.mark.django_db(transaction=True)

LEIKA = "99041008001000"


def _funnel(client: Any, municipality: Any, service: Any) -> list[list[str]]:
    url = f"/analytics/{municipality.slug}/dienste/{service.uuid}/?period=today&export=csv&table=trichter"
    response = client.get(url)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))[1:]


def test_portal_service_has_the_leika_key_and_step_titles_of_its_definition(
    city_a: Any, city_b: Any, family: dict[str, Any], login: Any
) -> None:
    family["identity"]["leika_key"] = LEIKA
    adoption = release_and_adopt(family, city_a)
    citizen = english_client()
    application = start(citizen, adoption)
    assert citizen.get(step_url(application, 1)).status_code == 200
    run_task_worker()

    from dikom.analytics.models import Service

    service = Service.objects.get(municipality=city_a, external_key=adoption.definition.slug)
    analyst = MembershipFactory(municipality=city_a, role=Role.ANALYST).user
    client = english_client()
    login(client, analyst)
    assert service.leika_key == LEIKA
    assert [row[0] for row in _funnel(client, city_a, service)] == ["Applicant"]


def test_portal_events_join_the_service_already_measured_under_the_same_leika_key(
    city_a: Any, city_b: Any, family: dict[str, Any], login: Any
) -> None:
    from dikom.analytics.models import Service, ServiceKeyAlias, UsageEvent

    # Given the city measures the service from its former form system under the same LeiKa key
    imported = Service.objects.create(
        municipality=city_a, name="Familienzuschuss (Civento)", external_key="fz-alt", leika_key=LEIKA
    )
    family["identity"]["leika_key"] = LEIKA
    adoption = release_and_adopt(family, city_a)

    # When a citizen uses the portal's service
    citizen = english_client()
    application = start(citizen, adoption)
    assert citizen.get(step_url(application, 1)).status_code == 200
    run_task_worker()

    # Then its events land on that service: one row, no second service
    assert Service.objects.filter(municipality=city_a).count() == 1
    assert ServiceKeyAlias.objects.get(municipality=city_a, key=adoption.definition.slug).service == imported
    assert set(UsageEvent.objects.values_list("service_id", flat=True)) == {imported.pk}
    analyst = MembershipFactory(municipality=city_a, role=Role.ANALYST).user
    client = english_client()
    login(client, analyst)
    overview = client.get(f"/analytics/{city_a.slug}/?period=today&export=csv&table=dienste")
    rows = list(csv.reader(io.StringIO(overview.content.decode())))[1:]
    assert [row[0] for row in rows] == ["Familienzuschuss (Civento)"]
    assert rows[0][1] == "1"
    # The imported service learns the step titles of the portal's definition
    assert [row[0] for row in _funnel(client, city_a, imported)] == ["Applicant"]
