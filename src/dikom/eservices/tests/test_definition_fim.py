"""Import of FIM XDatenfelder schemas, with every sample of ../shared/standards/fim."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from conftest import skip_or_fail
from dikom.eservices.definition import validate_definition
from dikom.eservices.definition.fim import FimImportError, import_xdatenfelder

FIM = Path(__file__).resolve().parents[4].parent / "shared" / "standards" / "fim"
INVALID = {
    "xdatenfelder2/duplicate-optional-value.xml": ("duplicate_element", "beschreibung"),
    "xdatenfelder2/duplicate-required-value.xml": ("duplicate_element", "name"),
    "xdatenfelder2/unknown-namespace.xml": ("unknown_namespace", "xdatenfelder_unknown"),
    "xdatenfelder3/unknown-namespace.xml": ("unknown_namespace", "xdatenfelder_unknown"),
    "xdatenfelder3/duplicate-id-node.xml": ("duplicate_element", "id"),
    "xdatenfelder3/empty-id-node.xml": ("empty_element", "id"),
    "xdatenfelder3/missing-id-node.xml": ("missing_element", "id"),
    "xdatenfelder3/unexpected-node.xml": ("unexpected_element", "unknown"),
    "xdatenfelder3/invalid-freigabestatus.xml": ("invalid_code", "10"),
}


def sample(name: str) -> bytes:
    path = FIM / name
    if not path.exists():
        skip_or_fail(f"FIM samples not found at {FIM} (the shared standards folder is absent)")
    return path.read_bytes()


def all_samples() -> list[str]:
    if not FIM.exists():
        return ["xdatenfelder2/S00000121-BlaueKarte.xml"]  # the test then skips with a reason
    return sorted(str(p.relative_to(FIM)) for p in FIM.rglob("*.xml"))


@pytest.mark.parametrize("name", all_samples())
def test_every_sample(name):
    data = sample(name)
    if name in INVALID:
        code, detail = INVALID[name]
        with pytest.raises(FimImportError) as caught:
            import_xdatenfelder(data)
        assert caught.value.code == code
        assert detail in caught.value.message
    else:
        result = import_xdatenfelder(data)
        assert validate_definition(result.definition) == [], name
        assert all(isinstance(w, str) and w for w in result.warnings)


@translation.override("de")  # warnings are shown to designers in the default language
def test_blaue_karte_groups_become_steps():
    result = import_xdatenfelder(sample("xdatenfelder2/S00000121-BlaueKarte.xml"))
    definition = result.definition
    assert definition["identity"]["title"] == {"de": "Antrag auf Blaue Karte EU"}
    titles = [step["title"]["de"] for step in definition["steps"]]
    assert titles[:3] == [
        "Persönliche Angaben zum Antragsteller",
        "Anschrift des Antragstellers in Deutschland",
        "Angaben zu vorhandenem Visum oder Aufenthaltstitel",
    ]
    first = {f["label"]["de"]: f for f in definition["steps"][0]["fields"]}
    assert first["Familienname"]["required"] is True
    assert first["Familienname"]["validation"] == {"min_length": 1}
    assert first["Titel"]["required"] is False
    assert first["Größe"]["type"] == "number"
    assert first["Lichtbild"]["type"] == "file" and first["Lichtbild"]["max_bytes"] > 0
    assert first["Familienname"]["help"]["de"].startswith("Geben Sie den Nachnamen")
    types = {f["type"] for step in definition["steps"] for f in step["fields"]}
    assert {"text", "date", "yes_no", "file", "number"} <= types
    # flattened nested groups carry their group's label as prefix
    address = definition["steps"][1]["fields"][0]["label"]["de"]
    assert address.startswith("Anschrift in Deutschland – Straßenanschrift")
    # rules and external code lists are reported, not silently dropped
    assert any("R00000252" in w for w in result.warnings)
    assert any("Geschlecht" in w and "Codeliste" in w for w in result.warnings)


def test_repeating_groups_from_cardinality():
    result = import_xdatenfelder(sample("xdatenfelder2/S00000121-BlaueKarte.xml"))
    groups = [f for step in result.definition["steps"] for f in step["fields"] if f["type"] == "repeating_group"]
    assert groups and all(g["fields"] for g in groups)
    assert any(g.get("max_items") == 5 and g.get("min_items") == 2 for g in groups) or any(
        g.get("max_items") is None for g in groups
    )


def test_xdatenfelder3_structured_precision_and_label():
    result = import_xdatenfelder(sample("xdatenfelder3/simple.xml"))
    (step,) = result.definition["steps"]
    (field,) = step["fields"]
    assert field["label"]["de"] == "Straße"
    assert field["validation"] == {"min_length": 1, "max_length": 55}
    assert field["required"] is False  # its group G60000000086 is optional (0:1)


def test_label_becomes_info():
    result = import_xdatenfelder(sample("xdatenfelder2/label.xml"))
    (field,) = result.definition["steps"][0]["fields"]
    assert field["type"] == "info" and field["text"] == {"de": "Hinweis Inhalt"}


def test_version_1_is_imported():
    result = import_xdatenfelder(sample("xdatenfelder1-WaBeKa.xml"))
    assert result.definition["identity"]["fim_id"] == "S00000036"
    assert "XDatenfelder 1" in result.warnings[0]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "forbidden_dtd"),
        (b"<not-closed>", "not_xml"),
        (b"<x/>", "unknown_namespace"),
        (b'<a:xdatenfelder.datenfeld.0104 xmlns:a="urn:xoev-de:fim:standard:xdatenfelder_2"/>', "unsupported_message"),
        (b" " * (10 * 1024 * 1024 + 1), "too_large"),
    ],
)
def test_hostile_or_broken_input(data, code):
    with pytest.raises(FimImportError) as caught:
        import_xdatenfelder(data)
    assert caught.value.code == code


def _simple_with_upload(anzahl: str, extra: str) -> bytes:
    """The real XDatenfelder 3 sample with its field turned into an upload (``extra`` after ``praezisierung``)."""
    xml = sample("xdatenfelder3/simple.xml").decode("utf-8")
    xml = xml.replace("<code>text</code>\n                                </xdf:datentyp>", "<code>file</code>\n                                </xdf:datentyp>", 1)  # fmt: skip
    xml = xml.replace('<xdf:praezisierung minLength="1" maxLength="55"/>', extra, 1)
    xml = xml.replace("<xdf:anzahl>1:1</xdf:anzahl>", f"<xdf:anzahl>{anzahl}</xdf:anzahl>", 1)
    return xml.encode("utf-8")


def test_file_fields_keep_max_size_and_media_types():
    extra = (
        "<xdf:maxSize>20000000</xdf:maxSize><xdf:mediaType>application/pdf</xdf:mediaType>"
        "<xdf:mediaType>image/tiff</xdf:mediaType><xdf:mediaType>application/json</xdf:mediaType>"
    )
    with translation.override("en"):
        result = import_xdatenfelder(_simple_with_upload("1:1", extra))
    (field,) = result.definition["steps"][0]["fields"]
    assert field["type"] == "file"
    assert field["max_bytes"] == 20_000_000  # not the 10 MiB default
    assert field["accept"] == ["application/pdf", "image/tiff"]
    assert any("application/json" in w for w in result.warnings)
    assert validate_definition(result.definition) == []


def test_file_size_above_the_portal_limit_is_cut_with_a_warning():
    with translation.override("en"):
        result = import_xdatenfelder(_simple_with_upload("1:1", "<xdf:maxSize>104857600</xdf:maxSize>"))
    (field,) = result.definition["steps"][0]["fields"]
    assert field["max_bytes"] == 25 * 1024 * 1024 and field["accept"] == ["application/pdf", "image/jpeg", "image/png"]
    assert any("100.0 MB" in w for w in result.warnings)


def test_a_size_limit_that_looks_like_kilobytes_is_kept_in_bytes_with_a_warning():
    # XDatenfelder's maxSize is bytes (the FIM editors' style sheets show it divided by 1 000 000 as MB);
    # "5000" was probably meant as 5 000 kB: it stays 5 000 bytes, and the designer is told.
    with translation.override("en"):
        small = import_xdatenfelder(_simple_with_upload("1:1", "<xdf:maxSize>5000</xdf:maxSize>"))
        usual = import_xdatenfelder(_simple_with_upload("1:1", "<xdf:maxSize>5000000</xdf:maxSize>"))
    assert small.definition["steps"][0]["fields"][0]["max_bytes"] == 5000
    assert any("only 5000 bytes" in w and "kilobytes" in w for w in small.warnings)
    assert usual.definition["steps"][0]["fields"][0]["max_bytes"] == 5_000_000
    assert not any("kilobytes" in w for w in usual.warnings)


def test_a_field_that_may_occur_several_times_becomes_a_repeating_group():
    with translation.override("en"):
        result = import_xdatenfelder(_simple_with_upload("1:3", "<xdf:mediaType>application/pdf</xdf:mediaType>"))
    (group,) = result.definition["steps"][0]["fields"]
    assert group["type"] == "repeating_group"
    assert group["max_items"] == 3 and group["min_items"] == 1
    (inner,) = group["fields"]
    assert inner["type"] == "file" and inner["accept"] == ["application/pdf"] and inner["required"] is True
    assert not any("several times" in w for w in result.warnings)
    assert validate_definition(result.definition) == []
