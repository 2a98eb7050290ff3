"""The municipality's administrator keeps the authority's name, head, address and contact that
decision letters and receipts print; changes are audited, wrong input is explained in German."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.audit.models import AuditEvent
from dikom.demo import data as demo_data
from dikom.demo.actions import load_demo_cooperation
from dikom.municipalities.models import Municipality

URL = "/verwaltung/fulda/behoerde/"
DETAILS = {
    "authority_name": "Stadt Fulda",
    "authority_head": "Der Oberbürgermeister",
    "street_address": "Schlossstraße 1",
    "postcode": "36037",
    "locality": "Fulda",
    "phone": "0661 102-0",
    "email": "buergerbuero@fulda.example",
}


def test_the_admin_saves_the_authority_details(client: Client, login: Any, owner: Any, city_a: Any) -> None:
    login(client, owner)
    page = client.get(URL).content.decode()
    assert "Behörde und Briefkopf" in page and "Amtliche Bezeichnung der Behörde" in page

    response = client.post(URL, DETAILS, follow=True)
    assert response.status_code == 200
    assert "Die Angaben für Briefe wurden gespeichert." in response.content.decode()
    city_a.refresh_from_db()
    assert {name: getattr(city_a, name) for name in DETAILS} == DETAILS
    assert city_a.official_name == "Stadt Fulda" and city_a.postal_address == "Schlossstraße 1, 36037 Fulda"
    event = AuditEvent.objects.get(action="municipality.update")
    assert event.changes["authority_name"] == ["", "Stadt Fulda"] and event.actor_id == owner.pk
    # The form shows what is stored.
    assert 'value="Schlossstraße 1"' in client.get(URL).content.decode()


def test_a_wrong_postcode_is_explained_in_german(client: Client, login: Any, owner: Any, city_a: Any) -> None:
    login(client, owner)
    response = client.post(URL, {**DETAILS, "postcode": "3603"})
    assert response.status_code == 200
    assert "Bitte geben Sie fünf Ziffern ein." in response.content.decode()
    city_a.refresh_from_db()
    assert city_a.postcode == "" and not AuditEvent.objects.filter(action="municipality.update").exists()


def test_without_an_official_name_letters_use_the_municipalitys_name(city_a: Any) -> None:
    assert city_a.official_name == city_a.name and city_a.postal_address == ""


@pytest.mark.django_db
def test_demo_cities_come_with_demo_letterheads() -> None:
    load_demo_cooperation("Demo-Passwort-123456")
    marburg = Municipality.objects.get(slug="marburg")
    assert marburg.official_name == "Universitätsstadt Marburg" and marburg.authority_head == "Der Oberbürgermeister"
    assert marburg.postal_address == "Markt 1, 35037 Marburg" and "(Demo)" in marburg.phone
    for slug in ("fulda", "giessen", "limburg", "marburg", "offenbach", "wetzlar"):
        city = Municipality.objects.get(slug=slug)
        assert city.authority_name and city.authority_head and city.street_address and city.postcode, slug
        assert city.email.endswith(".demo.dikom.invalid"), slug
    # A demo created before these fields existed gets them when the demo is loaded again.
    Municipality.objects.filter(slug="marburg").update(authority_name="", street_address="")
    load_demo_cooperation("Demo-Passwort-123456")
    marburg.refresh_from_db()
    assert marburg.authority_name == demo_data.AUTHORITIES["marburg"][0] and marburg.street_address == "Markt 1"
