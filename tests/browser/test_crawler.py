"""The guard of issue 14: a crawler walks the whole site as each role meets it, in a real browser.

For one demo city (Marburg, from the real demo loader with a few days of usage data) and
each role (anonymous, citizen, caseworker, designer, reviewer, analyst, publisher,
municipality admin, platform admin) the crawler signs in through the login form, starts
at ``/`` and follows every same-site ``<a href>`` it finds on the rendered pages,
breadth first, as a person clicking would. Only GET navigation: no form is ever
submitted, log-out and links whose address names a destructive step are skipped.
Downloads (PDF, CSV, ZIP, JSON, …) are not opened in the page; they must answer
below 400 to a GET in the same session. An address the crawler did open that answers with a
file rather than HTML (a document shown inline) is counted as a download, not checked as a page.

Bounds: at most ``MAX_PAGES_PER_ROLE`` pages per role (90; ``DIKOM_CRAWLER_MAX_PAGES``
changes it for a quick local run), at most ``MAX_PER_PATTERN`` (2) addresses per *pattern*
(an address with UUIDs and numbers replaced and only the names of query parameters kept,
see ``url_pattern``), and only pages of the one demo city (addresses naming another demo
city are not followed). On the shared two-core machine the whole test took 4.5 to 9
minutes (by load): 40–75 s to load the demo, then 12–75 s per role (about 0.5–1 s per page).

Every page is loaded at 1280 px. Checks on every page:

- **server errors**: a 5xx answer, a Django debug page, or a 4xx answer other than 403 to a
  link the site itself shows (a broken link; 403 pages are designed pages saying whose the
  module is, and are checked like any other page);
- **overflow at 1280 px and at 390 px**: after the checks at 1280 px the viewport is
  narrowed to 390 px (CSS media queries apply without a reload) and back; a page is too
  wide when ``scrollWidth > innerWidth`` and some element sticks out on the right that is
  not inside an element which scrolls or clips horizontally (a table wrapper with
  ``overflow-x: auto`` is fine);
- **English text on a German page** (``check_english_words``, a word list of English
  words that are not German; separately named so it can be swapped for the catalogue
  check of the German-everywhere work).

axe-core (serious or critical WCAG 2.1 A/AA violations) runs once per pattern across all
roles (the first page of each pattern), at 1280 px: axe is by far the most expensive check.

**Reachability**: ``MUST_REACH`` lists per role the pages the role needs; each must be
among the pages the crawler reached by clicking from ``/``.

Known findings of areas other work items of issue 14 are fixing are collected in
``ALLOWED``, a narrow allow-list (kind of finding, pattern of the address, and a detail
match, each with the reason); everything else fails. The pages visited per role are
printed (``-s`` shows them).
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from django.conf import LazySettings

from dikom.demo import data
from tests.browser.support import assert_stylesheets_loaded, log_in, run_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CITY = "marburg"
PASSWORD = "Demo-Passwort-fuer-den-Crawler-1"
USAGE_DAYS = 3

MAX_PAGES_PER_ROLE = int(os.environ.get("DIKOM_CRAWLER_MAX_PAGES", "90"))
MAX_PER_PATTERN = 2
NARROW, WIDE = 390, 1280
HEIGHT = 900

# role label -> user name (None: not signed in)
ROLES: dict[str, str | None] = {
    "anonymous": None,
    "citizen": data.CITIZEN_USERNAME,
    "caseworker": f"{CITY}-caseworker",
    "designer": f"{CITY}-designer",
    "reviewer": f"{CITY}-reviewer",
    "analyst": f"{CITY}-analyst",
    "publisher": f"{CITY}-publisher",
    "admin": f"{CITY}-admin",
    "platform admin": data.PLATFORM_ADMIN_USERNAME,
}

# The pages each role needs, reached by clicking from "/": regular expressions, each must match
# (in full) the path of a page the crawler reached (the address it followed or where it landed).
ANY_UUID = "[0-9a-f-]{36}"
MUST_REACH: dict[str, list[str]] = {
    "anonymous": [
        "/kommunen/",
        f"/kommunen/{CITY}/",
        "/portal/",
        f"/portal/{CITY}/",
        "/konto/anmelden/",
        f"/stadt/{CITY}/baeume/",
        f"/stadt/{CITY}/baustellen/",
        f"/stadt/{CITY}/abfallbehaelter/",
    ],
    "citizen": [
        f"/portal/{CITY}/",
        f"/portal/{CITY}/dienst/[a-z0-9-]+/",
        "/portal/antraege/",
        f"/portal/antraege/{ANY_UUID}/",
        "/konto/",
        f"/stadt/{CITY}/baeume/{ANY_UUID}/",
        f"/stadt/{CITY}/meine-baeume/",
    ],
    "caseworker": [f"/vorgaenge/{CITY}/", f"/vorgaenge/{CITY}/{ANY_UUID}/"],
    "designer": ["/dienste/", "/dienste/meine/", "/dienste/[a-z0-9-]+/v[0-9]+/"],
    "reviewer": ["/dienste/", "/dienste/benachrichtigungen/"],
    "analyst": [
        f"/analytics/{CITY}/",
        f"/analytics/{CITY}/dienste/{ANY_UUID}/",
        f"/analytics/vergleich/{CITY}/",
        f"/analytics/daten/{CITY}/",
    ],
    "publisher": ["/opendata/", f"/stadt/{CITY}/sensordaten/", f"/stadt/{CITY}/baustellen/neu/"],
    "admin": [
        f"/verwaltung/{CITY}/",
        f"/verwaltung/{CITY}/personal/",
        f"/verwaltung/{CITY}/organisation/",
        f"/verwaltung/{CITY}/protokoll/",
        "/dienste/[a-z0-9-]+/uebernahme/" + CITY + "/",
    ],
    "platform admin": ["/plattform-admin/", "/kommunen/"],
}

# Addresses never followed: signing out, changing the language (a POST form anyway), the API,
# and every link whose address names a step that changes something even as a GET link.
SKIP_PATHS = re.compile(
    r"^/(konto/abmelden|i18n|api|static|media)/"
    r"|/(abmelden|loeschen|entfernen|widerrufen|zurueckziehen|abbrechen|verschieben|deaktivieren|erledigt|gelesen"
    r"|anwenden|verwerfen|logout|delete)(/|$)"
)
# One demo city: pages of the other demo cities (same templates, other data) are not followed.
OTHER_CITIES = frozenset(slug for slug, *_ in data.MUNICIPALITIES if slug != CITY)
# Answers that are files, not pages: checked with a GET (status below 400), never rendered.
DOWNLOAD = re.compile(
    r"\.(pdf|csv|xlsx|zip|json|jsonld|xml|rdf|ttl|geojson|gpx|txt|png|svg|ics|atom|rss)$|/(export|download|herunterladen)/"
)

DEBUG_MARKERS = (
    "You're seeing this error because you have",
    "Using the URLconf defined in",
    "Traceback (most recent call last)",
    'id="traceback"',
)

# --- English text on a German page --------------------------------------------------------------
# Words of English UI text that are not German words (and not used as loan words in German UI text
# such as "Dashboard", "Export", "Login", "Team", "Open Data"). Matched as whole words, case-sensitive
# in the forms listed, so that e.g. "IT-Service" does not count as "it".
ENGLISH_WORDS = frozenset(
    """
    the The and of to your Your with this This that please Please you You are is not has have been
    which from should must could would there their these those when where what What how How
    Save save Cancel cancel Delete delete Submit submit Search search Settings settings Previous previous
    Next Edit edit View Back Add Remove Close Change Changes Select select Choose choose Enter enter
    Required required None Unknown unknown Yes Field field Page page Sign sign Log Logged Download
    Show Hide Users Groups Permissions Authentication Authorization Recent actions History
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# Django's blank choice of a select, which German pages show as "Bitte wählen" (issue 14, item 7)
BLANK_CHOICE = "---------"

TEXT_OF_PAGE = """() => {
    const skip = new Set(["SCRIPT", "STYLE", "CODE", "PRE", "NOSCRIPT", "TEMPLATE", "TEXTAREA", "KBD", "SAMP"]);
    const parts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        const el = node.parentElement;
        if (!el || skip.has(el.tagName)) continue;
        if (el.closest("[lang]:not([lang^='de'])") || el.closest("[translate='no']")) continue;
        if (el.closest("code, pre, kbd, samp, script, style")) continue;
        const text = node.textContent.trim();
        if (text) parts.push(text);
    }
    for (const el of document.querySelectorAll("[aria-label], [title], [alt], [placeholder]")) {
        if (el.closest("[lang]:not([lang^='de'])")) continue;
        for (const name of ["aria-label", "title", "alt", "placeholder"]) {
            const value = el.getAttribute(name);
            if (value) parts.push(value);
        }
    }
    return {lang: document.documentElement.lang || "", title: document.title || "", text: parts};
}"""


# Short quoted names („to“, "unit"): keys of a format explained in German, not English prose.
QUOTED = re.compile(r"[„“\"‚'][^„“”\"‚‘’']{1,20}[“”\"‘’']")


def english_words(texts: list[str]) -> list[str]:
    """The English words (and Django's blank choice) found in the texts, with their context."""
    hits: list[str] = []
    for text in texts:
        if BLANK_CHOICE in text:
            hits.append(f"{BLANK_CHOICE!r} in {text[:80]!r}")
        words = re.findall(r"(?<![\w.@/-])[A-Za-z]+(?![\w@/-])", QUOTED.sub(" ", text))
        found = sorted({word for word in words if word in ENGLISH_WORDS})
        if found:
            hits.append(f"{', '.join(found)} in {text[:80]!r}")
    return hits


# --- overflow --------------------------------------------------------------------------------------
OVERFLOW = """() => {
    const width = window.innerWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    const scrolls = (el) => {
        for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
            const ox = getComputedStyle(a).overflowX;
            if (ox === "auto" || ox === "scroll" || ox === "hidden" || ox === "clip") return true;
        }
        return false;
    };
    const describe = (el) => {
        let name = el.tagName.toLowerCase();
        if (el.id) name += "#" + el.id;
        if (el.classList.length) name += "." + [...el.classList].slice(0, 3).join(".");
        return name;
    };
    const out = [];
    for (const el of document.body.querySelectorAll("*")) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= width + 1) continue;
        if (getComputedStyle(el).position === "fixed") continue;
        if (scrolls(el)) continue;
        // report the outermost element only
        const parent = el.parentElement;
        if (parent && parent !== document.body && out.some((o) => o.el.contains(el))) continue;
        out.push({el, text: describe(el) + " (right edge " + Math.round(r.right) + " px)"});
    }
    return out.slice(0, 5).map((o) => o.text);
}"""


# --- patterns and the allow-list -------------------------------------------------------------------
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def url_pattern(url: str) -> str:
    """The address with UUIDs, numbers and query values replaced: pages of the same kind share it."""
    parts = urlsplit(url)
    path = UUID.sub("<uuid>", parts.path)
    path = re.sub(r"/\d[\d-]*(?=/|$|\.)", "/<n>", path)
    query = "&".join(sorted({pair.split("=", 1)[0] for pair in parts.query.split("&") if pair}))
    return path + ("?" + query if query else "")


@dataclass(frozen=True)
class Allowed:
    """A known finding another work item of issue 14 fixes: kind, address pattern and detail (regexes)."""

    kind: str
    pattern: str
    detail: str
    reason: str

    def matches(self, finding: Finding) -> bool:
        return (
            finding.kind == self.kind
            and re.search(self.pattern, finding.pattern) is not None
            and re.search(self.detail, finding.detail) is not None
        )


# Narrow on purpose: each entry says why the finding is not a defect or cannot be changed here.
ALLOWED: list[Allowed] = [
    Allowed(
        "english text",
        r"^/verwaltung/[a-z-]+/protokoll/(\?page)?$",
        r"The city of [A-Za-z ]+ is happy to answer questions",
        "not UI text: the audit log shows recorded values verbatim, here the English variant of a bilingual "
        "hint of the demo services (eservices.demo); a lang attribute per value would need the audit log to "
        "know which field is which language.",
    ),
    Allowed(
        "english text",
        r"^/opendata/verwaltung/",
        r"^and in 'Open Data Commons Public Domain Dedication and Licence \(ODC PDDL\)'$",
        "not UI text: the official title of a licence in the dcat-ap.de licence list, a proper name that the "
        "list (and GovData) gives in English; the publisher must recognise it as written there.",
    ),
]


@dataclass(frozen=True)
class Finding:
    role: str
    kind: str
    url: str
    pattern: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.role}] {self.kind} {self.url}: {self.detail}"


@dataclass
class Crawl:
    role: str
    visited: list[str] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)  # paths of the pages reached (followed and landed on)
    downloads: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def same_site(url: str, base: str) -> bool:
    return urlsplit(url).netloc == urlsplit(base).netloc


def relative(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def crawl(page: Any, role: str, base: str, axe_done: set[str]) -> Crawl:
    """Breadth-first over the links of the rendered pages, from "/", within the bounds."""
    result = Crawl(role)
    seen: set[str] = {base + "/"}
    per_pattern: dict[str, int] = {}
    queue: deque[tuple[str, str]] = deque([(base + "/", "(start)")])

    def add(kind: str, url: str, detail: str) -> None:
        result.findings.append(Finding(role, kind, relative(url), url_pattern(relative(url)), detail))

    while queue and len(result.visited) < MAX_PAGES_PER_ROLE:
        url, source = queue.popleft()
        pattern = url_pattern(relative(url))
        if per_pattern.get(pattern, 0) >= MAX_PER_PATTERN:
            continue
        per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
        path = urlsplit(url).path
        if DOWNLOAD.search(path):
            response = page.request.get(url, max_redirects=5)
            result.downloads.append(f"{relative(url)} {response.status}")
            if response.status >= 400:
                add("broken download", url, f"answers {response.status} (linked from {source})")
            continue
        try:
            response = page.goto(url, wait_until="load")
        except Exception as exc:  # a download the address did not announce
            if "Download is starting" not in str(exc):
                add("navigation error", url, f"{exc} (linked from {source})")
                continue
            response = page.request.get(url)
            result.downloads.append(f"{relative(url)} {response.status}")
            if response.status >= 400:
                add("broken download", url, f"answers {response.status} (linked from {source})")
            continue
        status = response.status if response is not None else 0
        content_type = (response.headers.get("content-type", "") if response is not None else "").split(";")[0]
        if status < 400 and content_type and "html" not in content_type:
            # A file shown inline (a case document's PDF at /dokumente/<uuid>/): not a page to check.
            result.downloads.append(f"{relative(url)} {status} {content_type}")
            continue
        final = page.url
        result.visited.append(f"{relative(url)} {status}" + (f" -> {relative(final)}" if final != url else ""))
        result.reached.update({urlsplit(url).path, urlsplit(final).path})
        if final != url:
            seen.add(urldefrag(final)[0])
        if status >= 500:
            add("server error", url, f"answers {status} (linked from {source})")
            continue
        if status >= 400 and any(marker in page.content() for marker in DEBUG_MARKERS):
            add("debug page", url, f"answers {status} with a debug page (linked from {source})")
            continue
        # 403 is a designed answer (a German page saying whose the module is, e.g. /analytics/ for a
        # caseworker); it is checked like any page. Any other 4xx to a link the site shows is broken.
        if status >= 400 and status != 403:
            add("broken link", url, f"answers {status} (linked from {source})")
            continue
        if not same_site(final, base):
            continue
        check_page(page, url, add)
        final_pattern = url_pattern(relative(final))
        if final_pattern not in axe_done:
            axe_done.add(final_pattern)
            assert_stylesheets_loaded(page)
            for violation in run_axe(page):
                if violation["impact"] in {"serious", "critical"}:
                    targets = "; ".join(node["target"] for node in violation["nodes"][:3])
                    add("axe", final, f"{violation['id']} ({violation['impact']}): {targets}")
        raw = page.eval_on_selector_all("a[href]", "(els) => els.map((a) => a.getAttribute('href'))")
        malformed = sorted({href for href in raw if "??" in href})
        if malformed:
            add("malformed link", final, ", ".join(malformed[:3]))
        links = page.eval_on_selector_all("a[href]", "(els) => els.map((a) => a.href)")
        for link in links:
            target = urldefrag(urljoin(final, link))[0]
            if not target.startswith(("http://", "https://")) or not same_site(target, base):
                continue
            target_path = urlsplit(target).path
            if SKIP_PATHS.search(target_path) or target in seen or OTHER_CITIES & set(target_path.split("/")):
                continue
            seen.add(target)
            queue.append((target, relative(final)))
    return result


def check_page(page: Any, url: str, add: Any) -> None:
    """The cheap checks of every page: overflow at both widths, German text, a title."""
    for width in (WIDE, NARROW):
        if width != WIDE:
            page.set_viewport_size({"width": width, "height": HEIGHT})
        offenders = page.evaluate(OVERFLOW)
        if offenders:
            add(f"overflow at {width} px", url, ", ".join(offenders))
    page.set_viewport_size({"width": WIDE, "height": HEIGHT})
    texts = page.evaluate(TEXT_OF_PAGE)
    if texts["lang"].startswith("de"):
        check_english_words(texts, url, add)
    if not texts["title"].strip():
        add("no title", url, "the page has no <title>")


def check_english_words(texts: dict[str, Any], url: str, add: Any) -> None:
    """English text on a German page: a word list check, separate so the catalogue check can replace it."""
    hits = english_words([texts["title"], *texts["text"]])
    if hits:
        add("english text", url, " | ".join(hits[:6]))


@pytest.fixture
def demo_city(browser_settings: LazySettings, migration_data: None) -> Iterator[None]:
    """The demo cooperation with its services, applications, cases, a few days of usage and the smart city."""
    from dikom.analytics.demo import load_demo_usage
    from dikom.cases.demo import load_demo_cases
    from dikom.cases.models import Case
    from dikom.demo.actions import load_demo_cooperation
    from dikom.eservices.service import load_demo_services
    from dikom.portal.demo import load_demo_applications
    from dikom.sensors.demo import load_demo_sensors
    from dikom.smartcity.demo import load_demo_smartcity

    # As `make run` (dikom.conf.dev) has it: the demo on, and with it the demo payment platform. The test
    # settings turn the demo off, and without a payment platform the demo citizen's parking permits (the
    # service with a fee) stay unpaid drafts, so Marburg, whose demo applications are both parking permits,
    # had no case at all in its caseworker's inbox.
    browser_settings.DIKOM_DEMO = True
    browser_settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # as in the demo; the 2FA journey is tested elsewhere
    load_demo_cooperation(password=PASSWORD)
    load_demo_services()
    applications = load_demo_applications()
    load_demo_cases()
    load_demo_usage(days=USAGE_DAYS)
    load_demo_sensors(days=2)  # the smart-city app's trees with probes, bins with fill levels
    load_demo_smartcity()
    assert not applications.unpaid, f"demo applications left unpaid: {applications.unpaid}"
    assert Case.objects.filter(municipality__slug=CITY, status=Case.Status.OPEN).exists(), "no open demo case"
    yield


def test_every_role_reaches_its_pages_and_every_page_is_sound(demo_city: None, new_page: Any, live_server: Any) -> None:
    base = live_server.url
    axe_done: set[str] = set()
    findings: list[Finding] = []
    unreachable: list[str] = []
    for role, username in ROLES.items():
        started = time.monotonic()
        page = new_page(viewport={"width": WIDE, "height": HEIGHT})
        if username is not None:
            log_in(page, username, PASSWORD)
        result = crawl(page, role, base, axe_done)
        page.context.close()
        for needed in MUST_REACH[role]:
            if not any(re.fullmatch(needed, path) for path in result.reached):
                finding = Finding(role, "unreachable", needed, needed, "no link leads there")
                if any(entry.matches(finding) for entry in ALLOWED):
                    findings.append(finding)
                else:
                    unreachable.append(f"[{role}] {needed} is not reached by any link")
        print(
            f"\n== {role} ({username or 'not signed in'}): {len(result.visited)} pages, "
            f"{len(result.downloads)} downloads, {time.monotonic() - started:.0f} s"
        )
        for entry in result.visited:
            print(f"   {entry}")
        for entry in result.downloads:
            print(f"   download {entry}")
        findings.extend(result.findings)

    allowed = [f for f in findings if any(entry.matches(f) for entry in ALLOWED)]
    failing = [f for f in findings if f not in allowed]
    print(f"\n{len(findings)} findings, {len(allowed)} allow-listed:")
    for finding in findings:
        print(("  (allowed) " if finding in allowed else "  ") + str(finding))
    assert not unreachable, "pages a role needs but cannot reach by clicking:\n" + "\n".join(unreachable)
    server = [f for f in failing if f.kind in {"server error", "debug page", "broken link", "broken download"}]
    assert not server, "server errors and broken links:\n" + "\n".join(map(str, server))
    overflow = [f for f in failing if f.kind.startswith("overflow")]
    assert not overflow, "pages wider than the viewport:\n" + "\n".join(map(str, overflow))
    axe = [f for f in failing if f.kind == "axe"]
    assert not axe, "axe-core: serious or critical violations:\n" + "\n".join(map(str, axe))
    english = [f for f in failing if f.kind == "english text"]
    assert not english, "English text on German pages:\n" + "\n".join(map(str, english))
    assert not failing, "other findings:\n" + "\n".join(map(str, failing))
