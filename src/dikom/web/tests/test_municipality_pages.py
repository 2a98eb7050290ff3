"""The member list and the citizen-facing city pages with municipality branding."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from dikom.municipalities.models import Municipality
from dikom.municipalities.tests.factories import MunicipalityFactory

pytestmark = pytest.mark.django_db


def test_member_list_shows_cities_with_details(client: Client, city_a, city_b) -> None:
    Municipality.objects.filter(pk=city_a.pk).update(membership=Municipality.Membership.FOUNDING)
    response = client.get("/kommunen/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<a href="/kommunen/fulda/">Fulda</a>' in html
    assert '<a href="/kommunen/giessen/">Gießen</a>' in html
    assert "Landkreis Fulda" in html
    assert "69.000" in html  # German thousands separator
    assert "92.000" in html
    assert '<div class="table-wrapper"' in html
    assert '<span class="badge badge--success">' in html  # founding member


def test_member_list_query_count_does_not_grow(client: Client, django_assert_max_num_queries) -> None:
    MunicipalityFactory.create_batch(8)
    with django_assert_max_num_queries(2):
        response = client.get("/kommunen/")
    assert response.status_code == 200
    assert response.content.decode().count('<th scope="row">') == 8


def test_city_page_shows_name_and_placeholder_arms(client: Client, city_a) -> None:
    response = client.get("/kommunen/fulda/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Fulda</h1>" in html
    assert '<svg class="arms"' in html
    assert ">F</text>" in html
    assert "Platzhalterwappen" in html
    # "Online-Dienste" leads to the city's citizen portal, not to the staff's library.
    assert 'href="/portal/fulda/"' in html and 'href="/dienste/"' not in html


def test_city_page_uses_uploaded_logo(client: Client, city_a, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    city_a.logo.save("fulda.svg", ContentFile(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), save=True)
    html = client.get("/kommunen/fulda/").content.decode()
    assert re.search(r'<img src="/media/municipalities/logos/fulda[^"]*\.svg" alt="[^"]*Fulda">', html)
    assert '<svg class="arms"' not in html


def test_brand_style_carries_the_csp_nonce(client: Client, city_a) -> None:
    response = client.get("/kommunen/fulda/")
    match = re.search(r'<style nonce="([^"]+)">([^<]*)</style>', response.content.decode())
    assert match
    assert f"'nonce-{match.group(1)}'" in response.headers["Content-Security-Policy"]


def test_brand_colour_sets_brand_and_readable_text(client: Client, city_a) -> None:
    Municipality.objects.filter(pk=city_a.pk).update(brand_colour="#FFD700")  # gold: needs black text
    html = client.get("/kommunen/fulda/").content.decode()
    match = re.search(r'<style nonce="[^"]+">([^<]*)</style>', html)
    assert match
    assert "--brand: #ffd700;" in match.group(1)
    assert "--on-brand: #000000;" in match.group(1)

    Municipality.objects.filter(pk=city_a.pk).update(brand_colour="#003366")  # dark blue: white text
    html = client.get("/kommunen/fulda/").content.decode()
    assert "--brand: #003366; --on-brand: #ffffff;" in html


def test_invalid_stored_colour_never_reaches_css(client: Client, city_a) -> None:
    # Stored behind the validator's back, e.g. by an import: must not inject CSS.
    Municipality.objects.filter(pk=city_a.pk).update(brand_colour="red;}*{")
    response = client.get("/kommunen/fulda/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "red;}" not in html
    assert "--brand: #005a9c;" in html


def test_unknown_city_is_404(client: Client, city_a) -> None:
    response = client.get("/kommunen/atlantis/")
    assert response.status_code == 404
    assert "Fehler 404" in response.content.decode()
