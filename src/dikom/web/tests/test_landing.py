"""The landing page introduces dikom and links to every module; module pages describe what is coming."""

from __future__ import annotations

import pytest
from django.test import Client

from dikom.web.modules import MODULES

pytestmark = pytest.mark.django_db

MODULE_PATHS = ["/dienste/", "/faelle/", "/analytics/", "/opendata/", "/sensoren/", "/kompetenzen/", "/forum/"]
# Modules whose app is not built yet show the "in preparation" page; built ones are served by their app.
PREPARED_PATHS = [f"/{module.slug}/" for module in MODULES if not module.ready]


def test_landing_links_to_every_module(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for path in [*MODULE_PATHS, "/kommunen/", "/api/v1/docs/"]:
        assert f'href="{path}"' in html, path
    for programme in ["Total Digital", "eGovSAD", "Open Smart City", "roadMAP"]:
        assert programme in html


def test_every_module_path_is_a_module():
    assert sorted(MODULE_PATHS) == sorted(f"/{module.slug}/" for module in MODULES)


@pytest.mark.parametrize("path", PREPARED_PATHS)
def test_module_page_is_marked_in_preparation(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="badge badge--warning">In Vorbereitung</span>' in html
    assert '<nav class="breadcrumbs"' in html


def test_module_page_describes_the_module(client: Client) -> None:
    html = client.get("/faelle/").content.decode()
    assert "xdomea" in html
    assert "bescheid" in html.lower()


def test_unknown_module_is_404(client: Client) -> None:
    response = client.get("/gibtsnicht/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Fehler 404" in html
    assert '<a class="button" href="/">' in html
