"""Staff and roles of a municipality: list, grant, create accounts, revoke."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from dikom.accounts.models import Membership, User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory, UserFactory
from dikom.audit.models import AuditEvent
from dikom.lib.testing import english_client
from dikom.municipalities.tests.factories import OrgUnitFactory

URL = "/verwaltung/fulda/personal/"


@pytest.fixture
def client() -> Client:
    return english_client()


@pytest.fixture
def admin_client(client: Client, login: Any, owner: Any) -> Client:
    return login(client, owner)


def test_staff_table_groups_roles_by_person_with_bounded_queries(
    admin_client: Client, city_a: Any, city_b: Any, colleague: Any, outsider: Any, django_assert_max_num_queries: Any
) -> None:
    amt = OrgUnitFactory(municipality=city_a, name="Ordnungsamt")
    MembershipFactory(user=colleague, municipality=city_a, role=Role.ANALYST, org_unit=amt)
    for n in range(10):
        MembershipFactory(user__username=f"staff{n}", municipality=city_a, role=Role.STAFF_MEMBER, org_unit=amt)
    MembershipFactory(user=colleague, municipality=city_b, role=Role.REVIEWER)
    with django_assert_max_num_queries(15):
        response = admin_client.get(URL)
    assert response.status_code == 200
    rows = {row["user"].username: row for row in response.context["rows"]}
    assert sorted(m.role for m in rows["colleague"]["memberships"]) == [Role.ANALYST, Role.CASEWORKER]
    assert rows["colleague"]["org_units"] == [amt]
    assert "outsider" not in rows
    html = response.content.decode()
    assert '<span class="badge">Analyst</span>' in html
    assert '<span class="badge">Working-group reviewer</span>' not in html  # a role in Gießen
    assert html.count('<th scope="row">colleague</th>') == 1


def test_grant_role_to_existing_account_by_email(admin_client: Client, owner: Any, city_a: Any, citizen: Any) -> None:
    amt = OrgUnitFactory(municipality=city_a, name="Ordnungsamt")
    response = admin_client.post(
        URL,
        {
            "form": "existing",
            "existing-identifier": "CITIZEN@example.org",
            "existing-role": Role.ANALYST,
            "existing-org_unit": amt.pk,
        },
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=citizen, municipality=city_a)
    assert (membership.role, membership.org_unit) == (Role.ANALYST, amt)
    event = AuditEvent.objects.get(action="membership.grant")
    assert (event.actor, event.municipality_id) == (owner, city_a.pk)


def test_grant_to_unknown_or_duplicate_gives_clear_errors(admin_client: Client, colleague: Any) -> None:
    response = admin_client.post(URL, {"form": "existing", "existing-identifier": "nobody", "existing-role": "analyst"})
    assert response.status_code == 200
    assert "no account with this user name" in str(response.context["existing_form"].errors["identifier"])
    response = admin_client.post(
        URL, {"form": "existing", "existing-identifier": "colleague", "existing-role": Role.CASEWORKER}
    )
    assert "already holds this role" in str(response.context["existing_form"].non_field_errors())
    response = admin_client.post(URL, {"form": "existing", "existing-identifier": "colleague", "existing-role": "boss"})
    assert "role" in response.context["existing_form"].errors
    assert Membership.objects.filter(user=colleague).count() == 1


def test_create_staff_account_without_password(admin_client: Client, owner: Any, city_a: Any) -> None:
    response = admin_client.post(
        URL,
        {
            "form": "new",
            "new-username": "m.muster",
            "new-email": "m.muster@fulda.example",
            "new-first_name": "Maria",
            "new-last_name": "Muster",
            "new-role": Role.CASEWORKER,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="m.muster")
    assert not user.has_usable_password()
    assert user.get_full_name() == "Maria Muster"
    assert Membership.objects.filter(user=user, municipality=city_a, role=Role.CASEWORKER).exists()
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Forgot password" in message
    actions = set(AuditEvent.objects.filter(municipality=city_a).values_list("action", flat=True))
    assert {"staff.create_account", "membership.grant"} <= actions


def test_create_staff_account_rejects_taken_names(admin_client: Client, colleague: Any) -> None:
    response = admin_client.post(
        URL,
        {"form": "new", "new-username": "Colleague", "new-email": "COLLEAGUE@example.org", "new-role": "caseworker"},
    )
    assert response.status_code == 200
    errors = response.context["new_form"].errors
    assert "already taken" in str(errors["username"])
    assert "already exists" in str(errors["email"])
    assert User.objects.filter(username__iexact="colleague").count() == 1


def test_revoke_role_after_confirmation(admin_client: Client, owner: Any, colleague: Any, city_a: Any) -> None:
    membership = Membership.objects.get(user=colleague, municipality=city_a)
    url = f"{URL}rollen/{membership.pk}/entziehen/"
    confirm = admin_client.get(url)
    assert confirm.status_code == 200
    assert Membership.objects.filter(pk=membership.pk).exists()  # a GET changes nothing
    response = admin_client.post(url)
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    event = AuditEvent.objects.get(action="membership.revoke")
    assert event.changes == {"user": "colleague", "role": Role.CASEWORKER}
    assert event.actor == owner


def test_admin_cannot_revoke_own_admin_role(admin_client: Client, owner: Any, city_a: Any) -> None:
    membership = Membership.objects.get(user=owner, municipality=city_a, role=Role.MUNICIPALITY_ADMIN)
    response = admin_client.post(f"{URL}rollen/{membership.pk}/entziehen/")
    assert response.status_code == 409
    assert "cannot revoke your own administrator role" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not AuditEvent.objects.filter(action="membership.revoke").exists()


def test_another_admin_may_revoke_an_admin_role(client: Client, login: Any, owner: Any, city_a: Any) -> None:
    second_admin = MembershipFactory(
        user=UserFactory(username="second"), municipality=city_a, role=Role.MUNICIPALITY_ADMIN
    ).user
    login(client, second_admin)
    membership = Membership.objects.get(user=owner, municipality=city_a, role=Role.MUNICIPALITY_ADMIN)
    assert client.post(f"{URL}rollen/{membership.pk}/entziehen/").status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
