"""The demo cases run through complete processes, with letters and validated xdomea files."""

from __future__ import annotations

import zipfile
from typing import Any

import pytest

from dikom.cases.demo import load_demo_cases
from dikom.cases.efile import xdomea
from dikom.cases.models import Case
from dikom.demo.actions import load_demo_cooperation
from dikom.eservices.service import load_demo_services
from dikom.lib.testing import run_task_worker
from dikom.portal.demo import load_demo_applications

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_cases_are_decided_closed_and_filed(settings: Any, tmp_path: Any) -> None:
    settings.DIKOM_DEMO = True
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DIKOM_EFILE_CONNECTOR = "filedrop"
    settings.DIKOM_EFILE_DROP_DIR = str(tmp_path / "e-akte")
    load_demo_cooperation(password="Demo-Passwort-123")
    load_demo_services()
    load_demo_applications()

    result = load_demo_cases()
    run_task_worker()

    parking, still_open = Case.objects.filter(
        municipality__slug="marburg", service_slug="bewohnerparkausweis"
    ).order_by("opened_at", "pk")
    # Marburg's first parking permit is worked to the end by its demo caseworker; the second stays open.
    assert parking.decided_by.username == "marburg-caseworker" and still_open.status == "open"
    nappies = Case.objects.get(municipality__slug="giessen", service_slug="zuschuss-mehrwegwindeln")
    assert sorted(result.worked) == sorted([parking.reference, nappies.reference])
    # Marburg: information requested and answered in the portal, then approved.
    assert parking.messages.filter(kind="information_request", answered_by__isnull=False).count() == 1
    assert (parking.status, parking.outcome, parking.efile_status) == ("closed", "approved", "transferred")
    # Gießen: two departments in parallel, decision signed off by a second person.
    units = set(nappies.tasks.filter(kind="workflow").values_list("org_unit__short_name", flat=True))
    assert units == {"32.1", "FB 67"}
    assert nappies.signed_off_by is not None and nappies.signed_off_by != nappies.decided_by
    assert (nappies.status, nappies.outcome, nappies.efile_status) == ("closed", "partly_approved", "transferred")
    # Fulda: decided automatically by the city's demo rule, marked as such.
    dog_tax = Case.objects.get(municipality__slug="fulda", service_slug="hundesteuer-anmeldung")
    assert (dog_tax.status, dog_tax.outcome, dog_tax.decided_automatically) == ("closed", "approved", True)
    assert dog_tax.events.filter(automatic=True, actor_label__startswith="Regel:").exists()
    for case in (parking, nappies, dog_tax):
        assert case.documents.filter(kind="letter").count() == 1
    packages = sorted((tmp_path / "e-akte").glob("*.zip"))
    assert len(packages) == 3
    for package in packages:
        with zipfile.ZipFile(package) as archive:
            [message] = [archive.read(n) for n in archive.namelist() if n.endswith(".xml")]
        try:
            assert xdomea.validate(message) == []
        except xdomea.XsdUnavailable:
            from conftest import skip_or_fail

            skip_or_fail("the xdomea XSDs (../shared/standards/xdomea/3.0.0/) are not available")
    # Loading again works nothing twice.
    assert load_demo_cases().worked == []
