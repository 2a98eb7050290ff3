"""The xdomea 3.0.0 schema (where its XSDs are, validation of a message against them) and the
input checks of a case file before a message is built (``xdomea`` re-exports both)."""

from __future__ import annotations

import functools
import io
import os
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from dikom.cases.efile.model import CaseFile, Document, Party

AGS_RE = re.compile(r"^\d{8}$")
LEIKA_RE = re.compile(r"^99\d{12}$")
# Characters XML 1.0 cannot carry at all (controls other than tab/newline/CR, surrogates, U+FFFE/F).
XML_INVALID_RE = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
UNSIGNED_SHORT_MAX = 65535
OUTCOME_NAMES = {"approve": "stattgegeben", "partly": "teilweise stattgegeben", "reject": "abgelehnt"}


class XsdUnavailable(RuntimeError):
    """The xdomea 3.0.0 schema files are not where the settings say."""


# --- schema ---------------------------------------------------------------------------


def default_xsd_dir() -> Path:
    """``<repository>/../shared/standards/xdomea/3.0.0`` — where CI links the shared standards."""
    repository = Path(__file__).resolve().parents[4]
    return repository.parent / "shared" / "standards" / "xdomea" / "3.0.0"


def xsd_dir() -> Path:
    """The configured XSD folder (``DIKOM_XDOMEA_XSD_DIR``), else the default next to the repository."""
    configured: str | None = None
    try:
        from django.conf import settings

        configured = getattr(settings, "DIKOM_XDOMEA_XSD_DIR", None)
    except Exception:  # noqa: S110 - settings not configured: fall back to the environment
        pass
    configured = configured or os.environ.get("DIKOM_XDOMEA_XSD_DIR")
    return Path(configured) if configured else default_xsd_dir()


# The XSDs import the XÖV code type from ../xoev/code/1_0/xoev-code.xsd, which the
# shared folder does not carry; a copy of that small type lives next to this module.
BUNDLED_XOEV_CODE = Path(__file__).with_name("data") / "xoev-code.xsd"


@functools.lru_cache(maxsize=4)
def _compiled_schema(directory: str) -> Any:
    import xmlschema

    main = Path(directory) / "xdomea.xsd"
    if not main.is_file():
        raise XsdUnavailable(f"xdomea 3.0.0 schemas not found: {main} does not exist (set DIKOM_XDOMEA_XSD_DIR)")
    shipped_code = Path(directory).parent / "xoev" / "code" / "1_0" / "xoev-code.xsd"
    code_xsd = shipped_code if shipped_code.is_file() else BUNDLED_XOEV_CODE

    def uri_mapper(uri: str) -> str:
        return code_xsd.as_uri() if uri.endswith("xoev/code/1_0/xoev-code.xsd") else uri

    return xmlschema.XMLSchema10(str(main), uri_mapper=uri_mapper)


def schema() -> Any:
    """The compiled xdomea 3.0.0 schema (built once per folder; building takes about a second)."""
    return _compiled_schema(str(xsd_dir()))


def validate(xml_bytes: bytes) -> list[str]:
    """Validate a message against the xdomea 3.0.0 XSDs; an empty list means valid.

    Raises XsdUnavailable when the schema files are missing (callers decide
    whether that blocks the export).
    """
    compiled = schema()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        tree = etree.parse(io.BytesIO(xml_bytes), parser)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    errors = []
    for error in compiled.iter_errors(tree):
        where = error.path or "/"
        line = f"{where}: {error.reason or error.message}"
        if isinstance(error.obj, str | int | float):
            line += f" (got {str(error.obj)[:200]!r})"
        errors.append(line)
    return errors


# --- input checks -----------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Text as XML 1.0 can carry it: characters XML forbids are dropped."""
    return XML_INVALID_RE.sub("", value)


def is_blank(value: str) -> bool:
    return not clean_text(value or "").strip()


def is_aware(value: datetime | None) -> bool:
    return isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() is not None


def check(case_file: CaseFile, *, sender: Party | None = None, receiver: Party | None = None) -> list[str]:
    """Everything missing or wrong for an export, as readable lines (empty: exportable)."""
    problems: list[str] = []
    for label, value in (
        ("reference (Aktenzeichen)", case_file.reference),
        ("title", case_file.title),
        ("municipality name", case_file.municipality_name),
        ("organisational unit", case_file.org_unit),
        ("service title", case_file.service_title),
    ):
        if is_blank(value):
            problems.append(f"{label} is empty")
    if not AGS_RE.match(case_file.municipality_ags or ""):
        problems.append(f"municipality AGS must be 8 digits, got {case_file.municipality_ags!r}")
    if case_file.leika_key and not LEIKA_RE.match(case_file.leika_key):
        problems.append(f"LeiKa key must be 14 digits starting with 99, got {case_file.leika_key!r}")
    if not is_aware(case_file.opened_at):
        problems.append("opened_at must be a timezone-aware datetime")
    if not is_aware(case_file.closed_at):
        problems.append("closed_at must be a timezone-aware datetime (is the case closed?)")
    elif is_aware(case_file.opened_at) and case_file.closed_at < case_file.opened_at:
        problems.append("closed_at lies before opened_at")
    years = case_file.retention.years
    if years is not None and not 0 <= years <= UNSIGNED_SHORT_MAX:
        problems.append(f"retention years must be between 0 and {UNSIGNED_SHORT_MAX}, got {years}")

    if not case_file.documents:
        problems.append("the case file has no documents")
    seen: set[uuid.UUID] = set()
    for position, document in enumerate(case_file.documents, start=1):
        problems.extend(f"document {position}: {problem}" for problem in _check_document(document))
        if document.uuid in seen or document.uuid == case_file.uuid:
            problems.append(f"document {position}: uuid {document.uuid} is used twice")
        seen.add(document.uuid)

    decision = case_file.decision
    if decision is not None:
        if not is_aware(decision.decided_at):
            problems.append("decision: decided_at must be a timezone-aware datetime")
        if is_blank(decision.decided_by_role):
            problems.append("decision: decided_by_role is empty")
        if decision.outcome not in OUTCOME_NAMES:
            problems.append(f"decision: unknown outcome {decision.outcome!r}")
    for position, entry in enumerate(case_file.history, start=1):
        if not is_aware(entry.timestamp):
            problems.append(f"history entry {position}: timestamp must be a timezone-aware datetime")
        if is_blank(entry.action):
            problems.append(f"history entry {position}: action is empty")
        if is_blank(entry.actor_role):
            problems.append(f"history entry {position}: actor role is empty")
    for label, party in (("sender", sender), ("receiver", receiver)):
        if party is None:
            continue
        if is_blank(party.name):
            problems.append(f"{label}: name is empty")
        if party.ags and not AGS_RE.match(party.ags):
            problems.append(f"{label}: AGS must be 8 digits, got {party.ags!r}")
    return problems


def _check_document(document: Document) -> Iterable[str]:
    if is_blank(document.title):
        yield "title is empty"
    if is_blank(document.file_name):
        yield "file name is empty"
    if is_blank(document.media_type):
        yield "media type is empty"
    if not is_aware(document.created_at):
        yield "created_at must be a timezone-aware datetime"
    if (document.content is None) == (document.path is None):
        yield "give exactly one of content and path"
    elif document.path is not None and not Path(document.path).is_file():
        yield f"file {document.path} does not exist"
