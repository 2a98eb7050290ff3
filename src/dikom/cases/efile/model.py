"""What a closed case hands to the e-file system: plain, frozen data.

The case app fills these from its models when a case is closed; the xdomea
builder (``xdomea.py``) only reads them. Nothing here touches the database, so
the export can be built and tested without Django models.

Privacy: the e-file receives roles ("caseworker", "automation"), never the
names of staff, and no applicant data beyond what the documents themselves
contain.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from uuid import UUID


class DocumentKind(enum.StrEnum):
    APPLICATION = "application"
    ATTACHMENT = "attachment"
    DECISION_LETTER = "decision_letter"
    NOTE = "note"


class Outcome(enum.StrEnum):
    APPROVE = "approve"
    PARTLY = "partly"
    REJECT = "reject"


class Confidentiality(enum.StrEnum):
    """Classification of the file (xdomea code list Vertraulichkeitsstufe 1.0).

    Personal data does not make a file a classified document (VS); ordinary
    case files are "open" and protected by access rights in the DMS.
    """

    OPEN = "003"
    RESTRICTED = "002"  # VS – nur für den Dienstgebrauch


class Disposal(enum.StrEnum):
    """What happens when the retention period ends (xdomea code list Aussonderungsart 1.0)."""

    ARCHIVE = "A"  # archivwürdig
    REVIEW = "B"  # zu bewerten
    DESTROY = "V"  # zu vernichten


@dataclass(frozen=True)
class Retention:
    """Retention hints for the e-file.

    ``years`` None means "keep indefinitely". ``file_plan_key`` is the
    Aktenplankennzeichen of the city's file plan, when the service has one.
    """

    years: int | None = 10
    disposal: Disposal = Disposal.REVIEW
    file_plan_key: str = ""
    file_plan_title: str = ""


@dataclass(frozen=True)
class Document:
    """One document of the case file, with its content given as bytes or as a path."""

    uuid: UUID
    title: str
    file_name: str
    media_type: str
    created_at: datetime
    kind: DocumentKind
    content: bytes | None = None
    path: Path | None = None
    #: True when the file is a PDF/A (the decision letters WeasyPrint renders are).
    archival: bool = False

    def read(self) -> bytes:
        if self.content is not None:
            return self.content
        if self.path is None:
            raise ValueError(f"document {self.uuid} has neither content nor a path")
        return Path(self.path).read_bytes()


@dataclass(frozen=True)
class Decision:
    """The decision on the application. ``decided_by_role`` is a role, not a person."""

    outcome: Outcome
    reasons: str
    decided_at: datetime
    decided_by_role: str
    automatic: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    timestamp: datetime
    action: str
    actor_role: str
    note: str = ""


@dataclass(frozen=True)
class Party:
    """Sender or receiver of a message: an authority, identified by its AGS where it has one."""

    name: str
    ags: str = ""
    org_unit: str = ""


@dataclass(frozen=True)
class CaseFile:
    """A closed case as the e-file sees it (one Akte with one Vorgang)."""

    uuid: UUID
    reference: str  # Aktenzeichen
    title: str
    municipality_name: str
    municipality_ags: str
    org_unit: str
    service_title: str
    opened_at: datetime
    closed_at: datetime
    status: str
    result: str
    leika_key: str = ""
    documents: tuple[Document, ...] = ()
    decision: Decision | None = None
    history: tuple[HistoryEntry, ...] = ()
    retention: Retention = field(default_factory=Retention)
    confidentiality: Confidentiality = Confidentiality.OPEN
