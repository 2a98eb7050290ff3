"""Pages of citizens and staff under load (issue 21): requests/s, p50/p95/p99, server CPU per request.

What it does, in one run:

1. Prepares a database (SQLite in ``--sqlite-dir`` or the PostgreSQL database
   ``--db-name``): ``migrate``, the demo cooperation with ``--usage-days`` days of usage
   data (default none: ``load_demo --usage-days 0``), and open cases cloned from a demo case of the
   city until it has ``--open-cases`` of them (the inbox at scale); on PostgreSQL then
   ``VACUUM ANALYZE`` (statistics as autovacuum keeps them). ``--reuse`` keeps a database
   prepared before.
2. Starts ``manage.py serve`` as an operator would (DEBUG off, task worker and clock
   running unless ``--no-worker``; ``--processes`` web processes, default: one per core).
3. Goes through the real flows over HTTP: a citizen opens the city's service page and
   starts an application (CSRF token, session cookie, 302 to step 1); the step's form is
   filled from its own HTML (every required field gets a plausible value) and must be
   accepted (302). The city's caseworker, analyst and process designer sign in with the
   demo password.
4. Loads each page with ``wrk`` (keep-alive, the session cookie of step 3) for
   ``--seconds`` at each of ``--connections``: the landing page, the city's portal, a
   service page, the step (GET, and POST of the same valid answers), the caseworker's
   inbox and a case page, the analyst's analytics overview, the designer's service library,
   and a static file as the machine's limit for a request. CPU per
   request is read from ``/proc/<pid>/stat`` of the web server processes (and, on
   PostgreSQL, of the database backends); the load average is printed with each row
   because the machine may be shared. The landing page, portal and service page are requested
   without cookies, so they are answered from the page cache (``DIKOM_PAGE_CACHE_SECONDS``,
   ``--page-cache-seconds 0`` switches it off) after the first request in each process.

Every row is printed as one JSON line; ``--markdown`` also prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import html.parser
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STATIC_FILE = "/static/dikom/css/dikom.css"

WRK_SCRIPT = r"""
local body = os.getenv("BODY")
local method = os.getenv("METHOD") or "GET"
wrk.method = method
wrk.headers["Cookie"] = os.getenv("COOKIE") or ""
if method == "POST" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Referer"] = os.getenv("REFERER")
end
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function setup(thread)
  thread:set("statuses", statuses)
end
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %.3f, "socket_errors": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format('{"non2xx3xx": %d}\n', summary.errors.status))
end
"""


# --- Preparing the database ----------------------------------------------------------

CLONE_CASES = """
import uuid
from django.db import transaction
from dikom.cases.models import Case, Task
from dikom.portal.models import Application
city_slug, wanted = {city!r}, {wanted}
open_cases = Case.objects.filter(municipality__slug=city_slug, status=Case.Status.OPEN)
have = open_cases.count()
model = open_cases.filter(tasks__status=Task.Status.OPEN).order_by("pk").first()
assert model is not None, "the demo has no open case with an open task in " + city_slug
tasks = list(Task.objects.filter(case=model, status=Task.Status.OPEN))
application = Application.objects.get(pk=model.application_id)

def copy(obj, **changes):
    values = {{f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields if not f.primary_key}}
    values.update(changes)
    return type(obj)(**values)

for start in range(have, wanted, 500):
    with transaction.atomic():
        numbers = range(start, min(wanted, start + 500))
        apps = Application.objects.bulk_create(
            [copy(application, uuid=uuid.uuid4(), reference=f"BENCH-{{n:06d}}") for n in numbers]
        )
        cases = Case.objects.bulk_create(
            [
                copy(model, uuid=uuid.uuid4(), reference=f"BENCH-{{n:06d}}", application_id=app.pk)
                for n, app in zip(numbers, apps)
            ]
        )
        Task.objects.bulk_create([copy(task, uuid=uuid.uuid4(), case_id=case.pk) for case in cases for task in tasks])
print(Case.objects.filter(municipality__slug=city_slug, status=Case.Status.OPEN).count())
"""


def prepare(args: argparse.Namespace) -> dict[str, str]:
    """The server environment, with a prepared database (made anew unless ``--reuse`` finds one)."""
    extra = {
        "DIKOM_DEBUG": "false",
        "DIKOM_DEMO": "true",
        "DIKOM_REQUIRE_2FA_FOR_STAFF": "false",
        "DIKOM_AUTH_CLIENT_REQUESTS_PER_MINUTE": "100000000",
        "DIKOM_LOG_LEVEL": "WARNING",
    }
    fresh = not args.reuse
    if args.database == "postgresql":
        import psycopg

        with psycopg.connect(f"{args.pg_url}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db_name]).fetchone()
            if fresh or not exists:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{args.db_name}"')
                fresh = True
        extra["DATABASE_URL"] = f"{args.pg_url}/{args.db_name}"
        extra["DIKOM_DATA_DIR"] = str(Path(args.sqlite_dir).with_name(Path(args.sqlite_dir).name + "-pg-files"))
        Path(extra["DIKOM_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    else:
        data_dir = Path(args.sqlite_dir)
        if fresh or not (data_dir / "dikom.sqlite3").exists():
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir(parents=True)
            fresh = True
        extra["DIKOM_DATA_DIR"] = str(data_dir)
        os.environ.pop("DATABASE_URL", None)
    env = common.bench_env(**extra)
    if args.database != "postgresql":
        env.pop("DATABASE_URL", None)
    if fresh:
        print("preparing the database (migrate, demo, open cases) ...", file=sys.stderr)
        common.manage(env, "migrate", "-v0")
        common.manage(env, "load_demo", "--usage-days", str(getattr(args, "usage_days", 0)))
        common.manage(env, "compile_catalogs")
        common.manage(env, "collectstatic", "--noinput", "-v0")
    if args.open_cases:
        count = common.manage(env, "shell", "-c", CLONE_CASES.format(city=args.city, wanted=args.open_cases))
        print(f"open cases of {args.city}: {count.strip().splitlines()[-1]}", file=sys.stderr)
    if args.database == "postgresql":
        # Statistics and visibility map as autovacuum leaves them on a live server (the clones
        # above are fresh rows; without this the planner guesses one row and joins row by row).
        with psycopg.connect(extra["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    return env


def demo_password(env: dict[str, str]) -> str:
    return (Path(env["DIKOM_DATA_DIR"]) / "demo-credentials.txt").read_text().strip().splitlines()[-1].split()[-1]


# --- A small HTTP client with cookies ------------------------------------------------


class Browser:
    """Keeps cookies; follows nothing by itself (each step checks its own answer)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(self, method: str, path: str, form: dict[str, str] | list[tuple[str, str]] | None = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": self.cookie_header(), "Referer": f"http://127.0.0.1:{self.port}{path}"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        text = answer.read().decode("utf-8", "replace")
        for header, value in answer.getheaders():
            if header.lower() == "set-cookie":
                name, _sep, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        conn.close()
        return answer.status, answer.getheader("Location") or "", text

    def follow(self, status: int, location: str, page: str, limit: int = 10) -> tuple[int, str, str]:
        """GET redirect after redirect; the final answer and its path."""
        path = ""
        for _ in range(limit):
            if status not in (301, 302, 303):
                return status, path, page
            parts = urllib.parse.urlsplit(location)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            status, location, page = self.request("GET", path)
        raise RuntimeError("too many redirects")

    def csrf(self, page: str) -> str:
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not found:
            raise RuntimeError("no CSRF token in the page")
        return found.group(1)


SAMPLES = {
    "postcode": "35037",
    "plz": "35037",
    "house_number": "1",
    "telefon": "06421 1234",
    "phone": "06421 1234",
    "iban": "DE89370400440532013000",
    "kennzeichen": "MR-AB 123",
}


def _sample(name: str) -> str:
    """A plausible text for an input named ``name``."""
    for part, value in SAMPLES.items():
        if part in name:
            return value
    return "Demo"


class FormFields(html.parser.HTMLParser):
    """The fields of the page's main form with a plausible value for each (the first choice of a
    choice, a date two months ago, a sample text)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._seen: set[str] = set()
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "select":
            self._select = name
            return
        if tag == "option" and self._select and self._select not in self._seen and a.get("value"):
            self._add(self._select, a["value"])
            return
        if tag == "textarea" and name:
            self._add(name, "Demo")
            return
        if tag != "input" or not name:
            return
        kind = a.get("type", "text")
        if kind in {"submit", "button", "file", "checkbox"}:
            return
        if kind in {"hidden", "radio"}:
            self._add(name, a.get("value", ""))
        elif kind == "date":
            self._add(name, (dt.datetime.now(tz=dt.UTC).date() - dt.timedelta(days=60)).isoformat())
        elif kind == "email":
            self._add(name, "demo@example.org")
        elif kind == "number":
            self._add(name, a.get("min") or "1")
        else:
            self._add(name, _sample(name))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None

    def _add(self, name: str, value: str) -> None:
        if name not in self._seen:
            self._seen.add(name)
            self.values.append((name, value))


def citizen_flow(port: int, city: str, service: str) -> dict[str, Any]:
    """Start an application as a citizen and fill step 1; the URLs, cookie and step body for wrk."""
    browser = Browser(port)
    service_path = f"/portal/{city}/dienst/{service}/"
    status, _location, page = browser.request("GET", service_path)
    if status != 200:
        raise RuntimeError(f"service page: {status}")
    status, location, _page = browser.request(
        "POST", f"/portal/{city}/dienst/{service}/starten/", {"csrfmiddlewaretoken": browser.csrf(page)}
    )
    if status in (302, 303) and "/anmelden/" in location:
        # The service needs a signed-in citizen: the demo identity service, as a citizen would use it.
        sign_in = urllib.parse.urlsplit(location).path
        status, _location, page = browser.request("GET", sign_in)
        status, location, page = browser.request(
            "POST",
            sign_in + "auswahl/",
            {"csrfmiddlewaretoken": browser.csrf(page), "method": "bundid", "provider": "demo"},
        )
        status, form_path, page = browser.follow(status, location, page)
        if status != 200 or "/demo/formular/" not in form_path:
            raise RuntimeError(f"demo sign-in form: {status} {form_path}")
        state = re.search(r'name="state" value="([^"]+)"', page)
        status, location, page = browser.request(
            "POST",
            form_path,
            {
                "csrfmiddlewaretoken": browser.csrf(page),
                "method": "bundid",
                "trust_level": "high",
                "given_name": "Erika",
                "family_name": "Mustermann",
                "state": state.group(1) if state else "",
            },
        )
        while status in (301, 302, 303) and "/schritt/" not in location:
            parts = urllib.parse.urlsplit(location)
            status, location, page = browser.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    if status not in (302, 303) or "/schritt/" not in location:
        raise RuntimeError(f"start: {status} {location}")
    step_path = urllib.parse.urlsplit(location).path
    status, _location, page = browser.request("GET", step_path)
    if status != 200:
        raise RuntimeError(f"step: {status}")
    first_field = page.index('name="f-')
    form = page[page.rindex("<form", 0, first_field) : page.index("</form>", first_field)]
    parser = FormFields()
    parser.feed(form)
    status, location, answer = browser.request("POST", step_path, parser.values)
    if status not in (302, 303):
        errors = re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', answer)[:5]
        raise RuntimeError(f"step POST was not accepted ({status}): {errors} with {parser.values}")
    return {
        "service": service_path,
        "step": step_path,
        "step_body": urllib.parse.urlencode(parser.values),
        "cookie": browser.cookie_header(),
    }


def sign_in(port: int, username: str, password: str) -> Browser:
    """A browser signed in as ``username`` through the sign-in form."""
    browser = Browser(port)
    status, _location, page = browser.request("GET", "/konto/anmelden/")
    status, _location, _page = browser.request(
        "POST",
        "/konto/anmelden/",
        {"csrfmiddlewaretoken": browser.csrf(page), "username": username, "password": password},
    )
    if status not in (302, 303):
        raise RuntimeError(f"sign-in of {username} failed: {status}")
    return browser


def staff_flow(port: int, city: str, password: str) -> dict[str, Any]:
    """Sign the city's caseworker in; the inbox, a case page (an open case of the city) and the cookie."""
    browser = sign_in(port, f"{city}-caseworker", password)
    inbox = f"/vorgaenge/{city}/"
    status, _location, page = browser.request("GET", inbox + "?tab=all")
    if status != 200:
        raise RuntimeError(f"inbox: {status}")
    case = re.search(rf'href="(/vorgaenge/{city}/[0-9a-f-]{{36}}/)"', page)
    if case is None:
        raise RuntimeError("no case in the inbox")
    return {"inbox": inbox, "case": case.group(1), "cookie": browser.cookie_header()}


def office_flow(port: int, city: str, password: str) -> dict[str, dict[str, str]]:
    """The analytics overview (the city's analyst) and the service library (the city's process designer)."""
    pages: dict[str, dict[str, str]] = {}
    for name, role, path in (("analytics", "analyst", f"/analytics/{city}/"), ("library", "designer", "/dienste/")):
        browser = sign_in(port, f"{city}-{role}", password)
        status, _location, _page = browser.request("GET", path)
        if status != 200:
            raise RuntimeError(f"{name}: {status}")
        pages[name] = {"path": path, "cookie": browser.cookie_header()}
    return pages


# --- Load and CPU --------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def web_pids(parent: int) -> list[int]:
    """The web server processes: the forked children of ``serve`` (or ``serve`` itself when it has none)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"serve" in cmdline:
            children.append(int(entry.name))
    return children or [parent]


def database_pids(env: dict[str, str]) -> list[int]:
    if "DATABASE_URL" not in env:
        return []
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def run_wrk(script: str, env: dict[str, str], url: str, connections: int, seconds: int, threads: int) -> dict[str, Any]:
    """Run wrk with the Lua ``script`` (its ``done`` writes JSON lines) and ``env``; the merged JSON."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "load.lua"
        path.write_text(script)
        done = subprocess.run(  # noqa: S603 - wrk from the system, fixed arguments
            [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(path), url],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    return result


def wrk(
    port: int, path: str, connections: int, seconds: int, cookie: str = "", method: str = "GET", body: str = ""
) -> dict[str, Any]:
    env = {"COOKIE": cookie, "METHOD": method, "BODY": body, "REFERER": f"http://127.0.0.1:{port}{path}"}
    threads = 2 if connections >= 2 else 1
    return run_wrk(WRK_SCRIPT, env, f"http://127.0.0.1:{port}{path}", connections, seconds, threads)


def cpu_during(pids: list[int], env: dict[str, str], load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``load`` (a wrk run) and add the common fields of a row: server and database CPU per
    request from ``/proc`` (the web processes ``pids``; on PostgreSQL the database's backends),
    errors and the load average."""
    databases = database_pids(env)
    before = {pid: _cpu_seconds(pid) for pid in [*pids, *databases]}
    result = load()
    # Per process, for the processes there before and after (a database backend that ended
    # in between would otherwise count negatively).
    spent = {pid: _cpu_seconds(pid) - start for pid, start in before.items() if Path(f"/proc/{pid}").exists()}
    server_cpu = sum(spent.get(pid, 0.0) for pid in pids)
    database_cpu = sum(spent.get(pid, 0.0) for pid in databases)
    requests = max(result.get("requests", 0), 1)
    return {
        **result,
        "requests_per_s": round(result.get("requests", 0) / result["seconds"], 1),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / requests, 2),
        "database_cpu_ms_per_request": round(database_cpu * 1000 / requests, 2) if databases else None,
        "errors": result.get("socket_errors", 0),
        "non_2xx_3xx": result.get("non2xx3xx", 0),
        "load_avg": Path("/proc/loadavg").read_text().split()[:3],
    }


def measure(
    name: str, port: int, pids: list[int], env: dict[str, str], connections: int, seconds: int, **request: str
) -> dict[str, Any]:
    load = cpu_during(pids, env, lambda: wrk(port, connections=connections, seconds=seconds, **request))
    keys = ("requests_per_s", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_request")
    rest = ("database_cpu_ms_per_request", "errors", "non_2xx_3xx", "load_avg")
    row = {"page": name, "connections": connections, **{key: load[key] for key in (*keys, *rest)}}
    print(json.dumps(row), flush=True)
    return row


@contextlib.contextmanager
def server(env: dict[str, str], args: argparse.Namespace) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = common.free_port()
    command = [common.PYTHON, str(common.ROOT / "manage.py"), "serve", "--port", str(port)]
    command += ["--threads", str(args.threads)]
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.no_worker:
        command.append("--no-worker")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603 - our manage.py
    try:
        common.wait_healthy(port)
        time.sleep(1)  # every web process has started
        yield port, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def markdown(rows: Sequence[dict[str, Any]], static: dict[int, float]) -> str:
    lines = [
        "| page | conn. | req/s | × static | p50 ms | p95 ms | p99 ms | server CPU ms/req | DB CPU ms/req | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row["requests_per_s"] / static[row["connections"]] if static.get(row["connections"]) else 0
        database = row["database_cpu_ms_per_request"]
        lines.append(
            f"| {row['page']} | {row['connections']} | {row['requests_per_s']:.0f} | {ratio:.2f} | {row['p50_ms']:.1f} "
            f"| {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['server_cpu_ms_per_request']:.2f} "
            f"| {'' if database is None else f'{database:.2f}'} | {' '.join(row['load_avg'])} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sqlite-dir", default="/tmp/dikom-bench-pages")  # noqa: S108 - scratch data
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="dikom_bench_pages")
    parser.add_argument("--reuse", action="store_true", help="keep a database prepared by an earlier run")
    parser.add_argument("--city", default="marburg")
    parser.add_argument("--service", default="hundesteuer-anmeldung")
    parser.add_argument("--open-cases", type=int, default=10000, help="open cases of the city (clones of a demo case)")
    parser.add_argument(
        "--usage-days",
        type=int,
        default=0,
        help="days of demo usage events for the analytics overview (fresh database)",
    )
    parser.add_argument("--processes", type=int, default=0, help="web server processes (0: serve's default)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument(
        "--page-cache-seconds",
        type=int,
        default=None,
        help="DIKOM_PAGE_CACHE_SECONDS of the server (default: the setting's default; 0: no page cache)",
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="8,32")
    parser.add_argument(
        "--pages",
        default="static,landing,portal,service,step_get,step_post,inbox,case,analytics,library",
        help="comma-separated",
    )
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    env = prepare(args)
    if args.page_cache_seconds is not None:
        env["DIKOM_PAGE_CACHE_SECONDS"] = str(args.page_cache_seconds)
    password = demo_password(env)
    print(f"# {common.machine()}; {common.database_label(env)}; pages of {args.city}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    static: dict[int, float] = {}
    with server(env, args) as (port, process):
        pids = web_pids(process.pid)
        print(f"# web server processes: {pids}; uptime: {os.popen('uptime').read().strip()}", file=sys.stderr)  # noqa: S605,S607
        citizen = citizen_flow(port, args.city, args.service)
        staff = staff_flow(port, args.city, password)
        pages: dict[str, dict[str, str]] = {
            "static": {"path": STATIC_FILE},
            "landing": {"path": "/"},
            "portal": {"path": f"/portal/{args.city}/"},
            "service": {"path": citizen["service"]},
            "step_get": {"path": citizen["step"], "cookie": citizen["cookie"]},
            "step_post": {
                "path": citizen["step"],
                "cookie": citizen["cookie"],
                "method": "POST",
                "body": citizen["step_body"],
            },
            "inbox": {"path": staff["inbox"], "cookie": staff["cookie"]},
            "case": {"path": staff["case"], "cookie": staff["cookie"]},
            **office_flow(port, args.city, password),
        }
        for connections in [int(c) for c in args.connections.split(",")]:
            for name in args.pages.split(","):
                row = measure(name, port, pids, env, connections, args.seconds, **pages[name])
                rows.append(row)
                if name == "static":
                    static[connections] = row["requests_per_s"]
    if args.markdown:
        print(markdown(rows, static))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
