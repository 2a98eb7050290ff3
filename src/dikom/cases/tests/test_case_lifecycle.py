"""A submitted application becomes a case; a caseworker takes it to a decision letter and into the e-file."""

from __future__ import annotations

import copy
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from lxml import etree

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import actions
from dikom.cases.efile import xdomea
from dikom.cases.models import Case, CaseDocument, CaseMessage, Task
from dikom.lib.testing import run_task_worker
from dikom.municipalities.tests.factories import OrgUnitFactory
from dikom.portal import actions as portal_actions
from dikom.portal.models import Application
from dikom.portal.tests.conftest import FAMILY, VALID_IBAN, release_and_adopt

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def english() -> Any:
    """The messages checked below are the English msgids (the installation default is German)."""
    with translation.override("en"):
        yield


def pdf_streams(pdf: bytes) -> bytes:
    """All stream contents of a PDF, decompressed where they are Flate-encoded."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            out.append(match.group(1))
    return b"\n".join(out)


def pdf_text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def submit(adoption: Any) -> Application:
    """A citizen's submission through the portal's actions (the portal's own tests cover the pages)."""
    from dikom.eservices.service import adoption_for

    offered = adoption_for(adoption.municipality, adoption.definition.slug)
    application = portal_actions.start_application(adopted=offered)
    portal_actions.save_step_answers(
        application,
        "person",
        {"name": "Erika Muster", "email": "erika@example.org", "plz": "36037", "hat_kinder": "no"},
        next_step=3,
    )
    portal_actions.save_step_answers(application, "bank", {"iban": VALID_IBAN}, next_step=3)
    application, won = portal_actions.submit_application(application, submission_key=application.submission_key)
    assert won
    return application


@pytest.fixture
def unit(city_a: Any) -> Any:
    return OrgUnitFactory(municipality=city_a, name="Bürgerbüro", short_name="BB")


def adopt(city: Any, unit: Any, bpmn: str | None = None) -> Any:
    """The family service released and adopted by ``city`` for ``unit``, with the process ``bpmn``
    (a file of ``tests/bpmn``) if given."""
    definition = copy.deepcopy(FAMILY)
    if bpmn:
        definition["processing"] = {"bpmn": (Path(__file__).parent / "bpmn" / bpmn).read_text(encoding="utf-8")}
    adoption = release_and_adopt(definition, city)
    adoption.org_unit = unit
    adoption.save(update_fields=["org_unit"])
    return adoption


@pytest.fixture
def adoption_with_unit(city_a: Any, city_b: Any, unit: Any) -> Any:
    return adopt(city_a, unit)


@pytest.fixture
def caseworker(city_a: Any, unit: Any) -> Any:
    return MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit).user


@pytest.fixture
def second_caseworker(city_a: Any, unit: Any) -> Any:
    return MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit).user


def test_submission_opens_a_case_with_a_task_for_the_responsible_unit(adoption_with_unit: Any, unit: Any) -> None:
    application = submit(adoption_with_unit)
    case = Case.objects.get(application=application)
    assert case.reference == application.reference and case.org_unit == unit
    assert case.status == "open"
    application.refresh_from_db()
    assert application.status == "in_processing"
    [task] = case.tasks.all()
    assert task.name == "Antrag prüfen und entscheiden" and task.org_unit == unit and task.status == "open"
    assert [e.kind for e in case.events.all()] == ["opened", "task_created"]
    # The same signal again (a retry) opens no second case.
    assert actions.open_case(application).pk == case.pk


def test_two_caseworkers_on_one_task_one_wins(adoption_with_unit: Any, caseworker: Any, second_caseworker: Any) -> None:
    case = Case.objects.get(application=submit(adoption_with_unit))
    task = case.tasks.get()
    seen_version = task.lock_version  # both loaded the inbox at the same time
    actions.claim_task(task, caseworker, expected_version=seen_version)
    with pytest.raises(actions.StaleTask, match="Someone else changed this task"):
        actions.claim_task(task, second_caseworker, expected_version=seen_version)
    task.refresh_from_db()
    assert task.assignee == caseworker


def test_from_task_to_decision_letter_and_efile(
    adoption_with_unit: Any, caseworker: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DIKOM_EFILE_CONNECTOR = "filedrop"
    settings.DIKOM_EFILE_DROP_DIR = str(tmp_path / "efile")
    (tmp_path / "efile").mkdir()  # the mounted drop folder of the e-file system
    case = Case.objects.get(application=submit(adoption_with_unit))
    task = case.tasks.get()
    task = actions.claim_task(task, caseworker, expected_version=task.lock_version)
    actions.complete_task(task, caseworker, expected_version=task.lock_version, result="Angaben vollständig.")
    case.refresh_from_db()
    assert case.tasks.filter(status="open").count() == 0  # the default process has ended

    with pytest.raises(actions.CaseActionError, match="reasons"):
        actions.decide(case, caseworker, outcome="rejected", reasons="")
    actions.decide(case, caseworker, outcome="approved", reasons="Alle Voraussetzungen liegen vor.")
    case.refresh_from_db()
    assert case.status == "decided" and case.decided_at is not None and not case.decided_automatically
    letter = case.documents.get(kind=CaseDocument.Kind.LETTER)
    pdf = letter.file.read()
    assert pdf.startswith(b"%PDF-")
    assert b'pdfaid:part="3" pdfaid:conformance="B"' in pdf_streams(pdf)  # PDF/A-3b in the XMP metadata
    message = case.messages.get(kind=CaseMessage.Kind.DECISION)
    assert message.document == letter and letter.visible_to_citizen

    actions.close_case(case, caseworker)
    run_task_worker()
    case.refresh_from_db()
    assert case.status == "closed" and case.efile_status == "transferred", case.efile_error
    [package] = list((tmp_path / "efile").glob("*.zip"))
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        [xml_name] = [name for name in names if name.endswith(".xml")]
        xml = archive.read(xml_name)
        [application_pdf] = [archive.read(name) for name in names if name.endswith("Antrag-" + case.reference + ".pdf")]
    assert any(name.endswith(".pdf") for name in names)
    assert xdomea.validate(xml) == []  # the official xdomea 3.0.0 XSDs
    message = etree.fromstring(xml)
    ns = {"x": xdomea.NS}
    history = message.xpath("//x:HistorienProtokollInformation", namespaces=ns)
    actions_de = [entry.findtext("x:Aktion", namespaces=ns) for entry in history]
    actors_de = {entry.findtext("x:Akteur", namespaces=ns) for entry in history}
    assert actions_de[0] == "Antrag eingegangen, Fall eröffnet"
    for german in ["Aufgabe übernommen", "Aufgabe erledigt", "Entscheidung getroffen", "Bescheid zugestellt"]:
        assert german in actions_de
    assert not set(actions_de) & {e.kind for e in case.events.all()}  # no internal event kind in the e-file
    assert actors_de <= {"Sachbearbeitung", "Automatisierung", "System"}

    # The citizen's application is in the e-file as a PDF/A, and it is the receipt the citizen downloads.
    documents = message.xpath("//x:Vorgang/x:Dokument", namespaces=ns)
    first = documents[0]
    assert first.findtext("x:Typ", namespaces=ns) == "Antrag"
    assert first.xpath("x:Version/x:Format/x:Name/code/text()", namespaces=ns) == [xdomea.FORMAT_PDF_ARCHIVAL]
    assert b'pdfaid:part="3" pdfaid:conformance="B"' in pdf_streams(application_pdf)
    from dikom.portal.receipt import receipt_html, receipt_pdf

    html = receipt_html(case.application)
    for shown in ["Erika Muster", "erika@example.org", "36037", "Keine Anlagen", "Ohne Anmeldung", case.reference]:
        assert shown in html
    efile_text = pdf_text(application_pdf)
    assert efile_text == pdf_text(receipt_pdf(case.application))  # the portal's receipt view returns receipt_pdf
    assert "Eingangsbestätigung" in efile_text and "Erika Muster" in efile_text and case.reference in efile_text
    kinds = [e.kind for e in case.events.all()]
    for expected in ["opened", "task_claimed", "task_completed", "decided", "letter_delivered", "closed"]:
        assert expected in kinds


def test_information_request_waits_for_the_citizen(adoption_with_unit: Any, caseworker: Any) -> None:
    case = Case.objects.get(application=submit(adoption_with_unit))
    request = actions.request_information(case, caseworker, subject="Nachweis fehlt", body="Bitte Nachweis senden.")
    case.refresh_from_db()
    assert case.status == "waiting_for_citizen"
    with pytest.raises(actions.CaseActionError, match="do not wait for the citizen"):
        actions.decide(case, caseworker, outcome="approved", reasons="")
    actions.answer_information(case, None, request, "Anbei.", [])
    case.refresh_from_db()
    assert case.status == "open"
    with pytest.raises(actions.CaseActionError, match="already been answered"):
        actions.answer_information(case, None, request, "Nochmal.", [])


def test_consulting_another_unit_runs_in_parallel(adoption_with_unit: Any, caseworker: Any, city_a: Any) -> None:
    other = OrgUnitFactory(municipality=city_a, name="Ordnungsamt")
    case = Case.objects.get(application=submit(adoption_with_unit))
    consultation = actions.consult(case, caseworker, org_unit=other, question="Bestehen Bedenken?")
    open_units = set(case.tasks.filter(status="open").values_list("org_unit__name", flat=True))
    assert open_units == {"Bürgerbüro", "Ordnungsamt"}
    assert consultation.kind == Task.Kind.CONSULTATION


def test_citizens_without_account_get_the_letter_by_mail(
    adoption_with_unit: Any, caseworker: Any, mailoutbox: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    case = Case.objects.get(application=submit(adoption_with_unit))
    actions.request_information(case, caseworker, subject="Nachweis fehlt", body="Bitte den Nachweis senden.")
    case.refresh_from_db()
    actions.answer_information(case, None, case.messages.get(kind="information_request"), "Anbei.", [])
    actions.decide(case, caseworker, outcome="approved", reasons="")
    run_task_worker()
    assert [m.to for m in mailoutbox] == [["erika@example.org"], ["erika@example.org"]]
    request_mail, letter_mail = mailoutbox
    assert "Bitte den Nachweis senden." in request_mail.body and case.reference in request_mail.body
    [(name, content, content_type)] = letter_mail.attachments
    assert (
        name == f"Bescheid-{case.reference}.pdf" and content.startswith(b"%PDF") and content_type == "application/pdf"
    )


def test_a_failed_efile_transfer_counts_as_a_transmission_error(
    adoption_with_unit: Any, caseworker: Any, settings: Any, tmp_path: Any
) -> None:
    from dikom.analytics.models import UsageEvent

    settings.MEDIA_ROOT = str(tmp_path)
    settings.DIKOM_EFILE_CONNECTOR = "filedrop"
    settings.DIKOM_EFILE_DROP_DIR = str(tmp_path / "not-mounted")
    case = Case.objects.get(application=submit(adoption_with_unit))
    actions.decide(case, caseworker, outcome="approved", reasons="")
    actions.close_case(case, caseworker)
    run_task_worker()
    case.refresh_from_db()
    assert case.efile_status in {"retrying", "failed"} and case.efile_error
    errors = UsageEvent.objects.filter(type="transmission_error", municipality=case.municipality)
    assert errors.count() == 1 and errors.get().service.external_key == case.service_slug


def test_a_process_that_cannot_start_still_gives_a_case(city_a: Any, city_b: Any, unit: Any, monkeypatch: Any) -> None:
    from dikom.cases import workflow

    adoption = adopt(city_a, unit, "camunda7_special_use.bpmn")
    monkeypatch.setitem(workflow.SERVICE_TASKS, "sondernutzung-pruefen", lambda call, context: 1 / 0)
    case = Case.objects.get(application=submit(adoption))
    assert case.events.filter(kind="workflow_error").exists()
    [task] = case.tasks.all()
    assert task.org_unit == unit and task.status == "open"


def test_a_reminder_timer_of_the_process_reminds_the_unit_once(
    city_a: Any, city_b: Any, unit: Any, caseworker: Any, mailoutbox: Any
) -> None:
    import datetime as dt

    from django.utils import timezone

    building = OrgUnitFactory(municipality=city_a, name="Building department", email="bau@fulda.example")
    adoption = adopt(city_a, unit, "subsidy.bpmn")
    case = Case.objects.get(application=submit(adoption))
    first = case.tasks.get(status="open")
    actions.complete_task(first, caseworker, expected_version=first.lock_version)
    assert case.tasks.filter(status="open", org_unit=building).exists()  # the technical review

    # Eight days later the non-interrupting 7-day timer fires: a reminder, the review stays open.
    later = timezone.now() + dt.timedelta(days=8)
    assert actions.process_due_timers(case, later)
    run_task_worker()
    assert case.events.filter(kind="reminder").count() == 1
    assert any(m.to == ["bau@fulda.example"] and "Technical review" in m.body for m in mailoutbox)
    assert case.tasks.filter(status="open", org_unit=building).exists()
    assert not actions.process_due_timers(case, later)  # nothing due again
    assert case.events.filter(kind="reminder").count() == 1


def test_the_clock_evaluates_only_cases_whose_process_has_timers(
    city_a: Any, city_b: Any, unit: Any, monkeypatch: Any
) -> None:
    from dikom.cases import tasks

    # Given an open case of a process with a timer and one of the default process (none)
    with_timer = Case.objects.get(application=submit(adopt(city_a, unit, "subsidy.bpmn")))
    without = Case.objects.get(application=submit(adopt(city_b, None)))
    assert "timerEventDefinition" not in without.process_xml and without.is_open

    evaluated: list[int] = []
    real = actions.process_due_timers
    monkeypatch.setattr(actions, "process_due_timers", lambda case, now: evaluated.append(case.pk) or real(case, now))

    tasks.process_case_clock.call()

    # Then only the first was looked at (and locked); nothing was due yet.
    assert evaluated == [with_timer.pk]
