"""The case API as a specialist procedure uses it: list, fetch, download, complete, decide, upload, history."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from dikom.cases.models import Case, CaseDocument, Task
from dikom.cases.scopes import CASES_READ
from dikom.cases.tests.conftest import client_for, key, new_case
from dikom.portal.tests.conftest import FAMILY, release_and_adopt
from dikom.scanning.eicar import SIGNATURE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_cache", "api_media")]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def test_lists_only_the_own_citys_cases_with_filters_and_cursor(
    procedure_a: Any, procedure_b: Any, case_a: Case, case_b: Case, city_a: Any, unit_a: Any
) -> None:
    more = [new_case(city_a, unit_a, case_a.application.adoption) for _ in range(2)]
    answer = procedure_a.get("/api/v1/cases/", {"page_size": 2})
    assert answer.status_code == 200, answer.json()
    page = answer.json()
    assert [c["uuid"] for c in page["results"]] == [str(case_a.uuid), str(more[0].uuid)]
    assert page["results"][0]["reference"] == case_a.reference
    assert page["results"][0]["service"]["slug"] == case_a.service_slug
    assert page["results"][0]["url"].endswith(f"/api/v1/cases/{case_a.uuid}/")
    second = procedure_a.get(page["next"]).json()
    assert [c["uuid"] for c in second["results"]] == [str(more[1].uuid)] and second["next"] is None
    # Gießen's key never sees Fulda's cases, and Fulda's not Gießen's.
    assert [c["uuid"] for c in procedure_b.get("/api/v1/cases/").json()["results"]] == [str(case_b.uuid)]
    # created_since resumes a poll; status and service filter
    since = procedure_a.get("/api/v1/cases/", {"created_since": more[1].created_at.isoformat()}).json()
    assert [c["uuid"] for c in since["results"]] == [str(more[1].uuid)]
    assert procedure_a.get("/api/v1/cases/", {"status": "decided"}).json()["results"] == []
    assert len(procedure_a.get("/api/v1/cases/", {"service": case_a.service_slug}).json()["results"]) == 3
    assert procedure_a.get("/api/v1/cases/", {"service": "other"}).json()["results"] == []


def test_list_queries_do_not_grow_with_the_cases(procedure_a: Any, case_a: Case, city_a: Any, unit_a: Any) -> None:
    assert procedure_a.get("/api/v1/cases/").status_code == 200  # the key's first use is recorded once
    with CaptureQueriesContext(connection) as few:
        assert procedure_a.get("/api/v1/cases/").status_code == 200
    for _ in range(3):
        new_case(city_a, unit_a, case_a.application.adoption)
    with CaptureQueriesContext(connection) as many:
        assert len(procedure_a.get("/api/v1/cases/").json()["results"]) == 4
    assert len(many) == len(few)


def test_bad_parameters_are_problems(procedure_a: Any, case_a: Case) -> None:
    for params in ({"status": "nonsense"}, {"created_since": "yesterday"}, {"cursor": "xyz"}, {"page_size": "0"}):
        answer = procedure_a.get("/api/v1/cases/", params)
        assert answer.status_code == 400, params
        assert answer["Content-Type"] == "application/problem+json"
        assert answer.json()["errors"][0]["field"] == next(iter(params))


def test_other_citys_key_gets_404_and_missing_scope_403(procedure_b: Any, case_a: Case, city_a: Any) -> None:
    task = case_a.tasks.get()
    for path in [
        f"/api/v1/cases/{case_a.uuid}/",
        f"/api/v1/cases/{case_a.uuid}/history/",
        f"/api/v1/cases/{case_a.uuid}/tasks/",
        f"/api/v1/cases/{case_a.uuid}/documents/",
    ]:
        assert procedure_b.get(path).status_code == 404, path
    answer = procedure_b.post(f"/api/v1/cases/{case_a.uuid}/tasks/{task.uuid}/complete/", {}, format="json")
    assert answer.status_code == 404
    assert (
        procedure_b.post(f"/api/v1/cases/{case_a.uuid}/decision/", {"outcome": "approved"}, format="json").status_code
        == 404
    )
    assert procedure_b.get("/api/v1/cases/", {"municipality": city_a.ags}).status_code == 403
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN

    reader = client_for(key(city_a, CASES_READ))
    assert reader.get(f"/api/v1/cases/{case_a.uuid}/").status_code == 200
    refused = reader.post(f"/api/v1/cases/{case_a.uuid}/tasks/{task.uuid}/complete/", {}, format="json")
    assert refused.status_code == 403 and "cases:write" in refused.json()["detail"]
    nothing = client_for(key(city_a, "municipality:read"))
    assert nothing.get("/api/v1/cases/").status_code == 403
    assert nothing.get(f"/api/v1/cases/{case_a.uuid}/").status_code == 403
    assert client_for(key(city_a, CASES_READ)).get("/api/v1/cases/").status_code == 200
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/cases/").status_code in (401, 403)


def test_fetch_a_case_with_its_application_and_download_documents(
    procedure_a: Any, case_a: Case, city_a: Any, unit_a: Any
) -> None:
    answer = procedure_a.get(f"/api/v1/cases/{case_a.uuid}/")
    assert answer.status_code == 200
    body = answer.json()
    assert body["reference"] == case_a.reference and body["status"] == "open"
    assert body["org_unit"]["name"] == "Bürgerbüro"
    assert body["application"]["answers"]["person"]["name"] == "Erika Muster"
    assert body["decision"] is None
    [task] = body["tasks"]
    assert task["status"] == "open" and task["lock_version"] == 0
    assert "path" not in str(body["application"]["files"])

    # a document added to the file is listed and downloadable byte for byte
    document = procedure_a.post(
        f"/api/v1/cases/{case_a.uuid}/documents/",
        {"file": SimpleUploadedFile("gutachten.pdf", PDF, content_type="application/pdf"), "title": "Gutachten"},
        format="multipart",
    )
    assert document.status_code == 201, document.json()
    listed = procedure_a.get(f"/api/v1/cases/{case_a.uuid}/documents/").json()["results"]
    [entry] = [d for d in listed if d["title"] == "Gutachten"]
    assert entry["content_type"] == "application/pdf" and entry["sha256"] == hashlib.sha256(PDF).hexdigest()
    download = procedure_a.get(entry["content_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert procedure_a.get(f"/api/v1/cases/{case_a.uuid}/documents/{case_a.uuid}/content/").status_code == 404


def test_upload_checks_type_virus_size_and_closed_cases(procedure_a: Any, case_a: Case, settings: Any) -> None:
    url = f"/api/v1/cases/{case_a.uuid}/documents/"

    def upload(name: str, content: bytes) -> Any:
        return procedure_a.post(url, {"file": SimpleUploadedFile(name, content)}, format="multipart")

    eicar = upload("virus.txt", SIGNATURE)
    assert eicar.status_code == 400 and "EICAR" in eicar.json()["errors"][0]["message"]
    wrong = upload("bild.png", PDF)
    assert wrong.status_code == 400 and "extension" in wrong.json()["errors"][0]["message"]
    unknown = upload("data.bin", b"\x00\x01\x02binary")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "file"
    settings.DIKOM_PORTAL_MAX_UPLOAD_BYTES = 1024
    large = upload("gross.txt", b"a" * 2048)
    assert large.status_code == 400 and "too large" in large.json()["errors"][0]["message"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1500
    assert upload("gross.txt", b"a" * 2048).status_code == 413
    assert not case_a.documents.filter(kind=CaseDocument.Kind.OTHER).exists()


def test_complete_task_decide_and_read_the_history(procedure_a: Any, case_a: Case, settings: Any) -> None:
    task = case_a.tasks.get()
    url = f"/api/v1/cases/{case_a.uuid}/tasks/{task.uuid}/complete/"
    # Too early to decide: the case's own task is still open? The web pages allow deciding; so does the API.
    stale = procedure_a.post(url, {"lock_version": 7, "result": "x"}, format="json")
    assert stale.status_code == 409 and "Someone else changed this task" in stale.json()["detail"]
    assert procedure_a.post(url, {"unknown": 1}, format="json").status_code == 400
    done = procedure_a.post(url, {"lock_version": 0, "result": "Geprüft im Fachverfahren."}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "done" and done.json()["result"] == "Geprüft im Fachverfahren."
    again = procedure_a.post(url, {}, format="json")
    assert again.status_code == 409 and "already done" in again.json()["detail"]

    missing_reasons = procedure_a.post(f"/api/v1/cases/{case_a.uuid}/decision/", {"outcome": "rejected"}, format="json")
    assert missing_reasons.status_code == 400 and missing_reasons.json()["errors"][0]["field"] == "reasons"
    decided = procedure_a.post(
        f"/api/v1/cases/{case_a.uuid}/decision/",
        {"outcome": "approved", "reasons": "Voraussetzungen erfüllt."},
        format="json",
    )
    assert decided.status_code == 201, decided.json()
    body = decided.json()
    assert body["status"] == "decided" and body["decision"]["outcome"] == "approved"
    assert any(d["kind"] == "letter" for d in body["documents"])
    twice = procedure_a.post(f"/api/v1/cases/{case_a.uuid}/decision/", {"outcome": "approved"}, format="json")
    assert twice.status_code == 409

    history = procedure_a.get(f"/api/v1/cases/{case_a.uuid}/history/").json()["results"]
    kinds = [e["kind"] for e in history]
    assert kinds[:2] == ["opened", "task_created"]
    assert {"task_completed", "decided", "letter_delivered"} <= set(kinds)
    completed = next(e for e in history if e["kind"] == "task_completed")
    assert completed["actor"].startswith("Specialist procedure “Fachverfahren”")
    case_a.refresh_from_db()
    assert case_a.decided_by is None and not case_a.decided_automatically
    from dikom.audit.models import AuditEvent

    audit = AuditEvent.objects.filter(action="case.decided").get()
    assert audit.source == AuditEvent.Source.API and audit.api_key_prefix


def test_sign_off_needs_a_person(procedure_a: Any, city_a: Any, unit_a: Any) -> None:
    definition = copy.deepcopy(FAMILY)
    definition["processing"] = {"sign_off_required": True}
    adoption = release_and_adopt(definition, city_a)
    adoption.org_unit = unit_a
    adoption.save(update_fields=["org_unit"])
    case_a = new_case(city_a, unit_a, adoption)
    answer = procedure_a.post(
        f"/api/v1/cases/{case_a.uuid}/decision/", {"outcome": "approved", "reasons": ""}, format="json"
    )
    assert answer.status_code == 201 and answer.json()["status"] == "open"
    sign_off = case_a.tasks.get(kind=Task.Kind.SIGN_OFF)
    refused = procedure_a.post(f"/api/v1/cases/{case_a.uuid}/tasks/{sign_off.uuid}/complete/", {}, format="json")
    assert refused.status_code == 409 and "second person" in refused.json()["detail"]
    sign_off.refresh_from_db()
    assert sign_off.status == Task.Status.OPEN


def test_staff_session_sees_what_the_web_pages_show(
    client: Any, login: Any, owner: Any, outsider: Any, case_a: Case, city_a: Any
) -> None:
    login(client, owner)
    assert client.get(f"/api/v1/cases/{case_a.uuid}/").status_code == 200
    listed = client.get("/api/v1/cases/", {"municipality": city_a.ags})
    assert [c["uuid"] for c in listed.json()["results"]] == [str(case_a.uuid)]
    assert client.get("/api/v1/cases/").status_code == 400  # a person names the city
    client.logout()
    login(client, outsider)
    assert client.get(f"/api/v1/cases/{case_a.uuid}/").status_code == 404
    assert client.get("/api/v1/cases/", {"municipality": city_a.ags}).status_code == 403


def test_the_task_inbox_lists_the_own_citys_tasks(
    procedure_a: Any, procedure_b: Any, case_a: Case, case_b: Case, city_a: Any, unit_a: Any
) -> None:
    other = new_case(city_a, unit_a, case_a.application.adoption)
    answer = procedure_a.get("/api/v1/cases/tasks/", {"status": "open"})
    assert answer.status_code == 200, answer.json()
    tasks = answer.json()["results"]
    assert [t["case"]["uuid"] for t in tasks] == [str(case_a.uuid), str(other.uuid)]
    assert tasks[0]["case"]["url"].endswith(f"/api/v1/cases/{case_a.uuid}/")
    assert [t["case"]["uuid"] for t in procedure_b.get("/api/v1/cases/tasks/").json()["results"]] == [str(case_b.uuid)]
    first = case_a.tasks.get()
    procedure_a.post(f"/api/v1/cases/{case_a.uuid}/tasks/{first.uuid}/complete/", {}, format="json")
    still_open = procedure_a.get("/api/v1/cases/tasks/", {"status": "open"}).json()["results"]
    assert [t["case"]["uuid"] for t in still_open] == [str(other.uuid)]
    assert procedure_a.get("/api/v1/cases/tasks/", {"kind": "nonsense"}).status_code == 400
