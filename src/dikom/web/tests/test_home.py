"""The start page after log-in: workplaces for staff, the account for citizens."""

from __future__ import annotations

import pytest
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get("/start/")
    assert response.status_code == 302
    assert response.url.startswith("/konto/anmelden/")


def test_staff_see_their_municipalities_roles_and_tools(client: Client, owner, city_b, login) -> None:
    MembershipFactory(user=owner, municipality=city_b, role=Role.ANALYST)
    login(client, owner)
    html = client.get("/start/").content.decode()
    assert "<h2>Fulda</h2>" in html
    assert "<h2>Gießen</h2>" in html
    assert '<span class="badge">Administration der Kommune</span>' in html
    assert '<span class="badge">Analyse</span>' in html
    assert 'href="/verwaltung/fulda/"' in html
    assert 'href="/verwaltung/giessen/"' not in html  # analyst only there
    assert 'href="/analytics/"' in html


def test_caseworker_gets_case_processing_but_no_administration(client: Client, colleague, login) -> None:
    login(client, colleague)
    html = client.get("/start/").content.decode()
    assert '<span class="badge">Sachbearbeitung</span>' in html
    assert 'href="/vorgaenge/"' in html
    assert "/verwaltung/" not in html


def test_citizen_start_page_leads_to_my_applications_and_the_portals(client: Client, citizen, login) -> None:
    login(client, citizen)
    html = client.get("/start/").content.decode()
    assert "Arbeitsbereich" not in html
    assert 'action="/konto/abmelden/" method="post"' in html
    assert 'href="/portal/antraege/"' in html and 'href="/portal/"' in html
    # No placeholder promising functions that are "still being built".
    assert "entstehen" not in html and "zur Verfügung stehen" not in html


def test_start_page_query_count_is_bounded(client: Client, owner, city_b, login, django_assert_max_num_queries) -> None:
    MembershipFactory(user=owner, municipality=city_b, role=Role.ANALYST)
    login(client, owner)
    with django_assert_max_num_queries(7):
        response = client.get("/start/")
    assert response.status_code == 200
