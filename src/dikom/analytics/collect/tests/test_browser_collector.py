"""collect.js in a real browser (Debian's chromium via Playwright).

The form page lives on another origin, as in real life: a second small HTTP
server (the "form system", http://127.0.0.1:<port>) serves it, while the script
and the events go to the live dikom server (http://localhost:<port>). Both are
loopback addresses: Chromium's local network access rules would stop a page of
a public origin from calling a loopback server.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dikom.analytics.collect.models import CollectionSite
from dikom.analytics.collect.tests.conftest import DEMO_APPLICATION
from dikom.analytics.models import UsageEvent
from tests.browser.support import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread


@pytest.fixture
def form_page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(locale="de-DE")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


class FormSystem:
    """A tiny HTTP server on 127.0.0.1 that serves one HTML page (the form system's page)."""

    def __init__(self) -> None:
        self.html = b""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(owner.html)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def form_system() -> Iterator[FormSystem]:
    system = FormSystem()
    yield system
    system.close()


def serve_form(form_system: FormSystem, live_server: Any, site: CollectionSite, *, visit_id: str = "") -> str:
    assert live_server.url.startswith("http://localhost:")  # another origin than the form system
    visit = f' data-visit-id="{visit_id}"' if visit_id else ""
    form_system.html = f"""<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Antrag</title></head>
<body><h1>Bewohnerparkausweis – Schritt 2</h1>
<script src="{live_server.url}/analytics-erfassung/collect.js" data-site="{site.site_id}"
  data-endpoint="{live_server.url}/api/v1/analytics/collect/{site.site_id}" data-service="anwohnerparken"
  data-step="antragsteller" data-step-position="2"{visit}></script></body></html>""".encode()
    return f"{form_system.origin}/antrag/parken/schritt-2"


def is_collect(response: Any) -> bool:
    return "/api/v1/analytics/collect/" in response.url


def test_snippet_sends_step_and_tracked_events(form_page, form_system, live_server, city_a):
    site = CollectionSite.objects.create(municipality=city_a, name="Formulare", allowed_origins=[form_system.origin])
    url = serve_form(form_system, live_server, site, visit_id="antrag-7f3a9c")

    with form_page.expect_response(is_collect) as first:
        form_page.goto(url)
    assert first.value.status == 200

    with form_page.expect_response(is_collect) as second:
        sent = form_page.evaluate("() => window.dikomAnalytics.track('payment_chosen', {payment_method: 'paypal'})")
    assert sent is True
    assert second.value.status == 200

    stored = list(UsageEvent.objects.order_by("pk").values_list("type", "step_key", "step_position", "payment_method"))
    assert stored == [("step_viewed", "antragsteller", 2, ""), ("payment_chosen", "", None, "paypal")]
    visits = set(UsageEvent.objects.values_list("visit", flat=True))
    assert len(visits) == 1 and None not in visits  # one visit, stored only as a salted hash
    assert UsageEvent.objects.filter(visit="antrag-7f3a9c").count() == 0
    assert form_page.evaluate("() => document.cookie") == ""
    assert form_page.evaluate("() => localStorage.length + sessionStorage.length") == 0


def test_a_page_of_a_foreign_origin_is_refused(form_page, form_system, live_server, city_a):
    site = CollectionSite.objects.create(
        municipality=city_a, name="Formulare", allowed_origins=["https://formulare.fulda.de"]
    )
    url = serve_form(form_system, live_server, site)

    with form_page.expect_response(is_collect) as beacon:
        form_page.goto(url)

    assert beacon.value.status == 403
    assert not UsageEvent.objects.exists()


def test_the_demo_form_sends_a_whole_application_with_declared_events(form_page, live_server, settings):
    """The demo form system (``/demo-formular/sperrmuell/``): start, three steps, submission and a rating,
    declared with data-dikom-event attributes, land on Gießen's service as one visit."""
    from dikom.analytics.collect.demo import load_demo_collection_site
    from dikom.analytics.demo import ensure_services
    from dikom.demo.actions import load_demo_cooperation
    from dikom.municipalities.models import Municipality

    settings.DIKOM_DEMO = True
    load_demo_cooperation(password="Demo-Passwort-123")
    ensure_services(Municipality.objects.get(slug="giessen"))
    site = load_demo_collection_site()
    assert site.allowed_origins == []  # the form's pages are dikom's own: no origin needs allowing

    form_page.goto(f"{live_server.url}/demo-formular/sperrmuell/")
    assert_accessible(form_page)
    form_page.get_by_role("link", name="Antrag starten").click()
    form_page.get_by_text("Schritt 1 von 3").wait_for()
    assert_accessible(form_page)
    form_page.get_by_role("link", name="Weiter").click()
    form_page.get_by_text("Schritt 2 von 3").wait_for()
    form_page.get_by_role("link", name="Weiter").click()
    form_page.get_by_text("Schritt 3 von 3").wait_for()
    form_page.get_by_role("button", name="Antrag absenden").click()
    form_page.get_by_text("Vielen Dank!").wait_for()
    assert_accessible(form_page)
    form_page.get_by_role("button", name="5 von 5").click()
    form_page.get_by_text("Danke für Ihre Bewertung").wait_for()
    # Beacons are sent in the background, some while the next page loads: wait until all six are in.
    for _attempt in range(100):
        if UsageEvent.objects.count() >= 6:
            break
        form_page.wait_for_timeout(100)

    stored = UsageEvent.objects.filter(municipality__slug="giessen")
    assert sorted(stored.values_list("type", "step_key", "step_position", "rating")) == sorted(DEMO_APPLICATION)
    assert {e.service.external_key for e in stored} == {"sperrmuell"}
    assert len({e.visit for e in stored}) == 1  # the random id of the application, only as its salted hash
    # The snippet stores nothing in the browser; the one cookie is the CSRF token of dikom's own
    # language switcher, which the demo page shares with every dikom page.
    assert {cookie["name"] for cookie in form_page.context.cookies()} <= {"csrftoken"}
    assert form_page.evaluate("() => localStorage.length + sessionStorage.length") == 0
