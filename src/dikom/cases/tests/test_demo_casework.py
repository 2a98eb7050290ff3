"""The demo as a caseworker meets it: every demo application is in the inbox of the demo
caseworker of its city, who can open it and take it to the decision."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from dikom.cases.demo import load_demo_cases
from dikom.cases.models import Case
from dikom.demo.actions import load_demo_cooperation
from dikom.eservices.service import load_demo_services
from dikom.lib.testing import run_task_worker
from dikom.portal.demo import load_demo_applications

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_demo_caseworker_finds_the_citys_demo_cases_and_decides_one(
    settings: Any, tmp_path: Any, login: Any
) -> None:
    settings.DIKOM_DEMO = True
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DIKOM_EFILE_CONNECTOR = "filedrop"
    settings.DIKOM_EFILE_DROP_DIR = str(tmp_path / "e-akte")
    load_demo_cooperation(password="Demo-Passwort-123")
    load_demo_services()
    load_demo_applications()
    load_demo_cases()
    run_task_worker()

    cities = sorted(set(Case.objects.values_list("municipality__slug", flat=True)))
    assert cities == ["fulda", "giessen", "marburg", "wetzlar"]
    decided_somewhere = []
    for city in cities:
        caseworker = get_user_model().objects.get(username=f"{city}-caseworker")
        client = login(Client(), caseworker)
        # Every demo case of the city is in the demo caseworker's inbox ("Alle Vorgänge")
        inbox = client.get(f"/vorgaenge/{city}/?tab=all")
        assert inbox.status_code == 200
        cases = list(Case.objects.filter(municipality__slug=city))
        for case in cases:
            assert case.reference in inbox.content.decode(), (city, case.reference)
            assert client.get(f"/vorgaenge/{city}/{case.uuid}/").status_code == 200
        # and every open one can be decided by them
        for case in (c for c in cases if c.status == Case.Status.OPEN):
            page = client.get(f"/vorgaenge/{city}/{case.uuid}/").content.decode()
            assert 'name="decision-outcome"' in page, (city, case.reference)
            decided = client.post(f"/vorgaenge/{city}/{case.uuid}/entscheidung/", {"decision-outcome": "approved"})
            assert decided.status_code == 302, (city, case.reference)
            case.refresh_from_db()
            assert case.outcome == "approved" and case.decided_by == caseworker
            decided_somewhere.append(city)
    # Marburg and Wetzlar keep an open demo case for their caseworker.
    assert sorted(decided_somewhere) == ["marburg", "wetzlar"]


def test_marburgs_open_parking_permit_is_a_task_of_the_caseworkers_unit(
    settings: Any, tmp_path: Any, login: Any
) -> None:
    settings.DIKOM_DEMO = True
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    load_demo_cooperation(password="Demo-Passwort-123")
    load_demo_services()
    load_demo_applications()
    load_demo_cases()

    client = login(Client(), get_user_model().objects.get(username="marburg-caseworker"))
    page = client.get("/vorgaenge/marburg/?tab=unit").content.decode()
    open_case = Case.objects.get(municipality__slug="marburg", status="open")
    assert open_case.reference in page
