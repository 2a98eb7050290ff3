"""The finder's service list and the page frame are rendered once per process and key
(``{% fragment %}``, issue 21); whatever changes what they show must show at once.

The process-wide store is not emptied between the requests of a test: each test first
renders the page (so that the fragments are stored), then changes the data, as another
process or the administration would, and loads the page again.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dikom.accounts.tests.factories import UserFactory
from dikom.eservices.models import Adoption, ServiceVersion
from dikom.lib import fragments
from dikom.lib.testing import english_client
from dikom.portal.tests.conftest import release_and_adopt

pytestmark = pytest.mark.django_db


def _finder(client: Any, adoption: Adoption) -> str:
    response = client.get(f"/portal/{adoption.municipality.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_new_adoption_shows_in_a_list_rendered_before(adoption: Adoption, family: dict[str, Any]) -> None:
    client = english_client()
    page = _finder(client, adoption)
    assert "Family grant" in page
    assert fragments.size() > 0

    other = copy.deepcopy(family)
    other["identity"]["title"] = {"de": "Hundesteuer", "en": "Dog tax"}
    release_and_adopt(other, adoption.municipality, suffix=" 2")

    page = _finder(client, adoption)
    assert "Family grant" in page
    assert "Dog tax" in page


def test_a_switched_off_service_leaves_the_list(adoption: Adoption) -> None:
    client = english_client()
    assert "Family grant" in _finder(client, adoption)

    # A bulk update (no save(), no signal), as a migration or another process could do it.
    Adoption.objects.filter(pk=adoption.pk).update(active=False)

    page = _finder(client, adoption)
    assert "Family grant" not in page
    assert "This city does not offer online services here yet." in page


def test_an_upgraded_version_shows_its_own_title_and_contact(adoption: Adoption, family: dict[str, Any]) -> None:
    client = english_client()
    page = _finder(client, adoption)
    assert "Family grant" in page
    assert "buergerbuero@example.org" in page

    content = copy.deepcopy(family)
    content["identity"]["title"] = {"de": "Familienzuschuss neu", "en": "Family grant, new edition"}
    old = adoption.version
    newer = ServiceVersion.objects.create(
        definition=old.definition,
        number=old.number + 1,
        status=ServiceVersion.Status.RELEASED,
        released_at=timezone.now(),
        content=content,
        municipality=old.municipality,
    )
    Adoption.objects.filter(pk=adoption.pk).update(version=newer, contact_email="familie@example.org")

    page = _finder(client, adoption)
    assert "Family grant, new edition" in page, page[page.find("<main") : page.find("</main>")]
    assert "familie@example.org" in page
    assert "buergerbuero@example.org" not in page


def test_each_language_has_its_own_list(adoption: Adoption) -> None:
    assert "Family grant" in _finder(english_client(), adoption)
    german = _finder(Client(), adoption)
    assert "Familienzuschuss" in german
    assert "Family grant" not in german
    assert 'lang="de"' in german


def test_the_search_narrows_a_cached_list(adoption: Adoption, family: dict[str, Any]) -> None:
    other = copy.deepcopy(family)
    other["identity"]["title"] = {"de": "Hundesteuer", "en": "Dog tax"}
    other["identity"]["keywords"] = ["Hund"]
    release_and_adopt(other, adoption.municipality, suffix=" 2")
    client = english_client()
    assert "Dog tax" in _finder(client, adoption)

    response = client.get(f"/portal/{adoption.municipality.slug}/", {"q": "hund"})
    page = response.content.decode()
    assert "Dog tax" in page
    assert "Family grant" not in page


def test_the_navigation_follows_the_visitor_and_the_path(adoption: Adoption) -> None:
    client = english_client()
    city = adoption.municipality.slug
    page = client.get(f"/portal/{city}/").content.decode()
    assert f"?next=/portal/{city}/" in page
    page = client.get(f"/portal/{city}/dienst/{adoption.definition.slug}/").content.decode()
    assert f"?next=/portal/{city}/dienst/{adoption.definition.slug}/" in page
    assert "My applications</a></li>" not in page.split("</nav>")[0]

    citizen: Any = UserFactory()
    client.force_login(citizen)
    page = client.get(f"/portal/{city}/").content.decode()
    header = page.split("</header>")[0]
    assert "My applications" in header
    assert "?next=" not in header
    assert "Log out" in header
    # The language switcher keeps its own CSRF token and the page it returns to (not cached).
    assert 'name="csrfmiddlewaretoken"' in header
    assert f'name="next" value="/portal/{city}/"' in header
