"""Self-assessment against the descriptors, review by the line manager, evidence, history, all through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dikom.audit.models import AuditEvent
from dikom.competences.models import Assessment, Evidence
from dikom.competences.tests.conftest import Team
from dikom.lib.testing import english_client
from dikom.scanning import eicar

pytestmark = pytest.mark.django_db

LEVELS = {"level_1.1": 3, "level_4.2": 2, "level_2.4": 3}


def test_self_assessment_form_shows_the_level_descriptors(team: Team, login: Any) -> None:
    client = login(english_client(), team.clerk.user)
    html = client.get(f"/kompetenzen/personen/{team.clerk.uuid}/selbsteinschaetzung/").content.decode()
    assert "Protecting personal data and privacy" in html
    assert "Well-defined, routine tasks and straightforward problems, on my own." in html  # level 3
    assert html.count('type="radio"') == 3 * 8


def test_german_self_assessment_is_the_default(team: Team, login: Any) -> None:
    from django.test import Client

    client = login(Client(), team.clerk.user)
    html = client.get(f"/kompetenzen/personen/{team.clerk.uuid}/selbsteinschaetzung/").content.decode()
    assert "Personenbezogene Daten und Privatsphäre schützen" in html
    assert "Einfache Aufgaben, mit Anleitung." in html
    assert "Selbsteinschätzung speichern" in html


def test_missing_level_is_refused_with_a_message(team: Team, login: Any) -> None:
    client = login(english_client(), team.clerk.user)
    response = client.post(
        f"/kompetenzen/personen/{team.clerk.uuid}/selbsteinschaetzung/", {"level_1.1": 3, "level_4.2": 99}
    )
    assert response.status_code == 400
    assert "Please choose a level for this competence." in response.content.decode()
    assert not Assessment.objects.exists()


def test_self_assessment_then_manager_confirms_and_corrects(team: Team, login: Any) -> None:
    clerk = login(english_client(), team.clerk.user)
    response = clerk.post(f"/kompetenzen/personen/{team.clerk.uuid}/selbsteinschaetzung/", LEVELS)
    assert response.status_code == 302
    assert Assessment.objects.filter(staff=team.clerk, status="pending").count() == 3

    manager = login(english_client(), team.manager)
    page = manager.get("/kompetenzen/").content.decode()
    assert "My team" in page and f"/kompetenzen/personen/{team.clerk.uuid}/" in page
    by_code = {a.competence_code: a for a in Assessment.objects.filter(staff=team.clerk)}
    base = f"/kompetenzen/personen/{team.clerk.uuid}/bewertung/"
    assert manager.post(f"{base}{by_code['1.1'].uuid}/", {"level": 3}).status_code == 302
    assert manager.post(f"{base}{by_code['4.2'].uuid}/", {"level": 1, "comment": "Schulung fehlt"}).status_code == 302
    assert manager.post(f"{base}{by_code['2.4'].uuid}/", {"level": 42}).status_code == 400

    statuses = dict(Assessment.objects.filter(staff=team.clerk).values_list("competence_code", "status"))
    assert statuses == {"1.1": "confirmed", "4.2": "corrected", "2.4": "pending"}
    assert AuditEvent.objects.filter(action="competences.assessment.review").count() == 2

    # The gaps are required minus confirmed: 4-3 = 1 and 5-1 = 4; the unconfirmed one counts as 0.
    html = clerk.get(f"/kompetenzen/personen/{team.clerk.uuid}/").content.decode()
    assert "<strong>1</strong>" in html and "<strong>4</strong>" in html and "Schulung fehlt" in html

    # A new self-assessment adds history; the old confirmed row stays.
    clerk.post(f"/kompetenzen/personen/{team.clerk.uuid}/selbsteinschaetzung/", {**LEVELS, "level_1.1": 4})
    assert Assessment.objects.filter(staff=team.clerk, competence_code="1.1").count() == 2
    html = clerk.get(f"/kompetenzen/personen/{team.clerk.uuid}/").content.decode()
    assert html.count('<th scope="row">1.1</th>') == 2


def _assessment(team: Team, login: Any) -> tuple[Any, Assessment]:
    client = login(english_client(), team.clerk.user)
    client.post(f"/kompetenzen/personen/{team.clerk.uuid}/selbsteinschaetzung/", LEVELS)
    return client, Assessment.objects.get(staff=team.clerk, competence_code="4.2")


def test_evidence_note_and_certificate(team: Team, login: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    client, assessment = _assessment(team, login)
    url = f"/kompetenzen/personen/{team.clerk.uuid}/nachweis/{assessment.uuid}/"
    assert client.post(url, {"note": "Datenschutzschulung 2026 besucht"}).status_code == 302
    pdf = SimpleUploadedFile("Zertifikat Datenschutz.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    assert client.post(url, {"file": pdf}).status_code == 302
    kinds = sorted(Evidence.objects.values_list("kind", flat=True))
    assert kinds == ["certificate", "note"]
    certificate = Evidence.objects.get(kind="certificate")
    assert certificate.file_name == "Zertifikat_Datenschutz.pdf"

    # The manager downloads it, which is logged; the file is served as an attachment.
    manager = login(english_client(), team.manager)
    response = manager.get(f"/kompetenzen/personen/{team.clerk.uuid}/datei/{certificate.uuid}/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert AuditEvent.objects.filter(action="competences.assessment.view", changes__view="evidence").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("zertifikat.exe", b"MZ\x90\x00not a certificate", "Please upload the certificate as PDF, PNG or JPEG."),
        ("eicar.pdf", b"%PDF-1.4\n" + eicar.SIGNATURE, "EICAR anti-virus test file"),
        (
            "aktiv.pdf",
            b"%PDF-1.4\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF",
            "active content",
        ),
    ],
)
def test_bad_certificates_are_refused(
    team: Team, login: Any, settings: Any, tmp_path: Any, name: str, content: bytes, message: str
) -> None:
    settings.MEDIA_ROOT = tmp_path
    client, assessment = _assessment(team, login)
    url = f"/kompetenzen/personen/{team.clerk.uuid}/nachweis/{assessment.uuid}/"
    response = client.post(url, {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Evidence.objects.exists()


def test_empty_evidence_is_refused(team: Team, login: Any) -> None:
    client, assessment = _assessment(team, login)
    response = client.post(f"/kompetenzen/personen/{team.clerk.uuid}/nachweis/{assessment.uuid}/", {"note": " "})
    assert response.status_code == 400
    assert "Please write a note or choose a file." in response.content.decode()
