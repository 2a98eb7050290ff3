"""PDF reports rendered with WeasyPrint from an HTML template (A4, page numbers in the footer)."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from dikom.lib.pdf import PdfError, PdfUnavailable, render_pdf

logger = logging.getLogger(__name__)


def pdf_response(request: HttpRequest, context: dict[str, Any], name: str) -> HttpResponse:
    """The report as a PDF download, or a page explaining that PDFs cannot be made here (503)."""
    html = render_to_string(
        "analytics_dashboards/pdf/report.html", {**context, "generated_at": timezone.localtime()}, request=request
    )
    try:
        document = render_pdf(html)  # fetches only the platform's static files (dikom.lib.pdf)
    except PdfError as error:
        logger.exception("analytics: the PDF report could not be made")
        failed = not isinstance(error, PdfUnavailable)
        return render(
            request, "analytics_dashboards/pdf_unavailable.html", {**context, "pdf_failed": failed}, status=503
        )
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response
