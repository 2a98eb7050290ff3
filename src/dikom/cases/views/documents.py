"""A case's documents, shown inline only for safe types (never SVG or HTML), else downloaded."""

from __future__ import annotations

from typing import Any

from csp.constants import NONE, SELF
from csp.decorators import csp_replace
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase

from dikom.cases.models import CaseDocument
from dikom.cases.views.case_page import (
    _case_for,
)
from dikom.cases.views.common import (
    INLINE_TYPES,
    logger,
)

# --- Documents ----------------------------------------------------------------------


# The file is shown on its own (no page around it): nothing may load or run. Chrome's PDF
# viewer is an embedded object of the document, so object-src must allow the same origin.
@csp_replace({"default-src": [NONE], "img-src": [SELF], "object-src": [SELF], "style-src": [NONE]})  # type: ignore[arg-type]
@login_required
def document(request: HttpRequest, slug: str, case_uuid: Any, document_uuid: Any) -> HttpResponseBase:
    """A case document for staff who may see the case: PDFs and images inline, everything else as download."""
    _municipality, case = _case_for(request, slug, case_uuid)
    found: CaseDocument | None = case.documents.filter(uuid=document_uuid).first()
    if found is None or not found.file:
        raise Http404
    try:
        handle = found.file.open("rb")
    except OSError as exc:
        logger.error("cases: document %s of %s is missing in storage", found.uuid, case.reference)
        raise Http404 from exc
    inline = found.content_type in INLINE_TYPES and request.GET.get("download") != "1" and not found.active_content
    response = FileResponse(
        handle,
        content_type=found.content_type or "application/octet-stream",
        as_attachment=not inline,
        filename=found.file_name or "dokument",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
