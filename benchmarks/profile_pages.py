"""Where a page of ``bench_pages.py`` spends its CPU, measured inside one process (issue 21).

Method: the database ``bench_pages.py`` prepared (run it once first, or pass the same
``--database``/``--sqlite-dir``/``--db-name``; this script always reuses it). A server is
started only to go through the real flows of ``bench_pages.py`` (the citizen starts an
application and fills step 1, the caseworker signs in), which give the URLs and session
cookies. The server is then stopped, and each page is requested ``--requests`` times
through Django's WSGI handler in this process (every middleware, the view, the
templates; no network server, no test client), with the same cookies as ``wrk`` sends:

1. **CPU per request**: ``time.process_time()`` over the requests after ``--warmup``
   requests (process CPU, so other processes on a shared machine do not count; on
   PostgreSQL the database's own CPU is not included).
2. **SQL statements** of one warm request, on the request's connection (``--sql`` prints them).
3. With ``--profile``: cProfile over the same requests, the Python function calls per
   request (a measure the machine's load does not change) and the ``--top`` functions by
   cumulative time.

``--page-cache hit|miss|off`` chooses how the pages for visitors without a session (landing,
portal, service page) are answered: from the page cache, rendered and stored, or rendered
without it (``DIKOM_PAGE_CACHE_SECONDS=0``).

Example::

    python benchmarks/profile_pages.py --database sqlite --requests 300
    python benchmarks/profile_pages.py --database sqlite --pages portal --profile --top 40
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_pages
import common

PAGES = "landing,portal,service,step_get,step_post,inbox,case,analytics,library"
STAFF_PAGES = ("inbox", "case", "analytics", "library")


def _flows(env: dict[str, str], args: argparse.Namespace) -> tuple[int, dict[str, dict[str, str]]]:
    password = bench_pages.demo_password(env)
    server_args = argparse.Namespace(threads=4, processes=1, no_worker=True)
    with bench_pages.server(env, server_args) as (port, _process):
        citizen = bench_pages.citizen_flow(port, args.city, args.service)
        staff = bench_pages.staff_flow(port, args.city, password)
        office = bench_pages.office_flow(port, args.city, password)
    pages = {
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
        **office,
    }
    return port, pages


def _caller(handler: Any, port: int, page: dict[str, str], distinct: bool = False) -> Callable[[], int]:
    """One request of ``page`` through the WSGI handler; returns the status code. ``distinct``:
    each request with a query string of its own (``?n=1``, ``?n=2``, …), which the pages ignore
    but the page cache keys on, so that every request is a miss that is stored."""
    body = page.get("body", "").encode()
    method = page.get("method", "GET")
    counter = iter(range(1, 1 << 62))

    def call() -> int:
        status: list[str] = []
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": page["path"],
            "QUERY_STRING": f"n={next(counter)}" if distinct else "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": f"127.0.0.1:{port}",
            "HTTP_COOKIE": page.get("cookie", ""),
            "HTTP_ACCEPT": "text/html",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        if method == "POST":
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["HTTP_REFERER"] = f"http://127.0.0.1:{port}{page['path']}"
        response = handler(environ, lambda s, headers, exc_info=None: status.append(s))
        for _chunk in response:
            pass
        if hasattr(response, "close"):
            response.close()
        return int(status[0].split()[0])

    return call


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sqlite-dir", default="/tmp/dikom-bench-pages")  # noqa: S108 - scratch data
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="dikom_bench_pages")
    parser.add_argument("--city", default="marburg")
    parser.add_argument("--service", default="hundesteuer-anmeldung")
    parser.add_argument("--pages", default=PAGES, help="comma-separated")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="also run cProfile over the requests")
    parser.add_argument("--sql", action="store_true", help="print the SQL statements of one request")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--page-cache",
        choices=["hit", "miss", "off"],
        default="hit",
        help="the pages for visitors without a session (landing, portal, service): answered from the page "
        "cache (hit), rendered and stored each time (miss: a query string of its own per request), or "
        "rendered without the cache (off: DIKOM_PAGE_CACHE_SECONDS=0)",
    )
    args = parser.parse_args(argv)

    env = bench_pages.prepare(
        argparse.Namespace(
            database=args.database,
            sqlite_dir=args.sqlite_dir,
            pg_url=args.pg_url,
            db_name=args.db_name,
            reuse=True,
            city=args.city,
            open_cases=0,
        )
    )
    port, pages = _flows(env, args)
    os.environ.update(env)
    if args.page_cache == "off":
        os.environ["DIKOM_PAGE_CACHE_SECONDS"] = "0"
    if args.database != "postgresql":
        os.environ.pop("DATABASE_URL", None)

    sys.path.insert(0, str(common.ROOT / "src"))
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    handler = WSGIHandler()
    print(f"# {common.machine()}; {common.database_label(env)}", file=sys.stderr)
    for name in args.pages.split(","):
        call = _caller(handler, port, pages[name], distinct=args.page_cache == "miss" and "cookie" not in pages[name])
        count = args.requests if name not in STAFF_PAGES else max(args.requests // 10, 5)
        for _ in range(args.warmup):
            status = call()
        statements: list[str] = []

        def timed(execute: Any, sql: str, *rest: Any, statements: list[str] = statements) -> Any:
            started = time.perf_counter()
            try:
                return execute(sql, *rest)
            finally:
                statements.append(f"{(time.perf_counter() - started) * 1000:7.2f} ms  {sql}")

        with connection.execute_wrapper(timed):
            status = call()
        started = time.process_time()
        for _ in range(count):
            call()
        cpu_ms = (time.process_time() - started) * 1000 / count
        row = {
            "page": name,
            "status": status,
            "cpu_ms_per_request": round(cpu_ms, 2),
            "requests": count,
            "sql_statements": len(statements),
            "load_avg": Path("/proc/loadavg").read_text().split()[:3],
        }
        print(json.dumps(row), flush=True)
        if args.sql:
            for sql in statements:
                print("   ", sql[:300])
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(count):
                call()
            profile.disable()
            out = io.StringIO()
            stats = pstats.Stats(profile, stream=out)
            calls = stats.total_calls  # type: ignore[attr-defined]
            print(json.dumps({"page": name, "python_calls_per_request": round(calls / count, 1)}), flush=True)
            stats.sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
            if os.environ.get("PROFILE_TOTTIME"):
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
                print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
