"""Error pages: clear messages and a way home; the 500 page needs neither database nor request."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.utils import translation

from dikom.web import views


@pytest.mark.django_db
def test_404_page_has_message_and_link_home(client: Client) -> None:
    response = client.get("/kommunen/nirgendwo/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Fehler 404" in html
    assert '<a class="button" href="/">' in html
    assert '<main id="main"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(("handler", "status"), [(views.bad_request, 400), (views.permission_denied, 403)])
def test_400_and_403_pages(rf: RequestFactory, handler, status: int) -> None:
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/irgendwo/")
    request.user = AnonymousUser()
    response = handler(request, Exception("test"))
    assert response.status_code == status
    assert f"Fehler {status}" in response.content.decode()


def test_500_page_renders_without_database_or_request(rf: RequestFactory) -> None:
    # No django_db mark: any database access here would raise. The language is the
    # one the middleware activated for the failing request; here: the default.
    with translation.override("de"):
        response = views.server_error(rf.get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Fehler 500" in html
    assert '<a class="button" href="/">' in html
    assert "language-switcher" not in html  # needs a CSRF token from the request
