import re

import pytest

pytestmark = pytest.mark.django_db


def test_csp_has_no_unsafe_inline_and_a_real_style_nonce(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())

    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    # Only 'self' and real per-request nonces, never a placeholder left in the header.
    for token in directives["style-src"].split():
        assert token == "'self'" or re.fullmatch(r"'nonce-[A-Za-z0-9+/=_-]{16,}'", token), token


def test_security_headers_are_set(client):
    response = client.get("/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_healthz_reports_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
