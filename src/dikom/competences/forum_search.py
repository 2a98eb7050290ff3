"""The clusters' document library in the Transfer Forum's search (``dikom.forum.service``'s source registry).

The forum searches questions, answers and, through this source, the Virtual Competence Center's
documents: title, description, the cluster and every version's note and file name (not the files'
contents). Only the cooperation's staff may search it, as only they may open the documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dikom.competences.models import ClusterDocument

SOURCE = "documents"


def _document(document: ClusterDocument) -> Any:
    from dikom.forum import service as forum

    notes = [f"{note} {name}" for note, name in document.versions.values_list("note", "file_name")]
    return forum.Document(
        source=SOURCE,
        key=str(document.uuid),
        title=document.title,
        text=" ".join([document.description, document.cluster.name, *notes]),
        url=reverse("competences:document", args=[document.cluster.key, document.uuid]),
        tags=[f"cluster-{document.cluster.key}"],
        changed_at=document.updated_at,
    )


def _all() -> Iterator[Any]:
    for document in ClusterDocument.objects.select_related("cluster").iterator(chunk_size=500):
        yield _document(document)


def _may_search(user: Any) -> bool:
    from dikom.competences import access

    return bool(access.is_staff(user))


def register() -> None:
    from dikom.forum import service as forum

    forum.register(forum.Source(SOURCE, _("Document"), _may_search, _all))


def sync(document: ClusterDocument) -> None:
    """Add or refresh one document in the forum's index (called after every change)."""
    from dikom.forum import service as forum

    forum.index(_document(document))
