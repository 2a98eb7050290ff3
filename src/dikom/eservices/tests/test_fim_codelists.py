"""FIM select fields with a code list: genericode lists imported (file or SSRF-safe URL) become real selects."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from dikom.eservices import codelists
from dikom.eservices.definition import validate_definition
from dikom.eservices.definition.fim import FimImportError, import_xdatenfelder
from dikom.eservices.definition.genericode import parse_genericode
from dikom.eservices.models import CodeList
from dikom.lib import safe_http

HERE = Path(__file__).parent
ERREICHBARKEIT = (HERE / "codelists" / "urn_de_xoev_codeliste_erreichbarkeit_3.xml").read_bytes()
STANDARDS = HERE.parents[4] / "shared" / "standards" / "fim"


def blaue_karte() -> bytes:
    path = STANDARDS / "xdatenfelder2" / "S00000121-BlaueKarte.xml"
    if not path.exists():
        pytest.skip(f"FIM sample missing: {path}")
    return path.read_bytes()


def fields(definition: dict[str, Any]) -> list[dict[str, Any]]:
    found = []

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            found.append(item)
            walk(item.get("fields") or [])

    for step in definition["steps"]:
        walk(step["fields"])
    return found


def test_real_xrepository_list_is_read() -> None:
    data = parse_genericode(ERREICHBARKEIT)
    assert data.canonical_uri == "urn:de:xoev:codeliste:erreichbarkeit" and data.version == "3"
    assert data.canonical_version_uri == "urn:de:xoev:codeliste:erreichbarkeit_3"
    assert data.code_column == "code" and data.label_column == "Beschreibung"
    assert [v["value"] for v in data.values] == [f"0{n}" for n in range(1, 10)]
    assert data.values[0] == {"value": "01", "label": "E-Mail"}
    assert data.agency == "Koordinierungsstelle für IT-Standards"


@pytest.mark.django_db
def test_blaue_karte_select_becomes_a_real_select_once_the_list_is_imported() -> None:
    with translation.override("en"):
        before = import_xdatenfelder(blaue_karte(), code_lists=codelists.lookup)
    [text] = [f for f in fields(before.definition) if "erreichbarkeit" in str(f.get("help", ""))]
    assert text["type"] == "text"
    assert "Werteliste urn:de:xoev:codeliste:erreichbarkeit ist nicht hinterlegt" in text["help"]["de"]
    assert any("urn:de:xoev:codeliste:erreichbarkeit" in w for w in before.warnings)

    imported = codelists.import_code_list(ERREICHBARKEIT, source="file:erreichbarkeit_3.xml")
    assert imported.created and CodeList.objects.count() == 1
    with translation.override("en"):
        after = import_xdatenfelder(blaue_karte(), code_lists=codelists.lookup)
    [select] = [f for f in fields(after.definition) if f.get("code_list")]
    assert select["key"] == text["key"] and select["type"] == "select"
    assert select["code_list"] == "urn:de:xoev:codeliste:erreichbarkeit_3"
    assert {"value": "08", "label": {"de": "De-Mail"}} in select["options"] and len(select["options"]) == 9
    # The schema names version 2; only version 3 is imported: used, and said so.
    assert any("erreichbarkeit_2" in w and "erreichbarkeit_3" in w for w in after.warnings)
    assert validate_definition(after.definition) == []


@pytest.mark.django_db
def test_versions_are_kept_and_never_changed() -> None:
    assert codelists.import_code_list(ERREICHBARKEIT, source="a").created
    assert not codelists.import_code_list(ERREICHBARKEIT, source="b").created  # the same again: nothing new
    changed = ERREICHBARKEIT.replace(b"<SimpleValue>Pager</SimpleValue>", b"<SimpleValue>Funkruf</SimpleValue>")
    with pytest.raises(FimImportError) as clash:
        codelists.import_code_list(changed, source="c")
    assert clash.value.code == "version_clash"
    version_4 = changed.replace(b"<Version>3</Version>", b"<Version>4</Version>").replace(
        b"erreichbarkeit_3</CanonicalVersionUri>", b"erreichbarkeit_4</CanonicalVersionUri>"
    )
    assert codelists.import_code_list(version_4, source="d").created
    assert CodeList.objects.filter(canonical_uri="urn:de:xoev:codeliste:erreichbarkeit").count() == 2
    options, used = codelists.lookup("urn:de:xoev:codeliste:erreichbarkeit", "3", "")
    assert used.endswith("_3") and {"value": "06", "label": {"de": "Pager"}} in options
    options, used = codelists.lookup("urn:de:xoev:codeliste:erreichbarkeit", "", "")
    assert used.endswith("_4") and {"value": "06", "label": {"de": "Funkruf"}} in options


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "forbidden_dtd"),
        (b"<CodeList/>", "not_genericode"),
        (b"no xml", "not_xml"),
        (ERREICHBARKEIT.replace(b"<Version>3</Version>", b""), "missing_element"),
        (ERREICHBARKEIT.split(b"<Row>")[0] + b"</SimpleCodeList></gc:CodeList>", "empty_element"),
    ],
)
def test_broken_or_hostile_lists_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(FimImportError) as refused:
        parse_genericode(data)
    assert refused.value.code == code


class _Serve(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(ERREICHBARKEIT)))
        self.end_headers()
        self.wfile.write(ERREICHBARKEIT)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.django_db
def test_configured_urls_are_fetched_ssrf_safe(settings: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/erreichbarkeit_3.xml"
    try:
        settings.DIKOM_FIM_CODELIST_URLS = [url, "https://169.254.169.254/latest/meta-data"]
        with translation.override("en"):
            refused = codelists.fetch_configured()  # the production policy: https and public addresses only
        assert refused[url].startswith("The address must start with https://")
        assert "private or reserved" in refused["https://169.254.169.254/latest/meta-data"]
        assert not CodeList.objects.exists()
        local = safe_http.Policy(allow_http=True, allow_private=True, timeout_seconds=5, user_agent="test")
        assert codelists.fetch_configured(fetch_policy=local)[url] == "imported"
        assert CodeList.objects.get().source == url
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_management_command_imports_files(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "erreichbarkeit.xml"
    path.write_bytes(ERREICHBARKEIT)
    call_command("import_codelists", str(path))
    assert "urn:de:xoev:codeliste:erreichbarkeit_3 imported" in capsys.readouterr().out
    call_command("import_codelists", str(path))
    assert "unchanged" in capsys.readouterr().out


@pytest.mark.django_db
def test_platform_admin_uploads_a_list_in_german(client: Any, login: Any, platform_admin: Any, owner: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dikom.lib.langcheck import foreign_text

    login(client, platform_admin)
    page = client.get("/plattform-admin/eservices/codelist/hochladen/")
    assert page.status_code == 200 and foreign_text(page.content.decode(), "de") == []
    bad = client.post("/plattform-admin/eservices/codelist/hochladen/", {"file": SimpleUploadedFile("x.xml", b"<x/>")})
    assert bad.status_code == 200 and "genericode" in bad.content.decode() and not CodeList.objects.exists()
    done = client.post(
        "/plattform-admin/eservices/codelist/hochladen/", {"file": SimpleUploadedFile("e.xml", ERREICHBARKEIT)}
    )
    assert done.status_code == 302
    listing = client.get("/plattform-admin/eservices/codelist/").content.decode()
    assert "urn:de:xoev:codeliste:erreichbarkeit" in listing and "Codeliste importieren" in listing
    client.logout()
    login(client, owner)  # a city administrator is no platform administrator
    assert client.get("/plattform-admin/eservices/codelist/hochladen/").status_code == 302


@pytest.mark.django_db
def test_configured_lists_are_refreshed_daily_by_the_clock(settings: Any) -> None:
    from dikom.lib import periodic
    from dikom.lib.testing import run_task_worker

    job = periodic.JOBS["eservices.codelists"]
    assert job.task_path == "dikom.eservices.tasks.refresh_configured_codelists" and job.every_seconds == 86400
    settings.DIKOM_FIM_CODELIST_URLS = ["https://169.254.169.254/latest"]
    periodic.enqueue(job)
    run_task_worker()  # the metadata address is refused; nothing is imported, nothing crashes
    assert not CodeList.objects.exists()
