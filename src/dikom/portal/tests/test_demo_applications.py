"""The demo citizen's applications: built through the portal's own actions, labelled as demo data, loaded once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.demo.actions import load_demo_cooperation
from dikom.eservices.service import load_demo_services
from dikom.payments.models import Payment
from dikom.portal.demo import load_demo_applications
from dikom.portal.models import Application

pytestmark = pytest.mark.django_db


def test_demo_applications_are_submitted_paid_and_visible_to_the_demo_citizen(settings: Any, tmp_path: Any) -> None:
    settings.DIKOM_DEMO = True
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    settings.MEDIA_ROOT = str(tmp_path)
    cooperation = load_demo_cooperation(password="Demo-Passwort-123")
    load_demo_services()

    result = load_demo_applications()

    assert len(result.submitted) == 5 and result.drafts == 1
    submitted = Application.objects.filter(status="submitted").select_related("municipality")
    assert sorted(a.municipality.slug for a in submitted) == ["fulda", "giessen", "marburg", "marburg", "wetzlar"]
    for application in submitted:
        record = application.submission_data
        assert record["reference"] == application.reference
        assert record["auth_method"] == "bundid" and record["trust_level"] == "substantial"
        assert record["answers"]["antragsteller"]["nachname"].endswith("(Demo)")
    parking = submitted.filter(municipality__slug="marburg").order_by("pk").first()
    assert parking is not None
    assert parking.submission_data["payment"]["amount_cents"] > 0
    assert Payment.objects.get(uuid=parking.submission_data["payment"]["uuid"]).status == "paid"
    nappies = submitted.get(municipality__slug="giessen")
    assert [f["content_type"] for f in nappies.submission_data["files"]] == ["application/pdf"]

    # The demo citizen sees them under "My applications".
    client = Client()
    signed_in = client.post("/konto/anmelden/", {"username": "buergerin", "password": cooperation.password})
    assert signed_in.status_code == 302
    page = client.get("/portal/antraege/").content.decode()
    assert all(a.reference in page for a in submitted)

    # Loading again adds nothing.
    assert load_demo_applications().skipped_reason == "already loaded"
    assert Application.objects.count() == 6


def test_without_a_payment_platform_the_fee_services_stay_unpaid_drafts_and_say_so(
    settings: Any, tmp_path: Any
) -> None:
    # The test settings' default: demo off, no payment platform (the crawler's set-up once had this,
    # and Marburg's caseworker found no case, both of Marburg's demo applications carry a fee).
    settings.DIKOM_PAYMENT_PROVIDERS = []
    settings.MEDIA_ROOT = str(tmp_path)
    load_demo_cooperation(password="Demo-Passwort-123")
    load_demo_services()

    result = load_demo_applications()

    assert result.unpaid == ["marburg/bewohnerparkausweis", "marburg/bewohnerparkausweis"]
    assert not Application.objects.filter(municipality__slug="marburg", status="submitted").exists()
