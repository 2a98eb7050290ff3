"""Staff pages as staff use them: many signed-in users, each waiting between clicks (issue 21, item 4).

``bench_pages.py`` loads a page with ``wrk`` as fast as the server answers (a closed loop
without pauses): at 8 connections that is eight people clicking again the moment the page
arrives, a saturation test. Caseworkers read a case before the next click. This script keeps
``bench_pages.py``'s database, server and sign-in flows and changes only the load:

- ``--users`` connections, each one signed-in staff member (the city's caseworker for the
  inbox and the case page, its analyst for the analytics overview, its process designer for
  the library), each waiting a random **think time** between receiving a page and asking for
  the next one (exponentially distributed, mean ``--think`` seconds, wrk's ``delay()``; the
  wait is not part of the measured latency, which runs from sending the request to the last
  byte of the answer);
- for each page ``--seconds`` long, then the next page; and at the end all four pages at
  once (each user asks for the inbox, a case, the analytics overview or the library in
  turn), which is the mix the machine sees during a working day.

Reported per row: requests/s, p50/p95/p99 latency, server and database CPU per request
(``/proc``), the load average. Example (after ``bench_pages.py`` prepared the database)::

    python benchmarks/bench_staff_users.py --database postgresql --db-name dikom_bench_pages \
        --users 20,60 --think 5 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_pages

PAGES = ("inbox", "case", "analytics", "library")

# One connection = one user. ``PATHS``/``COOKIES`` list the pages of a run (one page, or the four
# in turn); each connection starts at its own offset so that the mix is even from the start.
USERS_SCRIPT = r"""
local paths = {}
for p in string.gmatch(os.getenv("PATHS"), "[^|]+") do table.insert(paths, p) end
local cookies = {}
for c in string.gmatch(os.getenv("COOKIES"), "[^|]+") do table.insert(cookies, c) end
local think_ms = tonumber(os.getenv("THINK_MS"))
local counter = 0
local position = 0
local statuses = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
  position = math.random(#paths)
end

function request()
  position = position % #paths + 1
  return wrk.format("GET", paths[position], {["Cookie"] = cookies[position]})
end

function delay()
  return math.floor(-math.log(1 - math.random()) * think_ms)
end

response = function(status, headers, body)
  if status >= 400 then
    io.stderr:write("status " .. status .. "\n")
  end
end

done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "seconds": %.3f, "socket_errors": %d, "non2xx3xx": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def run_users(port: int, pages: Sequence[dict[str, str]], users: int, think: float, seconds: int) -> dict[str, Any]:
    env = {
        "PATHS": "|".join(page["path"] for page in pages),
        "COOKIES": "|".join(page.get("cookie", "") for page in pages),
        "THINK_MS": str(think * 1000),
    }
    # One wrk thread per 50 users, at most 4; every thread holds users // threads connections.
    threads = max(1, min(4, users // 50 or 1))
    return bench_pages.run_wrk(USERS_SCRIPT, env, f"http://127.0.0.1:{port}{pages[0]['path']}", users, seconds, threads)


def measure(
    name: str,
    port: int,
    pids: list[int],
    env: dict[str, str],
    pages: Sequence[dict[str, str]],
    args: argparse.Namespace,
    users: int,
) -> dict[str, Any]:
    load = bench_pages.cpu_during(pids, env, lambda: run_users(port, pages, users, args.think, args.seconds))
    keys = ("requests_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms", "server_cpu_ms_per_request")
    rest = ("database_cpu_ms_per_request", "errors", "non_2xx_3xx", "load_avg")
    row = {
        "page": name,
        "users": users,
        "think_s": args.think,
        "requests": load.get("requests", 0),
        **{key: load[key] for key in (*keys, *rest)},
    }
    print(json.dumps(row), flush=True)
    return row


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| page | users | think s | requests | req/s | p50 ms | p95 ms | p99 ms | server CPU ms/req | DB CPU ms/req | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        database = row["database_cpu_ms_per_request"]
        lines.append(
            f"| {row['page']} | {row['users']} | {row['think_s']:g} | {row['requests']} | {row['requests_per_s']:.1f} "
            f"| {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} | {row['server_cpu_ms_per_request']:.2f} "
            f"| {'' if database is None else f'{database:.2f}'} | {' '.join(row['load_avg'])} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--sqlite-dir", default="/tmp/dikom-bench-pages")  # noqa: S108 - scratch data
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="dikom_bench_pages")
    parser.add_argument("--reuse", action="store_true", help="keep a database prepared by an earlier run")
    parser.add_argument("--city", default="marburg")
    parser.add_argument("--open-cases", type=int, default=10000)
    parser.add_argument("--usage-days", type=int, default=0)
    parser.add_argument("--processes", type=int, default=0, help="web server processes (0: serve's default)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--users", default="20,60", help="comma-separated numbers of simultaneous users")
    parser.add_argument("--think", type=float, default=5.0, help="mean think time between clicks, seconds")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--pages", default=",".join([*PAGES, "mix"]), help=f"of {', '.join(PAGES)}, mix")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    env = bench_pages.prepare(args)
    password = bench_pages.demo_password(env)
    rows = []
    with bench_pages.server(env, args) as (port, process):
        pids = bench_pages.web_pids(process.pid)
        staff = bench_pages.staff_flow(port, args.city, password)
        pages: dict[str, dict[str, str]] = {
            "inbox": {"path": staff["inbox"], "cookie": staff["cookie"]},
            "case": {"path": staff["case"], "cookie": staff["cookie"]},
            **bench_pages.office_flow(port, args.city, password),
        }
        for users in [int(u) for u in args.users.split(",")]:
            for name in args.pages.split(","):
                chosen = [pages[p] for p in PAGES] if name == "mix" else [pages[name]]
                rows.append(measure(name, port, pids, env, chosen, args, users))
    if args.markdown:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
