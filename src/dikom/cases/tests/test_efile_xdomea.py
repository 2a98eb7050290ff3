"""xdomea 3.0.0 export of closed case files: content, validity against the official XSDs, naming.

The XSDs come from ``<repo>/../shared/standards/xdomea/3.0.0/`` (or
DIKOM_XDOMEA_XSD_DIR); tests that validate skip without them, and fail in CI
(DIKOM_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import os
import re
import struct
import uuid
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import etree

from dikom.cases.efile import service, xdomea
from dikom.cases.efile.model import (
    CaseFile,
    Confidentiality,
    Decision,
    Disposal,
    Document,
    DocumentKind,
    HistoryEntry,
    Outcome,
    Party,
    Retention,
)
from dikom.cases.efile.xdomea import ExportError, MessageType, XsdUnavailable

NS = {"x": "urn:xoev-de:xdomea:schema:3.0.0"}
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CET = timezone(timedelta(hours=1))


def require_xsds() -> None:
    """Skip (or fail in CI) when the official xdomea 3.0.0 XSDs are not available."""
    directory = xdomea.xsd_dir()
    if (directory / "xdomea.xsd").is_file():
        return
    reason = f"xdomea 3.0.0 XSDs not found in {directory} (shared standards folder absent)"
    if os.environ.get("DIKOM_REQUIRE_SERVICES") != "1":
        pytest.skip(reason)
    pytest.fail(f"{reason} (DIKOM_REQUIRE_SERVICES is set, so this is a failure)")


@pytest.fixture
def xsds() -> None:
    require_xsds()


def tiny_pdf(text: str) -> bytes:
    """A small but well-formed PDF 1.4 with one page showing ``text`` (correct xref offsets)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def tiny_png() -> bytes:
    """A valid 1x1 PNG (a scanned proof stands in for the real thing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def realistic_case_file(**overrides: object) -> CaseFile:
    """A dog-tax reduction case of Fulda, decided and closed, with three documents and its history."""
    opened = datetime(2025, 3, 3, 9, 14, tzinfo=CET)
    decided = opened + timedelta(days=6, hours=2)
    closed = decided + timedelta(hours=1)
    documents = (
        Document(
            uuid=uuid.UUID("1b0e8f4c-4a7f-4d0c-9d0f-6a1c4c1b2a01"),
            title="Antrag auf Ermäßigung der Hundesteuer",
            file_name="Antrag Hundesteuer.pdf",
            media_type="application/pdf",
            created_at=opened,
            kind=DocumentKind.APPLICATION,
            content=tiny_pdf("Antrag auf Ermaessigung der Hundesteuer"),
        ),
        Document(
            uuid=uuid.UUID("1b0e8f4c-4a7f-4d0c-9d0f-6a1c4c1b2a02"),
            title="Nachweis Bürgergeld-Bescheid",
            file_name="Nachweis Bürgergeld (Scan).png",
            media_type="image/png",
            created_at=opened + timedelta(minutes=3),
            kind=DocumentKind.ATTACHMENT,
            content=tiny_png(),
        ),
        Document(
            uuid=uuid.UUID("1b0e8f4c-4a7f-4d0c-9d0f-6a1c4c1b2a03"),
            title="Bescheid über die Ermäßigung der Hundesteuer",
            file_name="Bescheid FD-2025-000123.pdf",
            media_type="application/pdf",
            created_at=decided,
            kind=DocumentKind.DECISION_LETTER,
            content=tiny_pdf("Bescheid"),
            archival=True,
        ),
    )
    history = (
        HistoryEntry(opened, "Antrag eingegangen", "Online-Dienst"),
        HistoryEntry(opened + timedelta(days=1), "Vollständigkeit geprüft", "Sachbearbeitung", "Nachweis liegt vor"),
        HistoryEntry(decided, "Entscheidung getroffen", "Sachbearbeitung"),
        HistoryEntry(closed, "Fall abgeschlossen", "Sachbearbeitung"),
    )
    values: dict[str, object] = {
        "uuid": uuid.UUID("0c7a4e5e-2f59-4b53-8f0b-2a4f2d3e9a10"),
        "reference": "FD-2025-000123",
        "title": "Hundesteuer – Ermäßigung für Bürgergeld-Beziehende",
        "municipality_name": "Stadt Fulda",
        "municipality_ags": "06631009",
        "org_unit": "Steueramt, Abteilung Kommunale Steuern",
        "service_title": "Hundesteuer Ermäßigung beantragen",
        "leika_key": "99012001001000",
        "opened_at": opened,
        "closed_at": closed,
        "status": "closed",
        "result": "approved",
        "documents": documents,
        "decision": Decision(
            Outcome.APPROVE, "Nachweis über Bürgergeld liegt vor (§ 5 HStS).", decided, "Sachbearbeitung"
        ),
        "history": history,
        "retention": Retention(
            years=10, disposal=Disposal.DESTROY, file_plan_key="022.31", file_plan_title="Hundesteuer"
        ),
    }
    values.update(overrides)
    return CaseFile(**values)  # type: ignore[arg-type]


SENDER = Party("Stadt Fulda", "06631009", "Steueramt")
RECEIVER = Party("Stadt Fulda", "06631009")
CREATED = datetime(2025, 3, 9, 12, 0, tzinfo=UTC)


def build(case_file: CaseFile | None = None, **kwargs: object) -> xdomea.ExportPackage:
    options: dict[str, object] = {"sender": SENDER, "receiver": RECEIVER, "created_at": CREATED}
    options.update(kwargs)
    return xdomea.build_package(case_file or realistic_case_file(), **options)  # type: ignore[arg-type]


def parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.xpath(path, namespaces=NS)]


# --- validity and content ---------------------------------------------------------------


def test_realistic_case_file_validates_against_the_official_xsds(xsds: None) -> None:
    case_file = realistic_case_file()
    package = build(case_file, ablageort="/srv/dms/eingang")

    assert xdomea.validate(package.xml) == []

    root = parse(package.xml)
    assert root.tag == "{urn:xoev-de:xdomea:schema:3.0.0}FVDaten.SGOAblegen.0605"
    assert root.prefix == "xdomea"  # the specification demands this prefix
    assert texts(root, "x:Kopf/x:ProzessID") == [str(package.process_id)]
    assert texts(root, "x:Kopf/x:Nachrichtentyp/code") == ["0605"]
    assert texts(root, "x:Kopf/x:Erstellungszeitpunkt") == ["2025-03-09T12:00:00Z"]
    assert texts(root, "x:Kopf/x:Absender/x:Behoerdenkennung/x:Behoerdenschluessel/code") == ["06631009"]
    assert texts(root, "x:Kopf/x:Absender/x:Organisationseinheit/x:Name") == ["Steueramt"]
    assert texts(root, "x:Kopf/x:Importbestaetigung") == ["1"]

    item = root.xpath("x:SchriftgutobjektZumAblegen", namespaces=NS)[0]
    assert texts(item, "x:FachverfahrenObjektID") == [str(case_file.uuid)]
    assert texts(item, "x:Ablageort") == ["/srv/dms/eingang"]
    akte = item.xpath("x:Schriftgutobjekt/x:Akte", namespaces=NS)[0]
    assert texts(akte, "x:Identifikation/x:ID") == [str(case_file.uuid)]
    assert texts(akte, "x:AllgemeineMetadaten/x:Kennzeichen") == ["FD-2025-000123"]
    assert texts(akte, "x:AllgemeineMetadaten/x:Betreff") == [case_file.title]
    assert texts(akte, "x:AllgemeineMetadaten/x:Aktenplaneinheit/x:Kennzeichen") == ["022.31"]
    assert texts(akte, "x:ArchivspezifischeMetadaten/x:Aufbewahrungsdauer/x:AnzahlJahre") == ["10"]
    assert texts(akte, "x:ArchivspezifischeMetadaten/x:Aussonderungsart/x:Aussonderungsart/code") == ["V"]
    assert texts(akte, "x:ArchivspezifischeMetadaten/x:Aufbewahrungsende") == ["2035-12-31"]
    assert texts(akte, "x:Laufzeit/x:Beginn") == ["2025-03-03"]
    assert texts(akte, "x:ZdA") == ["1"]

    vorgang = akte.xpath("x:Akteninhalt/x:Vorgang", namespaces=NS)[0]
    assert texts(vorgang, "x:ZdADatum") == ["2025-03-09"]
    assert texts(vorgang, "x:HistorienProtokollInformation/x:Aktion") == [
        "Antrag eingegangen",
        "Vollständigkeit geprüft",
        "Entscheidung getroffen",
        "Fall abgeschlossen",
    ]
    assert texts(vorgang, "x:HistorienProtokollInformation/x:Akteur")[0] == "Online-Dienst"
    assert texts(vorgang, "x:Dokument/x:Typ") == ["Antrag", "Anlage", "Bescheid"]
    assert texts(vorgang, "x:Dokument/x:Version/x:Format/x:Name/code") == ["018", "019", "044"]
    assert texts(vorgang, "x:Dokument/x:Version/x:Format/x:Primaerdokument/x:DateinameOriginal") == [
        document.file_name for document in case_file.documents
    ]

    extension = vorgang.xpath("x:AnwendungsspezifischeErweiterung", namespaces=NS)[0]
    fields = dict(
        zip(
            texts(extension, ".//x:Feld/x:Name"),
            texts(extension, ".//x:Feld/x:Wert"),
            strict=True,
        )
    )
    assert fields["LeiKaSchluessel"] == "99012001001000"
    assert fields["Ergebnis"] == "approved"
    assert fields["Begruendung"] == "Nachweis über Bürgergeld liegt vor (§ 5 HStS)."
    assert fields["EntschiedenVonRolle"] == "Sachbearbeitung"
    assert fields["AutomatisiertEntschieden"] == "false"


def test_zip_container_follows_the_xdomea_naming_rules() -> None:
    package = build()
    base = f"{package.process_id}_FVDaten.SGOAblegen.0605"
    assert re.fullmatch(UUID_PATTERN + r"_FVDaten\.SGOAblegen\.0605\.zip", package.file_name)
    assert package.file_name == f"{base}.zip"

    entries = xdomea.read_package(package.content)
    assert next(iter(entries)) == f"{base}.xml"
    assert entries[f"{base}.xml"] == package.xml

    root = parse(package.xml)
    named = texts(root, "//x:Primaerdokument/x:Dateiname")
    assert sorted(named) == sorted(name for name in entries if name != f"{base}.xml")
    case_file = realistic_case_file()
    for document, file_name in zip(case_file.documents, named, strict=True):
        # <Dokument-UUID>_<name>.<extension>, plain ASCII for every file share and DMS
        assert file_name.startswith(f"{document.uuid}_")
        assert file_name.isascii()
        assert entries[file_name] == document.content
    assert named[1] == "1b0e8f4c-4a7f-4d0c-9d0f-6a1c4c1b2a02_Nachweis_Buergergeld_Scan.png"


def test_the_same_export_gives_the_same_process_id_and_bytes() -> None:
    first, second = build(), build()
    assert first.process_id == second.process_id
    assert first.content == second.content
    assert first.sha256 == second.sha256
    reopened = realistic_case_file(closed_at=realistic_case_file().closed_at + timedelta(days=30))
    assert build(reopened).process_id != first.process_id  # closing again is a new xdomea process


def test_document_content_can_come_from_a_file(tmp_path: Path, xsds: None) -> None:
    letter = tmp_path / "bescheid.pdf"
    letter.write_bytes(tiny_pdf("Bescheid aus Datei"))
    case_file = realistic_case_file()
    documents = (*case_file.documents[:2], replace(case_file.documents[2], content=None, path=letter))
    package = build(replace(case_file, documents=documents))
    assert xdomea.validate(package.xml) == []
    assert letter.read_bytes() in xdomea.read_package(package.content).values()


@pytest.mark.parametrize("message_type", list(MessageType))
@pytest.mark.parametrize("confidentiality", list(Confidentiality))
@pytest.mark.parametrize("disposal", list(Disposal))
def test_every_code_used_is_in_the_xsd_code_lists(
    message_type: MessageType, confidentiality: Confidentiality, disposal: Disposal, xsds: None
) -> None:
    case_file = realistic_case_file(confidentiality=confidentiality, retention=Retention(years=None, disposal=disposal))
    package = build(case_file, message_type=message_type)
    assert xdomea.validate(package.xml) == []
    root = parse(package.xml)
    assert root.tag.endswith(f".{message_type.value}")
    assert texts(root, "//x:Aufbewahrungsdauer/x:Unbefristet") == ["1"]
    assert texts(root, "//x:Akte/x:AllgemeineMetadaten/x:Vertraulichkeitsstufe/code") == [confidentiality.value]


def test_unlisted_file_formats_are_named(xsds: None) -> None:
    case_file = realistic_case_file()
    odd = Document(
        uuid=uuid.uuid4(),
        title="Lageplan",
        file_name="lageplan.dwg",
        media_type="image/vnd.dwg",
        created_at=case_file.opened_at,
        kind=DocumentKind.ATTACHMENT,
        content=b"AC1032",
    )
    package = build(replace(case_file, documents=(*case_file.documents, odd)))
    assert xdomea.validate(package.xml) == []
    root = parse(package.xml)
    assert texts(root, "//x:Format[x:Name/code='100']/x:SonstigerName") == ["image/vnd.dwg"]
    assert f"{odd.uuid}_lageplan.dwg" in xdomea.read_package(package.content)


# --- bad input ------------------------------------------------------------------------


def test_missing_required_data_gives_a_clear_error_not_invalid_xml() -> None:
    case_file = realistic_case_file(
        reference="  ",
        municipality_ags="6631009",
        closed_at=datetime(2025, 3, 9, 12, 0),  # noqa: DTZ001 - naive on purpose
        documents=(),
        leika_key="12345",
    )
    with pytest.raises(ExportError) as raised:
        build(case_file)
    problems = raised.value.problems
    assert "reference (Aktenzeichen) is empty" in problems
    assert "municipality AGS must be 8 digits, got '6631009'" in problems
    assert "closed_at must be a timezone-aware datetime (is the case closed?)" in problems
    assert "the case file has no documents" in problems
    assert "LeiKa key must be 14 digits starting with 99, got '12345'" in problems
    assert "reference (Aktenzeichen) is empty" in str(raised.value)


def test_document_problems_name_the_document(tmp_path: Path) -> None:
    case_file = realistic_case_file()
    documents = (
        case_file.documents[0],
        replace(case_file.documents[1], content=None, path=tmp_path / "gone.png"),
        replace(case_file.documents[2], title="", uuid=case_file.documents[0].uuid),
    )
    with pytest.raises(ExportError) as raised:
        build(replace(case_file, documents=documents))
    assert raised.value.problems == [
        f"document 2: file {tmp_path / 'gone.png'} does not exist",
        "document 3: title is empty",
        f"document 3: uuid {case_file.documents[0].uuid} is used twice",
    ]


def test_a_closing_before_the_opening_is_refused() -> None:
    case_file = realistic_case_file()
    with pytest.raises(ExportError, match="closed_at lies before opened_at"):
        build(replace(case_file, closed_at=case_file.opened_at - timedelta(days=1)))


def test_validate_reports_readable_errors(xsds: None) -> None:
    xml = build().xml.replace(b"<code>0605</code>", b"<code>9999</code>", 1)
    errors = xdomea.validate(xml)
    assert errors
    assert any("Nachrichtentyp" in error and "9999" in error for error in errors)
    broken = xdomea.validate(b"<xdomea:broken")
    assert len(broken) == 1
    assert broken[0].startswith("not well-formed XML")


def test_missing_xsd_folder_is_reported_and_export_still_works(tmp_path: Path, settings: object) -> None:
    settings.DIKOM_XDOMEA_XSD_DIR = str(tmp_path)  # type: ignore[attr-defined]
    with pytest.raises(XsdUnavailable, match=r"xdomea\.xsd does not exist"):
        xdomea.validate(build().xml)
    package = service.export_case_file(realistic_case_file(), created_at=CREATED, connector=None)
    assert package.file_name.endswith("_FVDaten.SGOAblegen.0605.zip")


# --- text round trips -------------------------------------------------------------------


def test_umlauts_and_special_characters_round_trip(xsds: None) -> None:
    title = "Änderung „Straßenreinigung“ <Grünfläche> & 'Ölspur' — 5 € · 🌳"
    note = 'Zeile 1\nZeile 2\r\n"zitiert" & <b>kein HTML</b>'
    case_file = realistic_case_file(
        title=title,
        history=(HistoryEntry(realistic_case_file().opened_at, "Notiz ergänzt", "Sachbearbeitung", note),),
    )
    package = build(case_file)
    assert xdomea.validate(package.xml) == []
    root = parse(package.xml)
    assert texts(root, "//x:Akte/x:AllgemeineMetadaten/x:Betreff") == [title]
    assert texts(root, "//x:HistorienProtokollInformation/x:Bemerkung") == [note]


def test_characters_xml_cannot_carry_are_dropped(xsds: None) -> None:
    package = build(realistic_case_file(title="Ge\x00büh\x0bren\ufffe"))
    assert xdomea.validate(package.xml) == []
    assert texts(parse(package.xml), "//x:Akte/x:AllgemeineMetadaten/x:Betreff") == ["Gebühren"]


any_text = st.text(max_size=60)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=any_text, reference=any_text, document_title=any_text, note=any_text, reasons=any_text)
def test_random_texts_always_give_valid_xml_or_a_clear_error(
    xsds: None, title: str, reference: str, document_title: str, note: str, reasons: str
) -> None:
    base = realistic_case_file()
    case_file = replace(
        base,
        title=title,
        reference=reference,
        documents=(replace(base.documents[0], title=document_title), *base.documents[1:]),
        history=(HistoryEntry(base.opened_at, "Notiz", "Sachbearbeitung", note),),
        decision=replace(base.decision, reasons=reasons) if base.decision else None,
    )
    try:
        package = build(case_file)
    except ExportError as error:
        # only blank required texts may stop the export
        assert error.problems
        assert all(problem.endswith("is empty") for problem in error.problems)
        assert (
            not xdomea.clean_text(title).strip()
            or not xdomea.clean_text(reference).strip()
            or not (xdomea.clean_text(document_title).strip())
        )
        return
    assert xdomea.validate(package.xml) == []
    root = parse(package.xml)
    assert texts(root, "//x:Akte/x:AllgemeineMetadaten/x:Betreff") == [xdomea.clean_text(title)]
    assert texts(root, "//x:Akte/x:AllgemeineMetadaten/x:Kennzeichen") == [xdomea.clean_text(reference)]
