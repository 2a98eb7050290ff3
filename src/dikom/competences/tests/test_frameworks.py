"""Frameworks: DigComp 2.2 and KGSt shipped, export and import as JSON and CSV, versions, hostile input."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from dikom.competences import exchange
from dikom.competences.models import Framework, FrameworkVersion
from dikom.lib.testing import english_client

pytestmark = pytest.mark.django_db


def test_digcomp_and_kgst_are_shipped_and_credited(digcomp: FrameworkVersion, colleague: Any, login: Any) -> None:
    assert len(digcomp.content["areas"]) == 5
    assert len(digcomp.competences()) == 21
    assert [lvl["value"] for lvl in digcomp.levels] == list(range(1, 9))
    assert all(lvl["descriptor"]["de"] and lvl["descriptor"]["en"] for lvl in digcomp.levels)
    assert digcomp.content["licence"] == "CC BY 4.0" and "Joint Research Centre" in digcomp.content["source"]
    kgst = Framework.objects.get(key="kgst-schluesselkompetenzen").versions.get()
    assert len(kgst.competences()) == 8 and kgst.levels == []

    client = login(Client(), colleague)
    html = client.get("/kompetenzen/rahmen/").content.decode()
    assert "DigComp 2.2" in html and "KGSt-Schlüsselkompetenzen" in html
    html = client.get(f"/kompetenzen/rahmen/{digcomp.uuid}/").content.decode()
    assert "CC BY 4.0" in html and "Joint Research Centre" in html and "Hoch spezialisiert 8" in html


def test_export_json_and_csv_round_trip(digcomp: FrameworkVersion, colleague: Any, login: Any) -> None:
    client = login(english_client(), colleague)
    as_json = client.get(f"/kompetenzen/rahmen/{digcomp.uuid}/export.json")
    assert as_json.status_code == 200 and "attachment" in as_json["Content-Disposition"]
    assert exchange.parse_json(as_json.content) == digcomp.content
    as_csv = client.get(f"/kompetenzen/rahmen/{digcomp.uuid}/export.csv")
    assert as_csv.status_code == 200
    assert exchange.parse_csv(as_csv.content) == digcomp.content
    assert client.get(f"/kompetenzen/rahmen/{digcomp.uuid}/export.xml").status_code == 404


def _own_framework(key: str = "fulda-verwaltung", title: str = "Aktenführung") -> dict[str, Any]:
    return {
        "format": exchange.FORMAT,
        "key": key,
        "name": {"de": "Fuldaer Verwaltungskompetenzen", "en": "Fulda administration competences"},
        "levels": [
            {"value": 1, "title": {"de": "Basis", "en": "Basic"}, "descriptor": {"de": "mit Hilfe"}},
            {"value": 2, "title": {"de": "Sicher", "en": "Confident"}, "descriptor": {"de": "selbstständig"}},
        ],
        "areas": [{"code": "A", "title": {"de": "E-Akte"}, "competences": [{"code": "A1", "title": {"de": title}}]}],
    }


def test_hr_imports_a_city_framework_and_a_change_makes_a_new_version(
    digcomp: FrameworkVersion, city_a: Any, owner: Any, login: Any
) -> None:
    client = login(english_client(), owner)
    url = "/kompetenzen/fulda/rahmen/import/"
    upload = SimpleUploadedFile("rahmen.json", json.dumps(_own_framework()).encode())
    assert client.post(url, {"file": upload}).status_code == 302
    first = FrameworkVersion.objects.get(framework__key="fulda-verwaltung")
    assert first.number == 1 and first.framework.municipality == city_a
    # The same content again changes nothing; a changed title adds version 2, version 1 stays as it was.
    client.post(url, {"file": SimpleUploadedFile("rahmen.json", json.dumps(_own_framework()).encode())})
    changed = exchange.to_csv(exchange.validate_document(_own_framework(title="E-Akte führen"))).encode()
    assert client.post(url, {"file": SimpleUploadedFile("rahmen.csv", changed)}).status_code == 302
    versions = list(FrameworkVersion.objects.filter(framework__key="fulda-verwaltung").order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].competences()[0]["title"]["de"] == "Aktenführung"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.json", b"[" * 5000 + b"]" * 5000, "Das JSON ist zu tief verschachtelt."),
        ("x.json", b'{"format": "x"}', "Unbekanntes Format"),
        ("x.json", b"\xff\xfe\x00", "kein UTF-8"),
        ("x.json", b"{not json", "kein gültiges JSON"),
        ("x.json", b" " * (exchange.MAX_BYTES + 10), "zu groß"),
        ("x.csv", b"kind,code\nlevel,1\n", "braucht die Spalten"),
        ("x.xml", b"<x/>", ".json- oder .csv-Datei"),
    ],
)
def test_hostile_or_broken_files_get_a_german_error(
    city_a: Any, owner: Any, login: Any, name: str, content: bytes, message: str
) -> None:
    client = login(Client(), owner)
    response = client.post("/kompetenzen/fulda/rahmen/import/", {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Framework.objects.filter(municipality=city_a).exists()


def test_duplicate_codes_and_bad_levels_are_named() -> None:
    doc = _own_framework()
    doc["areas"][0]["competences"].append({"code": "A1", "title": {"de": "x"}})
    with pytest.raises(exchange.FrameworkFormatError, match="A1"):
        exchange.validate_document(doc)
    doc = _own_framework()
    doc["levels"][1]["value"] = 5
    with pytest.raises(exchange.FrameworkFormatError):
        exchange.validate_document(doc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_parsers_never_fail_with_anything_but_a_format_error(raw: bytes) -> None:
    for parse in (exchange.parse_json, exchange.parse_csv):
        with contextlib.suppress(exchange.FrameworkFormatError):
            parse(raw)


def test_import_rights_and_city_frameworks_stay_in_their_city(
    city_a: Any, city_b: Any, owner: Any, colleague: Any, outsider: Any, login: Any
) -> None:
    assert login(Client(), colleague).get("/kompetenzen/fulda/rahmen/import/").status_code == 403
    assert login(Client(), outsider).get("/kompetenzen/fulda/rahmen/import/").status_code == 404
    client = login(Client(), owner)
    client.post(
        "/kompetenzen/fulda/rahmen/import/",
        {"file": SimpleUploadedFile("r.json", json.dumps(_own_framework()).encode())},
    )
    version = FrameworkVersion.objects.get(framework__key="fulda-verwaltung")
    outsider_client = login(Client(), outsider)
    assert outsider_client.get(f"/kompetenzen/rahmen/{version.uuid}/").status_code == 404
    assert outsider_client.get(f"/kompetenzen/rahmen/{version.uuid}/export.json").status_code == 404
    assert "Fuldaer Verwaltungskompetenzen" not in outsider_client.get("/kompetenzen/rahmen/").content.decode()
