"""The account page: profile, roles per city, two-factor status."""

from __future__ import annotations

from django.urls import reverse

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory


def test_account_url():
    assert reverse("accounts:account") == "/konto/"


def test_account_page_requires_login(client, db):
    response = client.get("/konto/")
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/anmelden/")


def test_account_page_shows_profile_roles_and_2fa_status(client, owner, city_b, login):
    MembershipFactory(user=owner, municipality=city_b, role=Role.ANALYST)
    login(client, owner)
    response = client.get("/konto/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "owner@example.org" in html
    assert "Fulda" in html and "Gießen" in html
    assert html.count("<tr>") == 3  # header and one row per role
    memberships = list(response.context["memberships"])
    assert {(m.municipality.name, m.role) for m in memberships} == {
        ("Fulda", Role.MUNICIPALITY_ADMIN),
        ("Gießen", Role.ANALYST),
    }
    assert response.context["has_totp"] is True
    assert response.context["two_factor_required"] is True
    assert reverse("accounts:password_change") in html
    assert reverse("accounts:two_factor_backup_codes") in html
    assert reverse("accounts:two_factor_disable") not in html  # staff cannot switch it off


def test_citizen_account_page_offers_2fa_set_up(client, citizen):
    client.force_login(citizen)
    response = client.get("/konto/")
    assert response.status_code == 200
    assert response.context["has_totp"] is False
    assert not response.context["memberships"]
    assert reverse("accounts:two_factor_setup") in response.content.decode()


def test_account_page_has_no_inline_styles_or_scripts(client, citizen):
    client.force_login(citizen)
    html = client.get("/konto/").content.decode()
    assert " style=" not in html
    assert " onclick=" not in html
