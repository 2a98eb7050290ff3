from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from dikom.accounts.actions import create_api_key
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.municipalities.models import Municipality
from dikom.opendata import actions
from dikom.opendata.models import Organization
from dikom.opendata.scopes import OPENDATA_WRITE


@pytest.fixture
def org_a(city_a: Municipality) -> Organization:
    return actions.organization_for_municipality(city_a)


@pytest.fixture
def org_b(city_b: Municipality) -> Organization:
    return actions.organization_for_municipality(city_b)


@pytest.fixture
def publisher_a(city_a: Municipality) -> Any:
    return MembershipFactory(user__username="publisher-a", municipality=city_a, role=Role.DATA_PUBLISHER).user


@pytest.fixture
def key_a(org_a: Organization, city_a: Municipality) -> str:
    return create_api_key(municipality=city_a, name="Open data A", scopes=[OPENDATA_WRITE]).token


@pytest.fixture
def key_b(org_b: Organization, city_b: Municipality) -> str:
    return create_api_key(municipality=city_b, name="Open data B", scopes=[OPENDATA_WRITE]).token


def make_dataset(org: Organization, name: str, title: str, **extra: Any) -> Any:
    data = {
        "name": name,
        "title": title,
        "notes": extra.pop("notes", f"Beschreibung von {title}"),
        "license_id": extra.pop("license_id", "dl-by-de/2.0"),
        "resources": extra.pop("resources", [{"url": f"https://example.org/{name}.csv", "format": "CSV"}]),
        **extra,
    }
    return actions.create_dataset(org, data, actor="test")


class Fixture:
    """Routes "path?query" → (content type, body) or a callable(path, query) → (status, content type, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}
        self.delay = 0.0
        self.requests: list[str] = []


@pytest.fixture
def remote() -> Iterator[tuple[str, Fixture]]:
    fixture = Fixture()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fixture.requests.append(self.path)
            time.sleep(fixture.delay)
            parts = urlsplit(self.path)
            route = fixture.routes.get(self.path) or fixture.routes.get(parts.path)
            if route is None:
                status, kind, body = 404, "text/plain", b"not here"
            elif callable(route):
                status, kind, body = route(parts.path, parse_qs(parts.query))
            else:
                status, (kind, body) = 200, route
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", fixture
    server.shutdown()
    server.server_close()
