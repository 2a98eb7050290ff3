"""The CSP header of the per-process policy (dikom.web.csp) equals django-csp's, response by response."""

from __future__ import annotations

import re

import pytest
from csp.constants import NONCE, SELF
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from dikom.web.csp import CachedPolicyCSPMiddleware

HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")


def _both(path: str, view, *, use_nonce: bool) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The CSP headers django-csp and the cached middleware give the same request and response."""
    results = []
    for middleware_class in (CSPMiddleware, CachedPolicyCSPMiddleware):
        request = RequestFactory().get(path)

        def get_response(request: HttpRequest) -> HttpResponse:
            if use_nonce:
                str(request.csp_nonce)  # type: ignore[attr-defined]  # a template used the nonce
            return view(request)

        request._csp_nonce = "fixedNonceForTheComparison=="  # type: ignore[attr-defined]  # the same in both
        if not use_nonce:
            del request._csp_nonce  # type: ignore[attr-defined]
        response = middleware_class(get_response)(request)
        results.append({name: response.get(name) for name in HEADERS})
    return results[0], results[1]


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csp_replace({"default-src": ["'none'"], "img-src": [SELF]})
def replaced(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csp_update({"img-src": ["https://tiles.example.org"]})
def updated(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@csp_exempt()
def exempt(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@pytest.mark.parametrize("use_nonce", [True, False])
@pytest.mark.parametrize("view", [plain, replaced, updated, exempt])
def test_same_headers_as_django_csp(view, use_nonce: bool) -> None:
    expected, got = _both("/portal/", view, use_nonce=use_nonce)
    assert got == expected
    if view is plain:
        assert got["Content-Security-Policy"]
        assert ("'nonce-fixedNonceForTheComparison=='" in got["Content-Security-Policy"]) is use_nonce
    if view is exempt:
        assert got["Content-Security-Policy"] is None


def test_report_only_policy_and_excluded_prefixes_as_django_csp() -> None:
    report_only = {
        "EXCLUDE_URL_PREFIXES": ["/excluded/"],
        "DIRECTIVES": {"default-src": [SELF], "style-src": [SELF, NONCE], "report-uri": "/csp-report/"},
    }
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only):
        for path in ("/portal/", "/excluded/page/"):
            for use_nonce in (True, False):
                expected, got = _both(path, plain, use_nonce=use_nonce)
                assert got == expected
        _expected, got = _both("/portal/", plain, use_nonce=True)
        assert "report-uri /csp-report/" in (got["Content-Security-Policy-Report-Only"] or "")
        _expected, got = _both("/excluded/page/", plain, use_nonce=True)
        assert got["Content-Security-Policy-Report-Only"] is None
    # The override is gone: the next response has no report-only header (the cache was emptied).
    _expected, got = _both("/portal/", plain, use_nonce=True)
    assert got["Content-Security-Policy-Report-Only"] is None


@pytest.mark.django_db
def test_each_page_gets_its_own_nonce_in_the_header_and_the_style_tag(client: Client) -> None:
    from dikom.municipalities.tests.factories import MunicipalityFactory

    city = MunicipalityFactory()
    nonces = []
    for _ in range(2):
        response = client.get(f"/portal/{city.slug}/")
        header = response["Content-Security-Policy"]
        found = re.search(r"'nonce-([^']+)'", header)
        assert found, header
        assert f'<style nonce="{found.group(1)}">' in response.content.decode()
        nonces.append(found.group(1))
    assert nonces[0] != nonces[1]
