"""The city header and the step indicator of the portal's pages are kept per process (``{% fragment %}``,
issue 21): whatever they show is in their key, so a change shows on the next request."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dikom.eservices.models import Adoption
from dikom.lib.testing import english_client
from dikom.municipalities.models import Municipality
from dikom.portal.tests.test_journey import PERSON, start, step_url

pytestmark = pytest.mark.django_db


def _city_header(html: str) -> str:
    match = re.search(r'<div class="portal-city">.*?</div>', html, re.S)
    assert match, "city header missing"
    return match.group(0)


def _indicator(html: str) -> str:
    match = re.search(r'<nav class="portal-progress".*?</nav>', html, re.S)
    assert match, "step indicator missing"
    return match.group(0)


def test_city_header_shows_a_changed_name_and_contact_at_once(adoption: Any) -> None:
    client = english_client()
    city = adoption.municipality
    service_page = f"/portal/{city.slug}/dienst/{adoption.definition.slug}/"
    header = _city_header(client.get(service_page).content.decode())
    assert city.name in header and "mailto:buergerbuero@example.org" in header

    Municipality.objects.filter(pk=city.pk).update(name="Neustadt an der Probe")
    Adoption.objects.filter(pk=adoption.pk).update(contact_email="rathaus@example.org", contact_phone="06421 123")
    header = _city_header(client.get(service_page).content.decode())
    assert "Neustadt an der Probe" in header and city.name not in header
    assert "mailto:rathaus@example.org" in header and 'href="tel:06421123"' in header
    assert "buergerbuero@example.org" not in header


def test_step_indicator_follows_the_answers(adoption: Any) -> None:
    client = english_client()
    application = start(client, adoption)
    first = _indicator(client.get(step_url(application, 1)).content.decode())
    # No answers yet: the children step is hidden (applicant, bank, summary).
    assert "Step 1 of 3" in first and 'aria-current="step"' in first and "Children" not in first

    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "yes", "action": "next"})
    with_children = _indicator(client.get(step_url(application, 1)).content.decode())
    assert "Step 1 of 4" in with_children and "Children" in with_children

    client.post(step_url(application, 1), {**PERSON, "f-hat_kinder": "no", "action": "next"})
    bank = _indicator(client.get(step_url(application, 3)).content.decode())
    assert "Step 2 of 3" in bank and "Children" not in bank
    assert bank.count("portal-progress__stage--done") == 1  # the applicant's step before it
    assert _indicator(client.get(step_url(application, 1)).content.decode()) == first
