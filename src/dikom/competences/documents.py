"""The document library of each cluster of the Virtual Competence Center: state changes and search.

- Every staff member of the cooperation reads, downloads and adds documents and versions; nobody
  else (citizens, the public) ever sees them (``access.is_staff``, checked by the views).
- A new version never replaces an old one: every version stays downloadable, with who uploaded
  it from which city, when, and the note on what changed. The document row is locked while a
  version number is given, so two uploads at once get consecutive numbers.
- Uploads go through the project's upload checks: size limit
  (``DIKOM_COMPETENCES_MAX_DOCUMENT_BYTES``), real type from the first bytes (PDF, office
  formats, images, plain text), the virus scanner (``dikom.scanning``), and PDFs with active
  content are refused.
- Search (``search_documents``): German folded and stemmed prefix matching as in the open data
  portal (``dikom.opendata.search``) over title, description, cluster, notes and file names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Max
from django.urls import reverse
from django.utils.translation import gettext as _

from dikom.accounts.access import staff_municipalities
from dikom.audit import actions as audit
from dikom.competences import access
from dikom.competences.actions import CompetenceError
from dikom.competences.models import Cluster, ClusterDocument, DocumentVersion
from dikom.opendata import search as german
from dikom.portal import sniffing
from dikom.scanning import service as scanning

ACCEPTED_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        sniffing.DOCX,
        sniffing.XLSX,
        sniffing.PPTX,
        sniffing.ODT,
        sniffing.ODS,
        "text/plain",
    }
)
MAX_RESULTS = 50


@dataclass
class Upload:
    name: str
    size: int
    stream: IO[bytes]


def max_bytes() -> int:
    return int(settings.DIKOM_COMPETENCES_MAX_DOCUMENT_BYTES)


def _checked(upload: Upload) -> tuple[bytes, str, str, str]:
    """(content, content type, safe file name, scan status) of an acceptable upload, else CompetenceError."""
    limit = max_bytes()
    if upload.size > limit:
        raise CompetenceError(_("The file is too large (at most %(mb)d MB).") % {"mb": max(limit // (1024 * 1024), 1)})
    if upload.size == 0:
        raise CompetenceError(_("The file is empty."))
    detected = sniffing.detect(upload.stream)
    if detected is None or detected not in ACCEPTED_TYPES:
        raise CompetenceError(
            _("Please upload PDF, Word, Excel, PowerPoint, OpenDocument, PNG, JPEG or plain text files.")
        )
    result = scanning.scan(upload.stream)
    refused = scanning.refusal_message(result)
    if refused:
        raise CompetenceError(refused)
    upload.stream.seek(0)
    if scanning.pdf_active_content(upload.stream, detected):
        raise CompetenceError(_("The PDF contains active content (e.g. JavaScript). Please upload a plain PDF."))
    upload.stream.seek(0)
    content = upload.stream.read(limit + 1)
    if len(content) > limit:
        raise CompetenceError(_("The file is too large (at most %(mb)d MB).") % {"mb": max(limit // (1024 * 1024), 1)})
    name = sniffing.safe_name(upload.name)
    if not sniffing.extension_matches(name, detected):
        suffix = sorted(sniffing.EXTENSIONS.get(detected, {""}))[0]
        name = f"{name}{suffix}"
    return content, detected, name[:200], result.status


def _reindex(document: ClusterDocument) -> None:
    notes = list(document.versions.values_list("note", "file_name"))
    document.search_text = german.index_text(
        document.title,
        document.description,
        document.cluster.name,
        *[note for note, _name in notes],
        *[name.rsplit(".", 1)[0] for _note, name in notes],
    )
    document.save(update_fields=["search_text", "updated_at"])
    from dikom.competences import forum_search

    forum_search.sync(document)  # found by the Transfer Forum's search too


def _add_version(document: ClusterDocument, upload: Upload, note: str, actor: Any) -> DocumentVersion:
    content, content_type, name, scan_status = _checked(upload)
    number = (document.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    home = staff_municipalities(actor).order_by("name").first() if actor is not None else None
    version = DocumentVersion(
        document=document,
        number=number,
        file_name=name,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        scan_status=scan_status,
        note=note.strip()[:500],
        uploaded_by=actor,
        uploaded_by_name=(actor.get_full_name() or actor.get_username())[:200] if actor is not None else "",
        municipality=home,
    )
    version.file.save(f"{version.uuid}-{name}", ContentFile(content), save=False)
    version.save()
    _reindex(document)
    audit.record(
        "competences.document.version",
        actor=actor,
        municipality=home,
        obj=document,
        changes={"version": number, "file": name, "size": len(content)},
    )
    return version


@transaction.atomic
def create_document(
    cluster: Cluster, *, title: str, upload: Upload, actor: Any, description: str = "", note: str = ""
) -> ClusterDocument:
    """A new document in the cluster's library, with its first version."""
    if not access.is_staff(actor):
        raise CompetenceError(_("Only staff of the cooperation may add documents."))
    title = title.strip()[:200]
    if not title:
        raise CompetenceError(_("Please give the document a title."))
    document = ClusterDocument.objects.create(
        cluster=cluster, title=title, description=description.strip()[:2000], created_by=actor
    )
    _add_version(document, upload, note or _("First version"), actor)
    return document


@transaction.atomic
def add_version(document: ClusterDocument, *, upload: Upload, note: str, actor: Any) -> DocumentVersion:
    """Upload a new version; the older ones stay available."""
    if not access.is_staff(actor):
        raise CompetenceError(_("Only staff of the cooperation may add documents."))
    if not note.strip():
        raise CompetenceError(_("Please say briefly what changed in this version."))
    locked = ClusterDocument.objects.select_for_update().select_related("cluster").get(pk=document.pk)
    return _add_version(locked, upload, note, actor)


# --- search ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentHit:
    uuid: str
    title: str
    cluster: str
    url: str
    updated_at: Any
    versions: int


def search_documents(query: str, user: Any, *, limit: int = MAX_RESULTS) -> list[DocumentHit]:
    """Documents of all clusters whose words start with every stem of ``query`` (German folding).

    Empty for anyone who is not staff of the cooperation and for a query without words.
    """
    if not access.is_staff(user):
        return []
    stems = german.query_stems(query[:500])
    if not stems:
        return []
    found = ClusterDocument.objects.all()
    for stem in stems:
        found = found.filter(search_text__contains=f" {stem}")
    return [
        DocumentHit(
            uuid=str(d.uuid),
            title=d.title,
            cluster=d.cluster.name,
            url=reverse("competences:document", args=[d.cluster.key, d.uuid]),
            updated_at=d.updated_at,
            versions=getattr(d, "n_versions", 0),
        )
        for d in found.select_related("cluster")
        .annotate(n_versions=Count("versions"))
        .order_by("-updated_at", "id")[: max(1, min(limit, MAX_RESULTS))]
    ]
