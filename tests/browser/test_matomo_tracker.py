"""The real ``matomo.js`` in Debian's chromium, pointed at dikom's ``/matomo.php``: every hit stored once.

A city's form system (a small HTTP server on http://127.0.0.1:<port>, another
origin than the live dikom server on http://localhost:<port>) serves its page
and the unchanged ``matomo.js`` of Matomo, with the tracking code Matomo
hands out, its tracker URL set to dikom. Each request mode of the tracker is
driven: ``sendBeacon`` (its default), XHR POST with credentials
(``disableAlwaysUseSendBeacon`` + ``setRequestMethod POST``), the image GET
(``disableAlwaysUseSendBeacon``), and bulk requests (queued requests) by
beacon and by XHR. Before dikom answered credentialed requests with
``Access-Control-Allow-Credentials``, the XHR mode stored every hit twice:
the browser hid the answer, and the tracker sent the hit again as an image.

``matomo.js`` is Matomo's file (BSD-3-Clause), which no package registry
ships; it is not part of this repository. The test reads it from
``DIKOM_MATOMO_JS`` or ``/usr/local/share/matomo/matomo.js`` (the file
``matomo.js`` at the top of Matomo's source, e.g. of Matomo 5.2) and skips with
that reason when neither exists.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dikom.analytics.collect.models import CollectionSite, MatchOn
from dikom.analytics.collect.tests.conftest import rule
from dikom.analytics.models import Service, UsageEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MATOMO_JS = Path(os.environ.get("DIKOM_MATOMO_JS") or "/usr/local/share/matomo/matomo.js")
PAGE_PATH = "/antrag/parken/schritt-2"

# Tracker settings per request mode (``_paq`` commands before the hits).
MODES: dict[str, list[list[str]]] = {
    "beacon": [],
    "xhr-post": [["disableAlwaysUseSendBeacon"], ["setRequestMethod", "POST"]],
    "image-get": [["disableAlwaysUseSendBeacon"]],
    "bulk-beacon": [],
    "bulk-xhr": [["disableAlwaysUseSendBeacon"]],
}
# The hits: a page view of step 2 and the event "Antrag/Absenden"; bulk modes queue them (sent together).
SINGLE_HITS = [["trackPageView"], ["trackEvent", "Antrag", "Absenden"]]
QUEUED_HITS = [["queueRequest", "action_name=Schritt%202"], ["queueRequest", "e_c=Antrag&e_a=Absenden"]]
EXPECTED = [("step_viewed", "schritt", 2), ("submitted", "", None)]


@pytest.fixture(scope="module")
def matomo_js() -> bytes:
    if not MATOMO_JS.is_file():
        pytest.skip(f"Matomo's matomo.js is not at {MATOMO_JS} (set DIKOM_MATOMO_JS to the file of a Matomo release)")
    return MATOMO_JS.read_bytes()


class FormSystem:
    """A city's form server on 127.0.0.1: one page with the Matomo tracking code, and ``/matomo.js``."""

    def __init__(self, script: bytes) -> None:
        self.html = b""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, kind = (script, "text/javascript") if self.path == "/matomo.js" else (owner.html, "text/html")
                self.send_response(200)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, tracker_url: str, commands: list[list[str]]) -> str:
        """The page with Matomo's tracking code; ``commands`` are pushed to ``_paq`` in order."""
        pushes = "\n".join(f"_paq.push({json.dumps(command)});" for command in commands)
        self.html = f"""<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Schritt 2</title>
<script>
  var _paq = window._paq = window._paq || [];
  {pushes}
  (function() {{
    var u = {json.dumps(tracker_url)};
    _paq.push(['setTrackerUrl', u + 'matomo.php']);
    _paq.push(['setSiteId', '7']);
    var d = document, g = d.createElement('script'), s = d.getElementsByTagName('script')[0];
    g.async = true; g.src = '/matomo.js'; s.parentNode.insertBefore(g, s);
  }})();
</script></head><body><h1>Bewohnerparkausweis – Schritt 2</h1></body></html>""".encode()
        return self.origin + PAGE_PATH

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def form_system(matomo_js: bytes) -> Iterator[FormSystem]:
    system = FormSystem(matomo_js)
    yield system
    system.close()


@pytest.fixture
def site(city_a: Any, form_system: FormSystem) -> CollectionSite:
    Service.objects.create(municipality=city_a, name="Bewohnerparkausweis", external_key="anwohnerparken")
    site = CollectionSite.objects.create(
        municipality=city_a, name="Formularserver Fulda", matomo_idsite=7, allowed_origins=[form_system.origin]
    )
    rule(site, position=10, match_on=MatchOn.URL_PREFIX, pattern=PAGE_PATH, step_key="schritt", step_position=2)
    rule(
        site,
        position=20,
        match_on=MatchOn.EVENT,
        event_category="Antrag",
        event_action="Absenden",
        event_type="submitted",
    )
    return site


def settle(page: Any, expected: int) -> None:
    """Wait until ``expected`` events are stored, then long enough for any fallback resend to arrive."""
    for _attempt in range(150):
        if UsageEvent.objects.count() >= expected:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(1500)


def run(
    browser: Any, live_server: Any, form_system: FormSystem, commands: list[list[str]], hits: list[list[str]]
) -> list[Any]:
    """Open the form page with the tracker ``commands``, push ``hits`` and return the tracking requests made.

    Single hits are pushed one after the other once the previous one is stored: the live server's in-memory
    SQLite test database locks whole tables, so two writes at the same moment would fail there (not on the
    platform's WAL database). Queued hits go out together in one bulk request anyway.
    """
    context = browser.new_context(locale="de-DE")
    context.set_default_timeout(15_000)
    page = context.new_page()
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request) if "/matomo.php" in request.url else None)
    try:
        page.goto(form_system.serve(live_server.url + "/", commands))
        queued = all(hit[0] == "queueRequest" for hit in hits)
        for number, hit in enumerate(hits, start=1):
            page.evaluate("command => window._paq.push(command)", hit)
            if not queued:
                settle(page, number)
        settle(page, len(EXPECTED))
    finally:
        context.close()
    return requests


def stored() -> list[tuple[str, str, int | None]]:
    return list(UsageEvent.objects.order_by("type").values_list("type", "step_key", "step_position"))


@pytest.mark.parametrize("mode", list(MODES))
def test_each_hit_of_the_real_tracker_is_stored_once(browser, live_server, form_system, site, mode):
    hits = QUEUED_HITS if mode.startswith("bulk") else SINGLE_HITS
    requests = run(browser, live_server, form_system, MODES[mode], hits)

    assert stored() == EXPECTED  # each hit exactly once
    kinds = {(request.resource_type, request.method) for request in requests}
    bodies = [request.post_data or "" for request in requests]
    if mode == "beacon":
        assert kinds == {("ping", "POST")}
    elif mode == "xhr-post":
        assert kinds == {("xhr", "POST")}  # no image fallback: the answer reached the tracker
    elif mode == "image-get":
        assert kinds == {("image", "GET")}
    else:
        # one request carried both hits (Playwright cannot read a beacon's Blob body, only an XHR's)
        assert len(requests) == 1
        if mode == "bulk-xhr":
            assert kinds == {("xhr", "POST")} and bodies[0].startswith('{"requests"')
        else:
            assert kinds == {("ping", "POST")}
    visits = set(UsageEvent.objects.values_list("visit", flat=True))
    assert len(visits) == 1 and None not in visits  # matomo.js's visitor id, stored as its salted daily hash


def test_credentialed_xhr_answers_are_readable_by_the_tracker(browser, live_server, form_system, site):
    # The tracker's callback learns whether its XHR succeeded; without Allow-Credentials it would see status 0.
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    try:
        page.goto(form_system.serve(live_server.url + "/", MODES["xhr-post"]))
        page.wait_for_function("() => window.Matomo && window.Matomo.getAsyncTracker")
        status = page.evaluate(
            """() => new Promise(resolve => {
                Matomo.getAsyncTracker().trackRequest('e_c=Antrag&e_a=Absenden', null,
                    (result) => resolve(result.xhr ? result.xhr.status : -1));
            })"""
        )
    finally:
        context.close()
    assert status == 204
    assert list(UsageEvent.objects.values_list("type", flat=True)) == ["submitted"]


def test_cookieless_tracking_still_counts_one_visit(browser, live_server, form_system, site):
    # disableCookies: matomo.js sends an empty _id; dikom derives a per-day key (stored only salted and hashed)
    requests = run(browser, live_server, form_system, [["disableCookies"], *MODES["image-get"]], SINGLE_HITS)

    assert all("_id=&" in request.url or request.url.endswith("_id=") for request in requests)
    assert stored() == EXPECTED
    visits = set(UsageEvent.objects.values_list("visit", flat=True))
    assert len(visits) == 1 and None not in visits
