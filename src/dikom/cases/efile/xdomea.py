"""xdomea 3.0.0 messages for a closed case file, and their validation.

The message is ``FVDaten.SGOAblegen.0605`` ("Übergabe von neuen
Schriftgutobjekten an das DMS zur Ablage"): a specialised procedure
(Fachverfahren, here dikom) hands a finished Akte with its Vorgang and
Dokumente to the DMS / e-file system for filing. See docs/efile-xdomea.md for
why this message and how each field maps.

Transport container (xdomea 3.0.0 specification, naming rules for messages):
a ZIP named ``<ProzessID>_<Nachrichtenname>.zip`` holding the message
``<ProzessID>_<Nachrichtenname>.xml`` and the primary documents, each named
``<Dokument-UUID>_<Name>.<Endung>`` exactly as in
``Primaerdokument/Dateiname``. The namespace prefix must be ``xdomea``.
"""

from __future__ import annotations

import enum
import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from dikom.cases.efile.model import CaseFile, Confidentiality, Document, DocumentKind, Party
from dikom.cases.efile.xdomea_schema import (  # noqa: F401 - re-exported: callers use xdomea.validate etc.
    OUTCOME_NAMES,
    XsdUnavailable,
    check,
    clean_text,
    is_aware,
    is_blank,
    validate,
    xsd_dir,
)

NS = "urn:xoev-de:xdomea:schema:3.0.0"
XOEV_CODE_NS = "http://xoev.de/schemata/code/1_0"
NSMAP = {"xdomea": NS}
#: Dates (ZdA-Datum, Laufzeit) are calendar days in the authority's time zone.
LOCAL_TZ = ZoneInfo("Europe/Berlin")
#: Stable namespace for the UUIDs derived from a case (Vorgang, ProzessID).
DIKOM_NAMESPACE = uuid.UUID("6f1c2b0e-0a39-5d7e-9a43-6b1f6c1d2e01")
PRODUCT_NAME = "dikom"
APP_EXTENSION_ID = "urn:dikom:efile:fall:1"

# Code lists and their versions as xdomea 3.0.0 binds them (xdomea-Datentypen.xsd).
LIST_NACHRICHTENTYP = ("urn:xoev-de:xdomea:codeliste:nachrichtentyp", "2.0")
LIST_VERTRAULICHKEIT = ("urn:xoev-de:xdomea:codeliste:vertraulichkeitsstufe", "1.0")
LIST_MEDIUM = ("urn:xoev-de:xdomea:codeliste:medium", "1.0")
LIST_AUSSONDERUNGSART = ("urn:xoev-de:xdomea:codeliste:aussonderungsart", "1.0")
LIST_DATENTYP = ("urn:xoev-de:xdomea:codeliste:datentyp", "1.1")
# Code-Typ 3: the schema fixes the list, the message names its version. Version
# 2.0 (valid from 2021-10-01) is the one published with xdomea 3.0.0.
LIST_DATEIFORMAT = ("urn:xoev-de:xdomea:codeliste:dateiformat", "2.0")
MEDIUM_ELECTRONIC = "001"
DVDV_PREFIX_AGS = "ags"

DATENTYP_STRING = "038"
DATENTYP_DATETIME = "006"
DATENTYP_BOOLEAN = "003"


class MessageType(enum.StrEnum):
    """The Fachverfahren → DMS messages this builder can write (code → message name below)."""

    SGO_ABLEGEN = "0605"
    SGO_ERSTELLEN = "0604"

    @property
    def message_name(self) -> str:
        return {"0605": "FVDaten.SGOAblegen", "0604": "FVDaten.SGOErstellen"}[self.value]

    @property
    def root_element(self) -> str:
        return f"{self.message_name}.{self.value}"

    @property
    def item_element(self) -> str:
        return {"0605": "SchriftgutobjektZumAblegen", "0604": "SchriftgutobjektZumErstellen"}[self.value]


VERTRAULICHKEIT_NAMES = {Confidentiality.OPEN: "Offen", Confidentiality.RESTRICTED: "NfD"}
DOCUMENT_TYPES = {
    DocumentKind.APPLICATION: "Antrag",
    DocumentKind.ATTACHMENT: "Anlage",
    DocumentKind.DECISION_LETTER: "Bescheid",
    DocumentKind.NOTE: "Vermerk",
}

# media type → (Dateiformat code, file extension); codes from the Dateiformat list 2.0.
FORMATS: dict[str, tuple[str, str]] = {
    "application/pdf": ("018", "pdf"),
    "image/png": ("019", "png"),
    "image/jpeg": ("011", "jpg"),
    "image/tiff": ("024", "tiff"),
    "image/bmp": ("001", "bmp"),
    "text/plain": ("045", "txt"),
    "text/csv": ("002", "csv"),
    "text/html": ("008", "html"),
    "application/xml": ("030", "xml"),
    "text/xml": ("030", "xml"),
    "application/rtf": ("022", "rtf"),
    "application/msword": ("003", "doc"),
    "application/vnd.ms-excel": ("028", "xls"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("035", "docx"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("036", "xlsx"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("037", "pptx"),
    "application/vnd.oasis.opendocument.text": ("015", "odt"),
    "application/vnd.oasis.opendocument.spreadsheet": ("014", "ods"),
    "application/vnd.oasis.opendocument.presentation": ("013", "odp"),
    "message/rfc822": ("006", "eml"),
    "application/vnd.ms-outlook": ("012", "msg"),
}
FORMAT_PDF_ARCHIVAL = "044"
FORMAT_OTHER = "100"


class ExportError(ValueError):
    """The case file lacks data the message needs; ``problems`` says what, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("The case file cannot be exported to xdomea: " + "; ".join(problems))


@dataclass(frozen=True)
class PackageFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class ExportPackage:
    """One xdomea transfer: the ZIP container and what it is made of."""

    process_id: uuid.UUID
    message_type: MessageType
    case_uuid: uuid.UUID
    created_at: datetime
    xml: bytes
    files: tuple[PackageFile, ...]
    content: bytes  # the ZIP

    @property
    def base_name(self) -> str:
        return f"{self.process_id}_{self.message_type.message_name}.{self.message_type.value}"

    @property
    def file_name(self) -> str:
        return f"{self.base_name}.zip"

    @property
    def xml_name(self) -> str:
        return f"{self.base_name}.xml"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


# --- building -----------------------------------------------------------------------------


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, _q(name))
    if text is not None:
        element.text = clean_text(text)
    return element


def _code(
    parent: etree._Element, name: str, code: str, code_list: tuple[str, str] | None, label: str | None = None
) -> etree._Element:
    element = _sub(parent, name)
    if code_list is not None:
        element.set("listURI", code_list[0])
        element.set("listVersionID", code_list[1])
    # code and name are unqualified elements of the XÖV code type
    etree.SubElement(element, "code").text = code
    if label:
        etree.SubElement(element, "name").text = label
    return element


def _datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _date(value: datetime) -> str:
    return value.astimezone(LOCAL_TZ).date().isoformat()


def _bool(value: bool) -> str:
    return "1" if value else "0"


def _ascii_slug(value: str, limit: int = 80) -> str:
    replaced = (
        value.replace("ä", "ae")
        .replace("ö", "oe")
        .replace("ü", "ue")
        .replace("Ä", "Ae")
        .replace("Ö", "Oe")
        .replace("Ü", "Ue")
        .replace("ß", "ss")
    )
    ascii_only = unicodedata.normalize("NFKD", replaced).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", ascii_only).strip("._-")
    return slug[:limit].rstrip("._-")


def document_format(document: Document) -> tuple[str, str, str]:
    """(Dateiformat code, file extension, name of an unlisted format) for a document."""
    media_type = document.media_type.split(";")[0].strip().lower()
    code, extension = FORMATS.get(media_type, (FORMAT_OTHER, ""))
    if not extension:
        extension = _ascii_slug(Path(document.file_name).suffix.lstrip("."), 10).lower() or "bin"
    if code == "018" and document.archival:
        code = FORMAT_PDF_ARCHIVAL
    return code, extension, (media_type if code == FORMAT_OTHER else "")


def primary_file_name(document: Document) -> str:
    """``<uuid>_<name>.<ext>``: ASCII only, so that every DMS and file share accepts it."""
    _, extension, _ = document_format(document)
    stem = _ascii_slug(Path(document.file_name).stem) or _ascii_slug(document.title)
    return f"{document.uuid}_{stem}.{extension}" if stem else f"{document.uuid}.{extension}"


def _party(parent: etree._Element, name: str, party: Party) -> None:
    contact = _sub(parent, name)
    if party.ags:
        identification = _sub(contact, "Behoerdenkennung")
        _code(identification, "Behoerdenschluessel", party.ags, None)
        _code(identification, "Praefix", DVDV_PREFIX_AGS, None)
    institution = _sub(contact, "Institution")
    _sub(institution, "Name", party.name)
    if not is_blank(party.org_unit):
        unit = _sub(contact, "Organisationseinheit")
        _sub(unit, "Name", party.org_unit)


def _history(parent: etree._Element, timestamp: datetime, action: str, actor: str, note: str = "") -> None:
    entry = _sub(parent, "HistorienProtokollInformation")
    _sub(entry, "Akteur", actor)
    _sub(entry, "DatumUhrzeit", _datetime(timestamp))
    if not is_blank(note):
        _sub(entry, "Bemerkung", note)
    _sub(entry, "Aktion", action)


def _general_metadata(
    parent: etree._Element,
    case_file: CaseFile,
    subject: str,
    reference: str | None,
    *,
    lead: bool = False,
    file_plan: bool = False,
) -> None:
    metadata = _sub(parent, "AllgemeineMetadaten")
    _sub(metadata, "Betreff", subject)
    if reference:
        _sub(metadata, "Kennzeichen", reference)
    if lead:
        _sub(metadata, "Federfuehrung", case_file.org_unit)
    confidentiality = Confidentiality(case_file.confidentiality)
    _code(
        metadata,
        "Vertraulichkeitsstufe",
        confidentiality.value,
        LIST_VERTRAULICHKEIT,
        VERTRAULICHKEIT_NAMES[confidentiality],
    )
    _code(metadata, "Medium", MEDIUM_ELECTRONIC, LIST_MEDIUM, "Elektronisch")
    retention = case_file.retention
    if file_plan and (retention.file_plan_key or retention.file_plan_title):
        unit = _sub(metadata, "Aktenplaneinheit")
        if retention.file_plan_key:
            _sub(unit, "Kennzeichen", retention.file_plan_key)
        if retention.file_plan_title:
            _sub(unit, "Inhaltsangabe", retention.file_plan_title)


def _archive_metadata(parent: etree._Element, case_file: CaseFile) -> None:
    retention = case_file.retention
    metadata = _sub(parent, "ArchivspezifischeMetadaten")
    duration = _sub(metadata, "Aufbewahrungsdauer")
    if retention.years is None:
        _sub(duration, "Unbefristet", "1")
    else:
        _sub(duration, "AnzahlJahre", str(retention.years))
    disposal = _sub(metadata, "Aussonderungsart")
    _code(disposal, "Aussonderungsart", retention.disposal.value, LIST_AUSSONDERUNGSART)
    if retention.years is not None:
        # Retention runs from the end of the year in which the file was closed (zdA).
        closed_year = case_file.closed_at.astimezone(LOCAL_TZ).year
        _sub(metadata, "Aufbewahrungsende", date(closed_year + retention.years, 12, 31).isoformat())


def _field(parent: etree._Element, name: str, value: str, datatype: str = DATENTYP_STRING) -> None:
    field_element = _sub(parent, "Feld")
    _sub(field_element, "Name", name)
    _code(field_element, "Datentyp", datatype, LIST_DATENTYP)
    _sub(field_element, "Wert", value)


def _case_extension(parent: etree._Element, case_file: CaseFile) -> None:
    """Fachspezifische Metadaten of dikom: service, result and decision, as named fields."""
    extension = _sub(parent, "AnwendungsspezifischeErweiterung")
    _sub(extension, "Kennung", APP_EXTENSION_ID)
    _sub(extension, "Name", "dikom Fallinformationen")
    _sub(extension, "Beschreibung", "Leistung, Ergebnis und Entscheidung des Verwaltungsverfahrens")
    _sub(extension, "Versionsnummer", "1")
    service = _sub(extension, "Feldgruppe")
    _sub(service, "Name", "Leistung")
    _sub(service, "Beschreibung", "Die Verwaltungsleistung, zu der der Antrag gestellt wurde")
    _field(service, "Leistungsbezeichnung", case_file.service_title)
    if case_file.leika_key:
        _field(service, "LeiKaSchluessel", case_file.leika_key)
    decision = case_file.decision
    if decision is not None:
        group = _sub(extension, "Feldgruppe")
        _sub(group, "Name", "Entscheidung")
        _sub(group, "Beschreibung", "Die Entscheidung über den Antrag")
        _field(group, "Ergebnis", OUTCOME_NAMES[decision.outcome])
        _field(group, "Begruendung", decision.reasons)
        _field(group, "Entscheidungszeitpunkt", _datetime(decision.decided_at), DATENTYP_DATETIME)
        _field(group, "EntschiedenVonRolle", decision.decided_by_role)
        _field(group, "AutomatisiertEntschieden", "true" if decision.automatic else "false", DATENTYP_BOOLEAN)
    _field(extension, "Gemeinde", case_file.municipality_name)
    _field(extension, "AmtlicherGemeindeschluessel", case_file.municipality_ags)
    _field(extension, "Status", case_file.status)
    _field(extension, "Ergebnis", case_file.result)


def _document(parent: etree._Element, case_file: CaseFile, document: Document, position: int) -> None:
    element = _sub(parent, "Dokument")
    identification = _sub(element, "Identifikation")
    _sub(identification, "ID", str(document.uuid))
    _sub(identification, "NummerImUebergeordnetenContainer", str(position))
    _general_metadata(element, case_file, document.title, None)
    if document.kind in (DocumentKind.APPLICATION, DocumentKind.ATTACHMENT):
        _sub(element, "Posteingangsdatum", _date(document.created_at))
    _sub(element, "DatumDesSchreibens", _date(document.created_at))
    _sub(element, "Typ", DOCUMENT_TYPES[DocumentKind(document.kind)])
    version = _sub(element, "Version")
    _sub(version, "Nummer", "1")
    file_format = _sub(version, "Format")
    code, _, other_name = document_format(document)
    _code(file_format, "Name", code, LIST_DATEIFORMAT)
    if other_name:
        _sub(file_format, "SonstigerName", other_name)
    _sub(file_format, "Version", "")
    primary = _sub(file_format, "Primaerdokument")
    _sub(primary, "Dateiname", primary_file_name(document))
    if not is_blank(document.file_name):
        _sub(primary, "DateinameOriginal", document.file_name)
    _sub(primary, "DatumUhrzeit", _datetime(document.created_at))


def vorgang_uuid(case_file: CaseFile) -> uuid.UUID:
    """The Vorgang's UUID, derived from the case so that every export names the same Vorgang."""
    return uuid.uuid5(DIKOM_NAMESPACE, f"vorgang:{case_file.uuid}")


def default_process_id(case_file: CaseFile, message_type: MessageType) -> uuid.UUID:
    """One ProzessID per closing of a case: exporting again yields the same ID (idempotent delivery)."""
    closed = _datetime(case_file.closed_at) if is_aware(case_file.closed_at) else ""
    return uuid.uuid5(DIKOM_NAMESPACE, f"process:{case_file.uuid}:{closed}:{message_type.value}")


def _product_version() -> str:
    try:
        from importlib.metadata import version

        return version("dikom")
    except Exception:
        return "dev"


def render_xml(
    case_file: CaseFile,
    *,
    sender: Party,
    receiver: Party,
    process_id: uuid.UUID,
    created_at: datetime,
    message_type: MessageType = MessageType.SGO_ABLEGEN,
    ablageort: str | None = None,
    container_id: str | None = None,
    creator_id: str = PRODUCT_NAME,
    creator_role: str = "Fachverfahren",
) -> bytes:
    """The message XML (UTF-8). Call ``check`` first; ``build_package`` does."""
    message_type = MessageType(message_type)
    root = etree.Element(_q(message_type.root_element), nsmap=NSMAP)

    head = _sub(root, "Kopf")
    _sub(head, "ProzessID", str(process_id))
    _code(head, "Nachrichtentyp", message_type.value, LIST_NACHRICHTENTYP, message_type.message_name)
    _sub(head, "Erstellungszeitpunkt", _datetime(created_at))
    _party(head, "Absender", sender)
    _party(head, "Empfaenger", receiver)
    system = _sub(head, "SendendesSystem")
    _sub(system, "Produktname", PRODUCT_NAME)
    _sub(system, "Version", _product_version())
    _sub(head, "Empfangsbestaetigung", _bool(False))
    _sub(head, "Importbestaetigung", _bool(True))
    _sub(head, "Erstellerkennung", creator_id)
    _sub(head, "ErstellerRolle", creator_role)
    _sub(head, "Stapel", _bool(False))

    item = _sub(root, message_type.item_element)
    _sub(item, "FachverfahrenObjektID", str(case_file.uuid))
    if container_id:
        _sub(item, "IDContainer", container_id)
    holder = _sub(item, "Schriftgutobjekt")

    akte = _sub(holder, "Akte")
    identification = _sub(akte, "Identifikation")
    _sub(identification, "ID", str(case_file.uuid))
    _general_metadata(akte, case_file, case_file.title, case_file.reference, lead=True, file_plan=True)
    _archive_metadata(akte, case_file)
    _sub(akte, "Typ", "Fallakte")
    period = _sub(akte, "Laufzeit")
    _sub(period, "Beginn", _date(case_file.opened_at))
    _sub(period, "Ende", _date(case_file.closed_at))
    content = _sub(akte, "Akteninhalt")

    vorgang = _sub(content, "Vorgang")
    identification = _sub(vorgang, "Identifikation")
    _sub(identification, "ID", str(vorgang_uuid(case_file)))
    _sub(identification, "NummerImUebergeordnetenContainer", "1")
    _general_metadata(vorgang, case_file, case_file.service_title, case_file.reference, lead=True)
    _sub(vorgang, "Aktenbetreff", case_file.title)
    _sub(vorgang, "Typ", "Antragsverfahren")
    _sub(vorgang, "ZdA", _bool(True))
    _sub(vorgang, "ZdADatum", _date(case_file.closed_at))
    period = _sub(vorgang, "Laufzeit")
    _sub(period, "Beginn", _date(case_file.opened_at))
    _sub(period, "Ende", _date(case_file.closed_at))
    for entry in sorted(case_file.history, key=lambda entry: entry.timestamp):
        _history(vorgang, entry.timestamp, entry.action, entry.actor_role, entry.note)
    for position, document in enumerate(case_file.documents, start=1):
        _document(vorgang, case_file, document, position)
    _case_extension(vorgang, case_file)

    _sub(akte, "ZdA", _bool(True))
    _sub(akte, "ZdADatum", _date(case_file.closed_at))

    if message_type is MessageType.SGO_ABLEGEN and ablageort:
        _sub(item, "Ablageort", ablageort)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _zip(entries: list[PackageFile], created_at: datetime) -> bytes:
    # Fixed entry timestamps: the same input gives the same bytes (safe retries, comparable hashes).
    stamp = created_at.astimezone(UTC)
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entry.content)
    return buffer.getvalue()


def build_package(
    case_file: CaseFile,
    *,
    sender: Party,
    receiver: Party,
    message_type: MessageType = MessageType.SGO_ABLEGEN,
    process_id: uuid.UUID | None = None,
    created_at: datetime | None = None,
    ablageort: str | None = None,
    container_id: str | None = None,
) -> ExportPackage:
    """Check the case file and build the message and its ZIP container.

    Raises ExportError listing every missing or wrong piece of data.
    """
    message_type = MessageType(message_type)
    problems = check(case_file, sender=sender, receiver=receiver)
    if created_at is not None and not is_aware(created_at):
        problems.append("created_at must be a timezone-aware datetime")
    if problems:
        raise ExportError(problems)
    created = created_at or datetime.now(UTC)
    process = process_id or default_process_id(case_file, message_type)
    files = tuple(PackageFile(primary_file_name(document), document.read()) for document in case_file.documents)
    xml = render_xml(
        case_file,
        sender=sender,
        receiver=receiver,
        process_id=process,
        created_at=created,
        message_type=message_type,
        ablageort=ablageort,
        container_id=container_id,
    )
    shell = ExportPackage(process, message_type, case_file.uuid, created, xml, files, b"")
    content = _zip([PackageFile(shell.xml_name, xml), *files], created)
    return ExportPackage(process, message_type, case_file.uuid, created, xml, files, content)


def build_message(
    case_file: CaseFile,
    *,
    sender: Party,
    receiver: Party,
    message_type: MessageType = MessageType.SGO_ABLEGEN,
    process_id: uuid.UUID | None = None,
    created_at: datetime | None = None,
    ablageort: str | None = None,
) -> bytes:
    """The ZIP container (``<ProzessID>_FVDaten.SGOAblegen.0605.zip``) as bytes."""
    return build_package(
        case_file,
        sender=sender,
        receiver=receiver,
        message_type=message_type,
        process_id=process_id,
        created_at=created_at,
        ablageort=ablageort,
    ).content


def read_package(content: bytes) -> dict[str, bytes]:
    """The entries of a ZIP container by name (for receivers and tests)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
