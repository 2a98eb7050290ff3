"""ZIP export/import of a definition: exact round trips and defensive imports."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dikom.eservices.definition import FORMAT
from dikom.eservices.definition.interchange import InterchangeError, checksum, export_zip, import_zip
from dikom.eservices.tests.test_definition_validation import service

META = {"exported_at": "2025-05-16T10:00:00+02:00", "source_ags": "06631009", "version": 3}


def test_round_trip_and_layout():
    data = export_zip(service(), {"logo.png": b"\x89PNG..."}, META)
    definition, assets, metadata = import_zip(data)
    assert definition == service()
    assert assets == {"logo.png": b"\x89PNG..."}
    assert metadata["source_ags"] == "06631009" and metadata["version"] == 3
    assert metadata["definition_sha256"] == checksum(service())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["definition.json", "metadata.json", "assets/logo.png"]
        raw = archive.read("definition.json").decode()
    assert raw == json.dumps(service(), sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    assert export_zip(definition, assets, metadata) == data


# Any text but NUL, which the import refuses on purpose (PostgreSQL cannot store it; see the test below).
no_nul = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))  # text a UTF-8 file can hold
json_leaves = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(no_nul, max_size=20)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(no_nul, max_size=8), children, max_size=3)
    ),
    max_leaves=15,
)


@settings(max_examples=60, deadline=None)
@given(
    extra=st.dictionaries(st.text(no_nul, min_size=1, max_size=8), json_values, max_size=4),
    assets=st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9_.-]{0,20}\Z"), st.binary(max_size=200), max_size=3),
)
def test_export_import_export_is_identical(extra, assets):
    definition = {**extra, "format": FORMAT}
    first = export_zip(definition, assets, META)
    imported = import_zip(first)
    assert imported[0] == definition and imported[1] == assets
    assert export_zip(*imported) == first


def test_a_nul_character_anywhere_in_the_definition_is_refused():
    archive = export_zip({"format": FORMAT, "note": "a\x00b"}, {}, META)

    with pytest.raises(InterchangeError):
        import_zip(archive)


def make_zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            if name == symlink:
                info.create_system = 3
                info.external_attr = 0o120777 << 16
            archive.writestr(info, content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


GOOD_DEFINITION = json.dumps({"format": FORMAT}).encode()
GOOD_METADATA = json.dumps(
    {
        "format": "dikom.service-archive/1",
        "definition_sha256": checksum({"format": FORMAT}),
        "version": 3,
        "source_ags": "06631009",
    }
).encode()


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ({"definition.json": GOOD_DEFINITION, "../evil": b"x"}, "unsafe_path"),
        ({"definition.json": GOOD_DEFINITION, "assets/../../evil": b"x"}, "unsafe_path"),
        ({"definition.json": GOOD_DEFINITION, "/etc/passwd": b"x"}, "unsafe_path"),
        ({"definition.json": GOOD_DEFINITION, "C:/evil": b"x"}, "unsafe_path"),
        ({"assets/a": b"x"}, "missing_definition"),
        ({"definition.json": b"{not json"}, "invalid_json"),
        ({"definition.json": b"[]"}, "invalid_definition"),
        ({"definition.json": b'{"format": "other"}'}, "invalid_definition"),
        (
            {
                "definition.json": GOOD_DEFINITION,
                "metadata.json": GOOD_METADATA.replace(b'"definition_sha256": "', b'"definition_sha256": "00'),
            },
            "checksum",
        ),
        ({"definition.json": GOOD_DEFINITION}, "missing_metadata"),
        ({"definition.json": GOOD_DEFINITION, "metadata.json": b'{"definition_sha256": "00"}'}, "invalid_metadata"),
        ({"definition.json": GOOD_DEFINITION, "metadata.json": b"[]"}, "invalid_metadata"),
        (
            {
                "definition.json": GOOD_DEFINITION,
                "metadata.json": GOOD_METADATA.replace(b'"version": 3', b'"version": "3"'),
            },
            "invalid_metadata",
        ),
        ({"definition.json": b'{"identity": 5}'}, "invalid_definition"),
        (
            {"definition.json": json.dumps({"format": FORMAT, "identity": 5}).encode(), "metadata.json": b"{}"},
            "invalid_definition",
        ),
        ({"definition.json": json.dumps({"format": FORMAT, "steps": {"a": 1}}).encode()}, "invalid_definition"),
        (
            {"definition.json": json.dumps({"format": FORMAT, "steps": [{"fields": [7]}]}).encode()},
            "invalid_definition",
        ),
        (
            {"definition.json": json.dumps({"format": FORMAT, "fees": [{"amount_cents": "5"}]}).encode()},
            "invalid_definition",
        ),
        (
            {"definition.json": json.dumps({"format": FORMAT, "processing": {"lanes": [1]}}).encode()},
            "invalid_definition",
        ),
        ({"definition.json": b'{"format": "dikom.service/1", "a": ' + b"[" * 100_000 + b"}"}, "invalid_json"),
        ({"definition.json": GOOD_DEFINITION, "metadata.json": GOOD_METADATA, "other.txt": b"x"}, "unexpected_entry"),
        ({"definition.json": GOOD_DEFINITION, "assets/big": b"\0" * (30 * 1024 * 1024)}, "entry_too_large"),
        ({"definition.json": GOOD_DEFINITION, "assets/bomb": b"\0" * (20 * 1024 * 1024)}, "compression_ratio"),
        ({"definition.json": GOOD_DEFINITION, **{f"assets/f{i}": b"" for i in range(250)}}, "too_many_entries"),
    ],
)
def test_rejected_archives(entries, code):
    with pytest.raises(InterchangeError) as caught:
        import_zip(make_zip(entries))
    assert caught.value.code == code


def test_symlink_is_rejected():
    with pytest.raises(InterchangeError) as caught:
        import_zip(make_zip({"definition.json": GOOD_DEFINITION, "assets/link": b"/etc/passwd"}, symlink="assets/link"))
    assert caught.value.code == "symlink"


def test_not_a_zip():
    with pytest.raises(InterchangeError) as caught:
        import_zip(b"PK not really")
    assert caught.value.code == "not_a_zip"


def test_export_rejects_unsafe_asset_names():
    with pytest.raises(InterchangeError):
        export_zip(service(), {"../x": b""}, META)


def test_a_complete_archive_without_assets_is_read():
    definition, assets, metadata = import_zip(
        make_zip({"definition.json": GOOD_DEFINITION, "metadata.json": GOOD_METADATA})
    )

    assert definition == {"format": FORMAT} and assets == {} and metadata["version"] == 3


@pytest.mark.parametrize("name", ["assets/x\ny", "assets/x\ty", "assets/" + "y" * 300])
def test_names_with_control_characters_or_too_long_are_refused(name):
    with pytest.raises(InterchangeError) as caught:
        import_zip(make_zip({"definition.json": GOOD_DEFINITION, "metadata.json": GOOD_METADATA, name: b"x"}))
    assert caught.value.code == "unsafe_path"
    assert "y" * 101 not in str(caught.value) and "\n" not in str(caught.value)
