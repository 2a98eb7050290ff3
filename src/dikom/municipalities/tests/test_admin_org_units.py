"""Organisational units: the tree, create, edit, move and delete, as a municipality admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from dikom.accounts.models import Membership
from dikom.accounts.roles import Role
from dikom.audit.models import AuditEvent
from dikom.lib.testing import english_client
from dikom.municipalities.models import OrgUnit
from dikom.municipalities.tests.factories import OrgUnitFactory

URL = "/verwaltung/fulda/organisation/"


@pytest.fixture
def client() -> Client:
    return english_client()


@pytest.fixture
def admin_client(client: Client, login: Any, owner: Any) -> Client:
    return login(client, owner)


@pytest.fixture
def tree(city_a: Any) -> dict[str, OrgUnit]:
    dezernat = OrgUnitFactory(municipality=city_a, name="Dezernat I", kind=OrgUnit.Kind.DEPARTMENT)
    fachbereich = OrgUnitFactory(
        municipality=city_a, name="Fachbereich Bürgerdienste", kind=OrgUnit.Kind.DIVISION, parent=dezernat
    )
    amt = OrgUnitFactory(municipality=city_a, name="Standesamt", kind=OrgUnit.Kind.OFFICE, parent=fachbereich)
    return {"dezernat": dezernat, "fachbereich": fachbereich, "amt": amt}


def test_tree_is_nested_and_built_with_bounded_queries(
    admin_client: Client, tree: dict[str, OrgUnit], city_b: Any, django_assert_max_num_queries: Any
) -> None:
    OrgUnitFactory(municipality=city_b, name="Gießener Ordnungsamt")
    for n in range(15):
        OrgUnitFactory(municipality=tree["dezernat"].municipality, name=f"Sachgebiet {n}", parent=tree["amt"])
    with django_assert_max_num_queries(12):
        response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="tree"' in html
    # Nested lists: the office sits inside the division, which sits inside the department.
    dezernat_at = html.index("Dezernat I")
    fachbereich_at = html.index("Fachbereich Bürgerdienste", dezernat_at)
    amt_at = html.index("Standesamt", fachbereich_at)
    assert html.count("<ul", dezernat_at, amt_at) == 2
    assert "Gießener Ordnungsamt" not in html


def test_create_unit_below_a_parent_writes_audit_event(
    admin_client: Client, owner: Any, tree: dict[str, OrgUnit]
) -> None:
    response = admin_client.post(
        URL,
        {
            "name": "Ordnungsamt",
            "short_name": "OA",
            "kind": "amt",
            "parent": tree["fachbereich"].pk,
            "email": "ordnungsamt@fulda.example",
        },
    )
    assert response.status_code == 302
    unit = OrgUnit.objects.get(name="Ordnungsamt")
    assert unit.parent == tree["fachbereich"]
    assert unit.municipality == tree["fachbereich"].municipality
    event = AuditEvent.objects.get(action="orgunit.create")
    assert event.actor == owner
    assert event.municipality_id == unit.municipality_id
    assert event.object_id == str(unit.pk)
    assert event.changes["parent"] == [None, "Fachbereich Bürgerdienste"]
    assert event.source == AuditEvent.Source.WEB


def test_create_rejects_bad_input_with_form_errors(admin_client: Client, tree: dict[str, OrgUnit]) -> None:
    response = admin_client.post(URL, {"name": "", "kind": "galaxis", "parent": "abc", "email": "kein-mail"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {"name", "kind", "parent", "email"}
    # A sibling with the same name (also at top level, where NULL parents escape the DB constraint)
    response = admin_client.post(URL, {"name": "dezernat i", "kind": "dezernat"})
    assert "already exists" in str(response.context["form"].errors["name"])
    assert OrgUnit.objects.filter(name__iexact="Dezernat I").count() == 1


def test_edit_records_field_changes(admin_client: Client, tree: dict[str, OrgUnit]) -> None:
    amt = tree["amt"]
    response = admin_client.post(
        f"{URL}{amt.pk}/bearbeiten/",
        {
            "name": "Standes- und Personenstandsamt",
            "short_name": "StA",
            "kind": "amt",
            "parent": tree["fachbereich"].pk,
        },
    )
    assert response.status_code == 302
    amt.refresh_from_db()
    assert amt.name == "Standes- und Personenstandsamt"
    event = AuditEvent.objects.get(action="orgunit.update")
    assert event.changes == {"name": ["Standesamt", "Standes- und Personenstandsamt"], "short_name": ["", "StA"]}


def test_move_changes_parent_and_is_audited(admin_client: Client, tree: dict[str, OrgUnit]) -> None:
    amt = tree["amt"]
    response = admin_client.post(
        f"{URL}{amt.pk}/bearbeiten/", {"name": "Standesamt", "kind": "amt", "parent": tree["dezernat"].pk}
    )
    assert response.status_code == 302
    amt.refresh_from_db()
    assert amt.parent == tree["dezernat"]
    event = AuditEvent.objects.get(action="orgunit.move")
    assert event.changes == {"parent": ["Fachbereich Bürgerdienste", "Dezernat I"]}


def test_move_below_own_descendant_is_rejected(admin_client: Client, tree: dict[str, OrgUnit]) -> None:
    dezernat = tree["dezernat"]
    response = admin_client.post(
        f"{URL}{dezernat.pk}/bearbeiten/", {"name": "Dezernat I", "kind": "dezernat", "parent": tree["amt"].pk}
    )
    assert response.status_code == 200
    assert "cannot be placed below itself" in str(response.context["form"].errors["parent"])
    dezernat.refresh_from_db()
    assert dezernat.parent is None
    assert not AuditEvent.objects.filter(action__startswith="orgunit.").exists()


def test_move_below_itself_is_rejected(admin_client: Client, tree: dict[str, OrgUnit]) -> None:
    amt = tree["amt"]
    response = admin_client.post(f"{URL}{amt.pk}/bearbeiten/", {"name": "Standesamt", "kind": "amt", "parent": amt.pk})
    assert response.status_code == 200
    assert "cannot be placed below itself" in str(response.context["form"].errors["parent"])


def test_delete_with_children_is_rejected(admin_client: Client, tree: dict[str, OrgUnit]) -> None:
    fachbereich = tree["fachbereich"]
    page = admin_client.get(f"{URL}{fachbereich.pk}/loeschen/")
    assert "cannot be deleted yet" in page.content.decode()
    response = admin_client.post(f"{URL}{fachbereich.pk}/loeschen/")
    assert response.status_code == 409
    assert "still has sub-units" in response.content.decode()
    assert OrgUnit.objects.filter(pk=fachbereich.pk).exists()
    assert not AuditEvent.objects.filter(action="orgunit.delete").exists()


def test_delete_with_memberships_is_rejected(admin_client: Client, tree: dict[str, OrgUnit], colleague: Any) -> None:
    amt = tree["amt"]
    Membership.objects.filter(user=colleague, role=Role.CASEWORKER).update(org_unit=amt)
    response = admin_client.post(f"{URL}{amt.pk}/loeschen/")
    assert response.status_code == 409
    assert "Staff members are still assigned" in response.content.decode()
    assert OrgUnit.objects.filter(pk=amt.pk).exists()


def test_delete_leaf_unit(admin_client: Client, owner: Any, tree: dict[str, OrgUnit]) -> None:
    amt = tree["amt"]
    response = admin_client.post(f"{URL}{amt.pk}/loeschen/")
    assert response.status_code == 302
    assert not OrgUnit.objects.filter(pk=amt.pk).exists()
    event = AuditEvent.objects.get(action="orgunit.delete")
    assert event.actor == owner
    assert event.object_id == str(amt.pk)
    assert event.changes["name"] == ["Standesamt", None]
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["The unit “Standesamt” was deleted."]
