"""Who may use the municipality administration: every page and every POST
endpoint, tried as owner (admin of Fulda), colleague (caseworker of Fulda),
outsider (admin of Gießen) and anonymous visitor."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.accounts import actions as account_actions
from dikom.accounts.models import ApiKey, Membership
from dikom.accounts.roles import Role
from dikom.lib.testing import english_client
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.municipalities.tests.factories import OrgUnitFactory


@pytest.fixture
def client() -> Client:
    return english_client()


@pytest.fixture
def fulda_objects(city_a: Any, owner: Any, colleague: Any) -> dict[str, Any]:
    unit = OrgUnitFactory(municipality=city_a, name="Bürgeramt")
    key = account_actions.create_api_key(
        municipality=city_a, name="Fachverfahren", scopes=["municipality:read"]
    ).api_key
    membership = Membership.objects.get(user=colleague, municipality=city_a)
    return {"unit": unit, "key": key, "membership": membership}


def fulda_urls(objects: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, data) for every page and endpoint of Fulda's administration."""
    unit, key, membership = objects["unit"], objects["key"], objects["membership"]
    base = "/verwaltung/fulda"
    return [
        ("get", f"{base}/", {}),
        ("get", f"{base}/behoerde/", {}),
        ("post", f"{base}/behoerde/", {"authority_name": "Eindringling"}),
        ("get", f"{base}/organisation/", {}),
        ("post", f"{base}/organisation/", {"name": "Neues Amt", "kind": "amt"}),
        ("get", f"{base}/organisation/{unit.pk}/bearbeiten/", {}),
        ("post", f"{base}/organisation/{unit.pk}/bearbeiten/", {"name": "Umbenannt", "kind": "amt"}),
        ("get", f"{base}/organisation/{unit.pk}/loeschen/", {}),
        ("post", f"{base}/organisation/{unit.pk}/loeschen/", {}),
        ("get", f"{base}/personal/", {}),
        (
            "post",
            f"{base}/personal/",
            {"form": "existing", "existing-identifier": "citizen", "existing-role": "analyst"},
        ),
        ("get", f"{base}/personal/rollen/{membership.pk}/entziehen/", {}),
        ("post", f"{base}/personal/rollen/{membership.pk}/entziehen/", {}),
        ("get", f"{base}/api-schluessel/", {}),
        ("get", f"{base}/api-schluessel/neu/", {}),
        ("post", f"{base}/api-schluessel/neu/", {"name": "Eindringling", "scopes": ["audit:read"]}),
        ("get", f"{base}/api-schluessel/{key.uuid}/widerrufen/", {}),
        ("post", f"{base}/api-schluessel/{key.uuid}/widerrufen/", {}),
        ("get", f"{base}/protokoll/", {}),
        ("get", f"{base}/protokoll/?format=csv", {}),
    ]


def assert_nothing_changed(objects: dict[str, Any]) -> None:
    unit, key, membership = objects["unit"], objects["key"], objects["membership"]
    assert OrgUnit.objects.get(pk=unit.pk).name == "Bürgeramt"
    assert not OrgUnit.objects.filter(name="Neues Amt").exists()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    assert not ApiKey.objects.filter(name="Eindringling").exists()
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not Membership.objects.filter(user__username="citizen").exists()
    assert not Municipality.objects.filter(authority_name="Eindringling").exists()


def test_anonymous_is_sent_to_login(client: Client, fulda_objects: dict[str, Any], citizen: Any) -> None:
    for method, url, data in fulda_urls(fulda_objects):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/konto/anmelden/?next="), (method, url)
    assert_nothing_changed(fulda_objects)


@pytest.mark.parametrize("who", ["colleague", "outsider", "citizen"])
def test_non_admins_of_fulda_get_403(
    client: Client, login: Any, fulda_objects: dict[str, Any], who: str, request: pytest.FixtureRequest
) -> None:
    login(client, request.getfixturevalue(who))
    for method, url, data in fulda_urls(fulda_objects):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (who, method, url, response.status_code)
    assert_nothing_changed(fulda_objects)


def test_owner_reaches_every_page(client: Client, login: Any, owner: Any, fulda_objects: dict[str, Any]) -> None:
    login(client, owner)
    for method, url, _data in fulda_urls(fulda_objects):
        if method == "get":
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)


def test_platform_admin_may_administer_any_city(
    client: Client, login: Any, platform_admin: Any, fulda_objects: dict[str, Any]
) -> None:
    login(client, platform_admin)
    assert client.get("/verwaltung/fulda/").status_code == 200
    assert client.get("/verwaltung/fulda/protokoll/").status_code == 200


def test_unknown_city_is_404(client: Client, login: Any, owner: Any) -> None:
    login(client, owner)
    assert client.get("/verwaltung/atlantis/").status_code == 404


def test_index_leads_an_admin_to_their_city(client: Client, login: Any, owner: Any, colleague: Any) -> None:
    login(client, owner)
    response = client.get("/verwaltung/")
    assert response.status_code == 302
    assert response["Location"] == "/verwaltung/fulda/"
    login(client, colleague)
    assert client.get("/verwaltung/").status_code == 403


def test_outsider_addressing_fulda_objects_through_giessen_gets_404(
    client: Client, login: Any, outsider: Any, fulda_objects: dict[str, Any]
) -> None:
    # Given the admin of Gießen, who may use Gießen's administration
    login(client, outsider)
    unit, key, membership = fulda_objects["unit"], fulda_objects["key"], fulda_objects["membership"]
    base = "/verwaltung/giessen"
    assert client.get(f"{base}/").status_code == 200
    # When they put ids of Fulda's objects into Gießen's addresses, then those objects do not exist
    for method, url, data in [
        ("get", f"{base}/organisation/{unit.pk}/bearbeiten/", {}),
        ("post", f"{base}/organisation/{unit.pk}/bearbeiten/", {"name": "Umbenannt", "kind": "amt"}),
        ("get", f"{base}/organisation/{unit.pk}/loeschen/", {}),
        ("post", f"{base}/organisation/{unit.pk}/loeschen/", {}),
        ("get", f"{base}/personal/rollen/{membership.pk}/entziehen/", {}),
        ("post", f"{base}/personal/rollen/{membership.pk}/entziehen/", {}),
        ("get", f"{base}/api-schluessel/{key.uuid}/widerrufen/", {}),
        ("post", f"{base}/api-schluessel/{key.uuid}/widerrufen/", {}),
    ]:
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url, response.status_code)
    assert_nothing_changed(fulda_objects)


def test_outsider_cannot_use_fulda_unit_as_parent_in_giessen(
    client: Client, login: Any, outsider: Any, fulda_objects: dict[str, Any]
) -> None:
    login(client, outsider)
    response = client.post(
        "/verwaltung/giessen/organisation/",
        {"name": "Trojanisches Amt", "kind": "amt", "parent": fulda_objects["unit"].pk},
    )
    assert response.status_code == 200
    assert "parent" in response.context["form"].errors
    assert not OrgUnit.objects.filter(name="Trojanisches Amt").exists()


def test_outsider_cannot_assign_fulda_unit_to_giessen_staff(
    client: Client, login: Any, outsider: Any, citizen: Any, fulda_objects: dict[str, Any]
) -> None:
    login(client, outsider)
    response = client.post(
        "/verwaltung/giessen/personal/",
        {
            "form": "existing",
            "existing-identifier": "citizen",
            "existing-role": Role.ANALYST,
            "existing-org_unit": fulda_objects["unit"].pk,
        },
    )
    assert response.status_code == 200
    assert "org_unit" in response.context["existing_form"].errors
    assert not Membership.objects.filter(user=citizen).exists()
