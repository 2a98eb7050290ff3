"""The import page (FIM XDatenfelder schema or dikom ZIP archive → new draft) and the ZIP export of a version."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import skip_or_fail
from dikom.audit.models import AuditEvent
from dikom.eservices.definition import validate_definition
from dikom.eservices.models import ServiceDefinition, ServiceVersion

pytestmark = pytest.mark.django_db

FIM = Path(__file__).resolve().parents[4].parent / "shared" / "standards" / "fim"


def sample(name: str) -> bytes:
    path = FIM / name
    if not path.exists():
        skip_or_fail(f"FIM samples not found at {FIM} (the shared standards folder is absent)")
    return path.read_bytes()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_a_fim_schema_becomes_a_draft_of_the_designers_city(as_user, designer_a, city_a):
    client = as_user(designer_a)
    assert client.get("/dienste/importieren/").status_code == 200
    response = client.post(
        "/dienste/importieren/",
        {
            "municipality": city_a.pk,
            "file": upload("blaue-karte.xml", sample("xdatenfelder2/S00000121-BlaueKarte.xml")),
        },
    )
    definition = ServiceDefinition.objects.get(title="Antrag auf Blaue Karte EU")
    assert response.status_code == 302 and response["Location"] == f"/dienste/{definition.slug}/v1/bearbeiten/"
    version = definition.versions.get()
    assert version.status == ServiceVersion.Status.DRAFT and version.municipality == city_a
    assert len(version.content["steps"]) == 12
    assert validate_definition(version.content) == []
    assert AuditEvent.objects.filter(action="eservice.create", object_id=str(definition.pk)).exists()
    page = client.get(response["Location"]).content.decode()
    assert "imported as a draft" in page


def test_an_invalid_schema_is_refused_with_the_reason(as_user, designer_a, city_a):
    client = as_user(designer_a)
    response = client.post(
        "/dienste/importieren/",
        {"municipality": city_a.pk, "file": upload("x.xml", sample("xdatenfelder3/invalid-freigabestatus.xml"))},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The FIM schema cannot be imported" in html and "10" in html
    response = client.post("/dienste/importieren/", {"municipality": city_a.pk, "file": upload("x.xml", b"no xml")})
    assert response.status_code == 400 and "not well-formed XML" in response.content.decode()
    response = client.post("/dienste/importieren/", {"municipality": city_a.pk, "file": upload("x.zip", b"PK\x03\x04")})
    assert response.status_code == 400 and "The ZIP archive cannot be imported" in response.content.decode()
    assert not ServiceDefinition.objects.exists()


def test_export_and_reimport_give_an_identical_draft(as_user, released, designer_a, city_a):
    client = as_user(designer_a)
    exported = client.get(f"/dienste/{released.definition.slug}/v1/export.zip")
    assert exported.status_code == 200 and exported["Content-Type"] == "application/zip"
    assert "attachment" in exported["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert sorted(archive.namelist()) == ["definition.json", "metadata.json"]
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["source_ags"] == city_a.ags and metadata["version"] == 1

    response = client.post(
        "/dienste/importieren/", {"municipality": city_a.pk, "file": upload("parken.zip", exported.content)}
    )
    assert response.status_code == 302
    copy = ServiceVersion.objects.exclude(pk=released.pk).get()
    assert copy.status == ServiceVersion.Status.DRAFT and copy.definition.slug != released.definition.slug
    assert copy.content == released.content and copy.content_hash == released.content_hash
    # Exporting the copy gives the same definition.json, byte for byte
    again = client.get(f"/dienste/{copy.definition.slug}/v1/export.zip")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as first, zipfile.ZipFile(io.BytesIO(again.content)) as second:
        assert first.read("definition.json") == second.read("definition.json")


def test_who_may_import_and_export(as_user, en_client, released, admin_d):
    # Only process designers import
    assert as_user(admin_d).get("/dienste/importieren/").status_code == 403
    assert en_client().get("/dienste/importieren/")["Location"].startswith("/konto/anmelden/")
    # A released version is public; a draft only for those who may see it
    assert en_client().get(f"/dienste/{released.definition.slug}/v1/export.zip").status_code == 200


def test_a_draft_is_exported_only_to_those_who_see_it(as_user, en_client, draft, designer_a, admin_b_only):
    url = f"/dienste/{draft.definition.slug}/v1/export.zip"
    assert as_user(designer_a).get(url).status_code == 200
    assert as_user(admin_b_only).get(url).status_code == 404
    assert en_client().get(url).status_code == 404


def test_amounts_are_read_in_german_notation(as_user, released, admin_d, org_unit_d, city_d):
    from django.conf import settings

    client = as_user(admin_d)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    response = client.post(
        f"/dienste/{released.definition.slug}/uebernahme/{city_d.slug}/",
        {"org_unit": org_unit_d.pk, "start_date": "2026-01-31", "fee_ausweis": "45,50", "active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert released.definition.adoptions.get().fees == {"ausweis": 4550}


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "entries",
    [
        {"definition.json": b'{"identity": 5}'},
        {"definition.json": b'{"format": "dikom.service/1", "identity": 5}'},
        {"definition.json": b'{"format": "dikom.service/1", "identity": {"title": ["x"]}}'},
        {"definition.json": b'{"format": "dikom.service/1", "steps": [{"fields": {"a": 1}}]}'},
        {"definition.json": b'{"format": "dikom.service/1"}'},  # no metadata.json
        {"definition.json": b"[" * 100_000},
    ],
)
def test_a_malformed_archive_is_refused_with_a_german_reason(client, login, designer_a, city_a, settings, entries):
    settings.DEBUG = False
    login(client, designer_a)

    response = client.post("/dienste/importieren/", {"municipality": city_a.pk, "file": upload("x.zip", _zip(entries))})

    assert response.status_code == 400
    assert "Das ZIP-Archiv kann nicht importiert werden" in response.content.decode()
    assert not ServiceDefinition.objects.exists()
