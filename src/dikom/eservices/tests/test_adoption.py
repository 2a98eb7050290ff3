"""A city adopts a released version with its local settings; the settings are checked;
a newer version changes nothing for the city until it upgrades."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from dikom.accounts.roles import Role
from dikom.eservices import actions, service
from dikom.eservices.models import Adoption, Notification
from dikom.municipalities.tests.factories import OrgUnitFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


def _form(org_unit, **extra):
    return {"org_unit": org_unit.pk, "start_date": "2026-01-01", "active": "on", **extra}


def _url(released, city="wetzlar"):
    return f"/dienste/{released.definition.slug}/uebernahme/{city}/"


def test_another_citys_org_unit_is_rejected(released, admin_d, city_a, as_user):
    foreign = OrgUnitFactory(municipality=city_a, name="Ordnungsamt Fulda")
    response = as_user(admin_d).post(_url(released), _form(foreign))
    assert response.status_code == 400
    assert "Choose an organisational unit of your own city." in response.content.decode()
    assert not Adoption.objects.exists()


def test_a_negative_fee_is_rejected(released, admin_d, org_unit_d, as_user):
    response = as_user(admin_d).post(_url(released), _form(org_unit_d, fee_ausweis="-5.00"))
    assert response.status_code == 400
    assert "must be a non-negative amount" in response.content.decode()
    assert not Adoption.objects.exists()


def test_only_locally_adjustable_fees_can_be_set(released, admin_d, org_unit_d, city_d, as_user):
    # The form offers only the adjustable fee; a posted amount for another fee is ignored
    client = as_user(admin_d)
    page = client.get(_url(released)).content.decode()
    assert 'name="fee_ausweis"' in page
    assert 'name="fee_porto"' not in page
    assert client.post(_url(released), _form(org_unit_d, fee_porto="0.10", fee_ausweis="25.00")).status_code == 302
    assert Adoption.objects.get().fees == {"ausweis": 2500}
    # The action refuses a non-adjustable fee key outright
    local = actions.LocalSettings(start_date=TODAY, org_unit=org_unit_d, fees={"porto": 10})
    with pytest.raises(ValidationError) as refused:
        actions.check_local_settings(city_d, released, local)
    assert "fees" in refused.value.message_dict


def test_adoption_needs_the_admin_role_of_that_city(released, admin_d, owner, reviewer_b, as_user):
    assert as_user(owner).get(_url(released)).status_code == 403  # admin of A, not of Wetzlar
    assert as_user(reviewer_b).get(_url(released)).status_code == 403
    assert as_user(admin_d).get(_url(released, city="nirgendwo")).status_code == 404


def test_an_unreleased_service_cannot_be_adopted(in_review, admin_d, org_unit_d, as_user, city_d):
    # admin_d is no reviewer: the version in review does not exist for him
    assert as_user(admin_d).get(_url(in_review)).status_code == 404
    with pytest.raises(actions.WorkflowError):
        actions.adopt_service(
            municipality=city_d, version=in_review, actor=admin_d, local=actions.LocalSettings(start_date=TODAY)
        )


def test_a_newer_version_waits_until_the_city_upgrades(
    released, designer_a, reviewer_b, reviewer_c, city_b, city_c, city_d, admin_d, org_unit_d, as_user
):
    adoption = actions.adopt_service(
        municipality=city_d,
        version=released,
        actor=admin_d,
        local=actions.LocalSettings(start_date=dt.date(2026, 1, 1), org_unit=org_unit_d, fees={"ausweis": 4500}),
    )
    definition = released.definition
    assert service.active_version_for(city_d, definition, today=TODAY) == released

    # Version 2 removes the local adjustability of the fee and is released
    v2 = actions.start_new_version(definition, actor=designer_a)
    content = v2.content
    content["fees"][0]["locally_adjustable"] = False
    actions.update_draft(v2, actor=designer_a, content=content)
    actions.submit_for_review(v2, actor=designer_a)
    actions.review_version(v2, actor=reviewer_b, municipality=city_b, decision="approve")
    actions.review_version(v2, actor=reviewer_c, municipality=city_c, decision="approve")

    # The city is notified, but new applications still start on version 1
    adoption.refresh_from_db()
    assert adoption.pending_upgrade_to == v2
    assert Notification.objects.filter(municipality=city_d, role=Role.MUNICIPALITY_ADMIN, read_at=None).count() == 1
    assert service.active_version_for(city_d, definition, today=TODAY) == released
    found = service.adoption_for(city_d, definition.slug, today=TODAY)
    assert (found.adoption, found.version) == (adoption, released)

    # The adoption page shows what changes; upgrading drops the fee that is no longer adjustable
    page = as_user(admin_d).get(_url(released)).content.decode()
    assert "Version 2 is available" in page
    assert "Locally adjustable" in page
    assert as_user(admin_d).post(_url(released) + "aktualisieren/").status_code == 302
    adoption.refresh_from_db()
    assert (adoption.version, adoption.fees, adoption.pending_upgrade_to) == (v2, {}, None)
    assert service.active_version_for(city_d, definition, today=TODAY) == v2
    assert not Notification.objects.filter(municipality=city_d, read_at=None).exists()
    # nothing left to upgrade
    with pytest.raises(actions.WorkflowError):
        actions.upgrade_adoption(adoption, actor=admin_d)


def test_start_date_and_active_flag_decide_what_citizens_get(released, city_d, admin_d, org_unit_d):
    adoption = actions.adopt_service(
        municipality=city_d,
        version=released,
        actor=admin_d,
        local=actions.LocalSettings(start_date=dt.date(2026, 7, 1), org_unit=org_unit_d),
    )
    assert service.active_version_for(city_d, released.definition, today=TODAY) is None
    assert service.adoption_for(city_d, released.definition.slug, today=TODAY) is None
    assert service.adoption_for(city_d, released.definition.slug, today=TODAY, include_scheduled=True) is not None
    assert service.active_version_for(city_d, released.definition, today=dt.date(2026, 7, 1)) == released
    actions.update_adoption(
        adoption,
        actor=admin_d,
        local=actions.LocalSettings(start_date=dt.date(2026, 1, 1), org_unit=org_unit_d, active=False),
    )
    assert service.active_version_for(city_d, released.definition, today=TODAY) is None
    assert service.local_fees(adoption) == {}


def test_a_city_adopts_a_service_only_once(released, city_d, admin_d, org_unit_d):
    local = actions.LocalSettings(start_date=TODAY, org_unit=org_unit_d)
    actions.adopt_service(municipality=city_d, version=released, actor=admin_d, local=local)
    with pytest.raises(actions.WorkflowError):
        actions.adopt_service(municipality=city_d, version=released, actor=admin_d, local=local)
