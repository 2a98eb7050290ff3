"""The browser's part of a BundID sign-in in the tests: start, the IdP's auto-post form, the ACS, the return.

Used by the SAML test modules together with the ``keys`` and ``idp`` fixtures
of ``conftest.py`` and the IdP of ``saml_idp.py``.
"""

from __future__ import annotations

import urllib.request
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from dikom.authproviders import service
from dikom.authproviders.base import Identity
from dikom.authproviders.tests.saml_idp import SamlTestIdp

SITE = "https://dikom.test"
SP_ENTITY_ID = f"{SITE}/anmeldung/bundid/metadata/"
ACS_URL = f"{SITE}/anmeldung/bundid/acs/"


class FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        elif tag == "input" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def start(client: Client, idp: SamlTestIdp, **params: str) -> FormReader:
    """Start the sign-in, follow the redirect to the IdP over HTTP, read its auto-post form."""
    response = client.get("/anmeldung/bundid/start/", {"next": "/portal/fulda/", **params})
    assert response.status_code == 302
    assert response["Location"].startswith(idp.sso_url + "?")
    with urllib.request.urlopen(response["Location"], timeout=10) as page:  # noqa: S310 - loopback test IdP
        assert page.status == 200
        form = FormReader()
        form.feed(page.read().decode())
    assert form.action == ACS_URL
    return form


def post_to_acs(form: FormReader, **overrides: str) -> Any:
    """The IdP's cross-site POST: the browser sends no session cookie with it."""
    browser_without_cookie = Client()
    response = browser_without_cookie.post(urlsplit(form.action).path, {**form.fields, **overrides})
    assert response.status_code == 303
    assert not response.cookies, "the ACS must not set cookies (it would replace the citizen's session)"
    return response


def sign_in(client: Client, idp: SamlTestIdp, **params: str) -> Any:
    response = post_to_acs(start(client, idp, **params))
    return client.get(response["Location"])


def identity(client: Client) -> Identity | None:
    data = client.session.get(service.IDENTITY_SESSION_KEY)
    return Identity.from_session(data) if data else None
