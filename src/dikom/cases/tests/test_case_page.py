"""The case page /vorgaenge/<slug>/<uuid>/: data with labels, attachments, workflow, tasks with locking, steps."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from dikom.cases import actions
from dikom.cases.models import Case, CaseDocument, Task
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.tests.staff_pages import PDF, case_url, client_for, hidden_value, submit_case, task_prefix
from dikom.lib.testing import run_task_worker
from dikom.portal.tests.conftest import FAMILY, release_and_adopt

pytestmark = pytest.mark.django_db


def test_case_page_shows_the_submitted_data_with_labels_and_the_workflow(
    adoption: Any, worker_a: Any, worker_b: Any, outsider: Any, citizen: Any, login: Any
) -> None:
    case = submit_case(adoption, with_file=True)
    response = client_for(login, worker_a).get(case_url(case))
    assert response.status_code == 200
    html = response.content.decode()
    # header
    assert f"Case {case.reference}" in html and "Familienzuschuss" in html and "Bürgerbüro" in html
    # the answers under the labels and step titles of the service version (English page: German labels
    # fall back to German where the definition has no English text)
    assert "<h3>Applicant</h3>" in html and "<h3>Bank account</h3>" in html
    assert "<dt>Name</dt><dd>Erika Muster</dd>" in html
    assert "<dt>Haben Sie Kinder?</dt><dd>no</dd>" in html
    assert "<dt>Nachweis</dt><dd>nachweis.pdf</dd>" in html
    # the workflow as a picture with a text alternative, the current step marked in both
    assert 'role="img"' in html and "bpmn-active" in html and "<svg" in html
    assert "Antrag prüfen und entscheiden – <strong>current step</strong>" in html
    # the open task with its forms, each carrying the lock version
    task = case.tasks.get()
    assert hidden_value(html, f"{task_prefix(task, 'complete')}-lock_version") == str(task.lock_version)
    # the history marks the automatic entries
    opened = case.events.get(kind="opened")  # stored in the language of the moment it happened
    assert opened.text in html
    assert '<span class="badge badge--muted">automatic</span> system' in html

    # nobody else: another unit of the city, another city, a citizen
    assert client_for(login, worker_b).get(case_url(case)).status_code == 404
    assert client_for(login, outsider).get(case_url(case)).status_code == 404
    assert client_for(login, outsider).get(f"/vorgaenge/giessen/{case.uuid}/").status_code == 404
    assert client_for(login, citizen).get(case_url(case)).status_code == 404
    assert client_for(login, worker_a).get("/vorgaenge/fulda/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_german_is_the_default(adoption: Any, worker_a: Any, login: Any) -> None:
    from django.test import Client

    case = submit_case(adoption)
    client = Client()
    login(client, worker_a)
    html = client.get(case_url(case)).content.decode()
    assert '<html lang="de">' in html and "<dt>Haben Sie Kinder?</dt><dd>Nein</dd>" in html


def test_attachment_preview_headers_and_access(
    adoption: Any, worker_a: Any, worker_b: Any, outsider: Any, login: Any
) -> None:
    case = submit_case(adoption, with_file=True)
    document = case.documents.get(kind=CaseDocument.Kind.ATTACHMENT)
    url = case_url(case, f"dokumente/{document.uuid}/")
    client = client_for(login, worker_a)
    assert url in client.get(case_url(case)).content.decode()

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="nachweis.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PDF  # type: ignore[attr-defined]

    download = client.get(url, {"download": "1"})
    assert download["Content-Disposition"] == 'attachment; filename="nachweis.pdf"'

    # Another unit, another city (also through its own slug), an unknown document: 404.
    assert client_for(login, worker_b).get(url).status_code == 404
    assert client_for(login, outsider).get(url).status_code == 404
    assert (
        client_for(login, outsider).get(f"/vorgaenge/giessen/{case.uuid}/dokumente/{document.uuid}/").status_code == 404
    )
    other = submit_case(adoption, with_file=True)
    foreign_doc = other.documents.get()
    assert client.get(case_url(case, f"dokumente/{foreign_doc.uuid}/")).status_code == 404


def test_two_browsers_complete_the_same_task_one_wins(adoption: Any, worker_a: Any, worker_a2: Any, login: Any) -> None:
    case = submit_case(adoption)
    task = case.tasks.get()
    prefix = task_prefix(task, "complete")
    anna, bernd = client_for(login, worker_a), client_for(login, worker_a2)
    # Both open the case page at the same time.
    anna_version = hidden_value(anna.get(case_url(case)).content.decode(), f"{prefix}-lock_version")
    bernd_version = hidden_value(bernd.get(case_url(case)).content.decode(), f"{prefix}-lock_version")
    url = case_url(case, f"aufgaben/{task.uuid}/erledigen/")

    won = anna.post(url, {f"{prefix}-lock_version": anna_version, f"{prefix}-result": "Alles geprüft."})
    assert won.status_code == 302
    lost = bernd.post(url, {f"{prefix}-lock_version": bernd_version, f"{prefix}-result": "Meine Prüfung, lang."})
    assert lost.status_code == 409
    html = lost.content.decode()
    assert "Someone else changed this task in the meantime" in html
    assert 'role="alert"' in html
    assert "Meine Prüfung, lang." in html  # nothing lost: Bernd's text is on the page
    task.refresh_from_db()
    assert task.status == "done" and task.completed_by == worker_a and task.result == "Alles geprüft."
    assert case.events.filter(kind="task_completed").count() == 1


def test_stale_claim_on_the_case_page_keeps_the_page(adoption: Any, worker_a: Any, worker_a2: Any, login: Any) -> None:
    case = submit_case(adoption)
    task = case.tasks.get()
    prefix = task_prefix(task, "claim")
    anna = client_for(login, worker_a)
    version = hidden_value(anna.get(case_url(case)).content.decode(), f"{prefix}-lock_version")
    # Meanwhile Bernd takes the task and gives it back: same assignee as before, but the version moved on.
    actions.claim_task(task, worker_a2, expected_version=task.lock_version)
    task.refresh_from_db()
    actions.assign_task(task, worker_a2, None, expected_version=task.lock_version)
    response = anna.post(case_url(case, f"aufgaben/{task.uuid}/uebernehmen/"), {f"{prefix}-lock_version": version})
    assert response.status_code == 409 and "Someone else changed this task" in response.content.decode()
    task.refresh_from_db()
    assert task.assignee is None
    # With the version the page shows now, it works.
    fresh = hidden_value(response.content.decode(), f"{prefix}-lock_version")
    assert (
        anna.post(case_url(case, f"aufgaben/{task.uuid}/uebernehmen/"), {f"{prefix}-lock_version": fresh}).status_code
        == 302
    )
    task.refresh_from_db()
    assert task.assignee == worker_a


def test_hand_over_give_back_and_bad_input(
    adoption: Any, worker_a: Any, worker_a2: Any, outsider: Any, login: Any
) -> None:
    case = submit_case(adoption)
    task = case.tasks.get()
    anna = client_for(login, worker_a)
    assign = task_prefix(task, "assign")
    url = case_url(case, f"aufgaben/{task.uuid}/uebergeben/")
    # unknown colleague, a colleague of another city, no lock version: errors on the page, no change
    for data in (
        {f"{assign}-lock_version": task.lock_version, f"{assign}-assignee": "999999"},
        {f"{assign}-lock_version": task.lock_version, f"{assign}-assignee": str(outsider.pk)},
        {f"{assign}-lock_version": task.lock_version, f"{assign}-assignee": "<script>"},
        {f"{assign}-assignee": str(worker_a2.pk)},
        {f"{assign}-lock_version": "-1", f"{assign}-assignee": str(worker_a2.pk)},
    ):
        response = anna.post(url, data)
        assert response.status_code == 400, data
        assert 'class="errorlist' in response.content.decode()
    assert "The form was incomplete" in anna.post(url, {f"{assign}-assignee": str(worker_a2.pk)}).content.decode()
    task.refresh_from_db()
    assert task.assignee is None
    # unknown action and unknown task: 404
    assert anna.post(case_url(case, f"aufgaben/{task.uuid}/loeschen/")).status_code == 404
    assert anna.post(case_url(case, "aufgaben/00000000-0000-0000-0000-000000000000/erledigen/")).status_code == 404
    assert anna.get(url).status_code == 405

    ok = anna.post(url, {f"{assign}-lock_version": task.lock_version, f"{assign}-assignee": str(worker_a2.pk)})
    assert ok.status_code == 302
    task.refresh_from_db()
    assert task.assignee == worker_a2
    # Now Anna may no longer work on it: a clear 403 on the page.
    complete = task_prefix(task, "complete")
    refused = anna.post(
        case_url(case, f"aufgaben/{task.uuid}/erledigen/"),
        {f"{complete}-lock_version": task.lock_version, f"{complete}-result": "x"},
    )
    assert refused.status_code == 403 and "You may not work on this task" in refused.content.decode()
    # Bernd gives it back to the unit.
    release = task_prefix(task, "release")
    bernd = client_for(login, worker_a2)
    back = bernd.post(
        case_url(case, f"aufgaben/{task.uuid}/zurueckgeben/"), {f"{release}-lock_version": task.lock_version}
    )
    assert back.status_code == 302
    task.refresh_from_db()
    assert task.assignee is None
    assert "given back to the unit" in bernd.get(back["Location"]).content.decode()


def test_request_information_makes_the_case_wait(adoption: Any, worker_a: Any, login: Any) -> None:
    case = submit_case(adoption)
    client = client_for(login, worker_a)
    url = case_url(case, "nachforderung/")
    empty = client.post(url, {"info-subject": "", "info-body": ""})
    assert empty.status_code == 400 and 'aria-invalid="true"' in empty.content.decode()
    response = client.post(url, {"info-subject": "Nachweis fehlt", "info-body": "Bitte Einkommensnachweis senden."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING
    html = client.get(case_url(case)).content.decode()
    assert "waiting for the citizen" in html and "Nachweis fehlt" in html and "waiting for the answer" in html
    # no decision while the case waits: the action's message on the page
    blocked = client.post(case_url(case, "entscheidung/"), {"decision-outcome": "approved", "decision-reasons": ""})
    assert blocked.status_code == 409
    assert "Only open cases that do not wait for the citizen can be decided." in blocked.content.decode()
    # the citizen answers in the portal; the page shows the answer and the case is open again
    request = case.messages.get(kind="information_request")
    actions.answer_information(case, None, request, "Anbei der Nachweis.", [])
    html = client.get(case_url(case)).content.decode()
    assert "Anbei der Nachweis." in html and "answered" in html


def test_decide_with_and_without_reasons(adoption: Any, worker_a: Any, login: Any) -> None:
    rejected_case, approved_case = submit_case(adoption), submit_case(adoption)
    client = client_for(login, worker_a)

    # a rejection needs reasons: the error stands next to the field, the choice is kept
    missing = client.post(
        case_url(rejected_case, "entscheidung/"), {"decision-outcome": "rejected", "decision-reasons": "  "}
    )
    assert missing.status_code == 400
    html = missing.content.decode()
    assert 'id="id_decision-reasons_error"' in html and "Please give the reasons for the decision." in html
    assert re.search(r'<input type="radio" name="decision-outcome" value="rejected"[^>]*checked', html)
    # unknown outcome: a form error, no 500
    unknown = client.post(case_url(rejected_case, "entscheidung/"), {"decision-outcome": "maybe"})
    assert unknown.status_code == 400 and 'class="errorlist' in unknown.content.decode()

    done = client.post(
        case_url(rejected_case, "entscheidung/"),
        {"decision-outcome": "rejected", "decision-reasons": "Das Einkommen liegt über der Grenze."},
    )
    assert done.status_code == 302
    rejected_case.refresh_from_db()
    assert rejected_case.status == "decided" and rejected_case.outcome == "rejected"
    page = client.get(done["Location"]).content.decode()
    assert "Decision: rejected." in page and "Das Einkommen liegt über der Grenze." in page
    assert "Decision letter" in page and "Close the case" in page

    # an approval may go without reasons
    approved = client.post(case_url(approved_case, "entscheidung/"), {"decision-outcome": "approved"})
    assert approved.status_code == 302
    approved_case.refresh_from_db()
    assert approved_case.outcome == "approved" and approved_case.decided_by == worker_a
    again = client.post(
        case_url(approved_case, "entscheidung/"), {"decision-outcome": "rejected", "decision-reasons": "x"}
    )
    assert again.status_code == 409 and "Only open cases" in again.content.decode()


def test_second_sign_off_by_another_person(
    city_a: Any, unit_a: Any, media: Any, worker_a: Any, worker_a2: Any, login: Any
) -> None:
    content = copy.deepcopy(FAMILY)
    content["processing"] = {"sign_off_required": True}
    adopted = release_and_adopt(content, city_a)
    adopted.org_unit = unit_a
    adopted.save(update_fields=["org_unit"])
    case = submit_case(adopted)
    anna, bernd = client_for(login, worker_a), client_for(login, worker_a2)
    anna.post(case_url(case, "entscheidung/"), {"decision-outcome": "approved"})
    case.refresh_from_db()
    assert case.status == "open" and case.outcome == "approved"
    sign_off = case.tasks.get(kind=Task.Kind.SIGN_OFF, status="open")
    page = anna.get(case_url(case)).content.decode()
    assert "The decision waits for the second sign-off" in page and "Sign off the decision" in page

    prefix = task_prefix(sign_off, "complete")
    url = case_url(case, f"aufgaben/{sign_off.uuid}/erledigen/")
    same = anna.post(url, {f"{prefix}-lock_version": sign_off.lock_version})
    assert same.status_code == 409 and "The sign-off must be given by a second person." in same.content.decode()
    case.refresh_from_db()
    assert case.status == "open" and case.signed_off_by is None

    other = bernd.post(url, {f"{prefix}-lock_version": sign_off.lock_version})
    assert other.status_code == 302
    case.refresh_from_db()
    assert case.status == "decided" and case.signed_off_by == worker_a2


def test_close_shows_the_efile_transfer_and_retry(
    adoption: Any, worker_a: Any, login: Any, settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.DIKOM_EFILE_CONNECTOR = "filedrop"
    settings.DIKOM_EFILE_DROP_DIR = ""  # not set yet: the first transfer fails for good
    case = submit_case(adoption)
    client = client_for(login, worker_a)
    client.post(case_url(case, "entscheidung/"), {"decision-outcome": "approved"})
    with django_capture_on_commit_callbacks(execute=True):
        closed = client.post(case_url(case, "abschluss/"))
    assert closed.status_code == 302
    run_task_worker()
    case.refresh_from_db()
    assert case.status == "closed" and case.efile_status == "failed"
    html = client.get(case_url(case)).content.decode()
    assert "transfer failed" in html and "DIKOM_EFILE_DROP_DIR is not set" in html and "Retry the transfer" in html

    drop = tmp_path / "efile"
    drop.mkdir()
    settings.DIKOM_EFILE_DROP_DIR = str(drop)
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(case_url(case, "e-akte/"))
    assert retried.status_code == 302
    run_task_worker()
    case.refresh_from_db()
    assert case.efile_status == "transferred"
    [package] = list(drop.glob("*.zip"))
    html = client.get(case_url(case)).content.decode()
    assert "transferred" in html and package.name in html and "Retry the transfer" not in html
    assert "Transfer to the e-file started again." in html
    # nothing to retry now
    assert client.post(case_url(case, "e-akte/")).status_code == 409
    assert client.post(case_url(case, "abschluss/")).status_code == 409


def test_consult_notes_and_media_breaks(
    adoption: Any, worker_a: Any, worker_b: Any, unit_b: Any, unit_giessen: Any, login: Any
) -> None:
    case = submit_case(adoption)
    client = client_for(login, worker_a)
    url = case_url(case, "beteiligung/")
    # another city's unit, an unknown one, a date in the past: form errors, no 500, no task
    for data in (
        {"consult-org_unit": str(unit_giessen.uuid), "consult-question": "Bedenken?"},
        {"consult-org_unit": "kein-amt", "consult-question": "Bedenken?"},
        {"consult-org_unit": str(unit_b.uuid), "consult-question": "Bedenken?", "consult-due_date": "2000-01-01"},
        {"consult-org_unit": str(unit_b.uuid), "consult-question": "", "consult-due_date": "morgen"},
    ):
        response = client.post(url, data)
        assert response.status_code == 400, data
        assert 'class="errorlist' in response.content.decode()
    assert case.tasks.count() == 1
    assert (
        client.post(url, {"consult-org_unit": str(unit_b.uuid), "consult-question": "Bestehen Bedenken?"}).status_code
        == 302
    )
    consultation = case.tasks.get(kind=Task.Kind.CONSULTATION)
    assert consultation.org_unit == unit_b and consultation.instructions == "Bestehen Bedenken?"

    # The consulted unit now sees the case, answers its task, but takes no case-wide steps.
    carla = client_for(login, worker_b)
    page = carla.get(case_url(case)).content.decode()
    assert "Bestehen Bedenken?" in page and "Record the decision" not in page
    refused = carla.post(case_url(case, "entscheidung/"), {"decision-outcome": "approved"})
    assert refused.status_code == 403 and "Only the responsible unit can do this" in refused.content.decode()
    prefix = task_prefix(consultation, "complete")
    answered = carla.post(
        case_url(case, f"aufgaben/{consultation.uuid}/erledigen/"),
        {f"{prefix}-lock_version": consultation.lock_version, f"{prefix}-result": "Keine Bedenken."},
    )
    assert answered.status_code == 302
    assert carla.post(case_url(case, "notiz/"), {"note-body": "Rückfrage telefonisch geklärt."}).status_code == 302

    # notes and media breaks
    assert client.post(case_url(case, "notiz/"), {"note-body": "  "}).status_code == 400
    assert client.post(case_url(case, "medienbruch/"), {"media-description": ""}).status_code == 400
    assert client.post(case_url(case, "medienbruch/"), {"media-description": "Nachweis per Post"}).status_code == 302
    case.refresh_from_db()
    assert case.media_breaks == 1
    html = client.get(case_url(case)).content.decode()
    assert "Rückfrage telefonisch geklärt." in html and "Media break: Nachweis per Post" in html
    assert "Keine Bedenken." in html


def test_every_post_needs_csrf_and_a_login(adoption: Any, worker_a: Any, login: Any) -> None:
    from django.test import Client

    case = submit_case(adoption)
    strict = Client(enforce_csrf_checks=True)
    login(strict, worker_a)
    assert strict.post(case_url(case, "notiz/"), {"note-body": "x"}).status_code == 403
    assert strict.post("/vorgaenge/fulda/sammelbearbeitung/", {"action": "claim"}).status_code == 403
    anonymous = Client()
    assert anonymous.get(case_url(case)).status_code == 302
    assert anonymous.post(case_url(case, "notiz/"), {"note-body": "x"}).status_code == 302
    assert not case.notes.exists()


def _check_structure(html: str) -> None:
    """Unique ids, a label for every field, one h1, no inline scripts or styles (CSP)."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(html)
    ids = [el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id")]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, duplicates
    labelled = {label.get("for") for label in tree.iter("label")}
    for field in tree.xpath("//input[not(@type='hidden')] | //select | //textarea"):
        inside_label = any(parent.tag == "label" for parent in field.iterancestors())
        assert field.get("id") in labelled or inside_label or field.get("aria-label"), lxml_html.tostring(field)
    assert len(tree.xpath("//h1")) == 1
    assert not tree.xpath("//script") and not tree.xpath("//style") and not tree.xpath("//*[@style]")
    assert not tree.xpath("//*[@*[starts-with(name(), 'on')]]")  # no event handler attributes
    for table in tree.xpath("//table"):
        assert table.xpath(".//th"), "table without header cells"


def test_pages_are_structured_for_assistive_technology(adoption: Any, worker_a: Any, owner: Any, login: Any) -> None:
    case = submit_case(adoption, with_file=True)
    actions.request_information(case, worker_a, subject="Nachweis fehlt", body="Bitte senden.")
    for client in (client_for(login, worker_a), client_for(login, owner)):
        _check_structure(client.get(case_url(case)).content.decode())
        for tab in ("mine", "unit", "all"):
            _check_structure(client.get("/vorgaenge/fulda/", {"tab": tab}).content.decode())
    # with errors on the page, too
    client = client_for(login, worker_a)
    _check_structure(client.post(case_url(case, "entscheidung/"), {"decision-outcome": "x"}).content.decode())
