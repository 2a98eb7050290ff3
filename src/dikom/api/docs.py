"""The browsable API documentation (Swagger UI from the vendored sidecar assets).

Our Content-Security-Policy allows scripts from 'self' only, so the page must
not carry an inline script: drf-spectacular's split view serves the init script
from this same URL (``?script``), and our template moves the page's inline
style block into a static file.
"""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
    title = "dikom API"
