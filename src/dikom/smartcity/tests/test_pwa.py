"""The installable web app: a manifest and a service worker with an offline shell per city."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.mark.django_db
def test_manifest_service_worker_and_offline_page(client: Any, city_a: Any) -> None:
    home = client.get("/stadt/fulda/").content.decode()
    assert '<link rel="manifest" href="/stadt/fulda/manifest.webmanifest"' in home
    response = client.get("/stadt/fulda/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == manifest["scope"] == "/stadt/fulda/"
    assert manifest["display"] == "standalone" and manifest["name"] == "Smart City Fulda"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    worker = client.get("/stadt/fulda/sw.js")
    assert worker["Content-Type"].startswith("text/javascript")
    body = worker.content.decode()
    assert 'const OFFLINE = "/stadt/fulda/offline/"' in body
    assert 'request.method !== "GET"' in body  # never a POST
    assert "/meine-baeume/" not in body  # no personal page in the shell
    offline = client.get("/stadt/fulda/offline/").content.decode()
    assert "Sie sind offline" in offline
    assert client.get("/stadt/unbekannt/manifest.webmanifest").status_code == 404
