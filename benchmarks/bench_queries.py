"""Dashboard questions answered from rollups vs. a GROUP BY over raw events (p50/p95).

Method: on a database loaded with ``generate_events.py pg-copy`` (and rollups
built with ``manage.py analytics_rebuild``), each question is asked
``--repeat`` times (after one warm-up) and its latency recorded:

1. **overview, rollups**: the 30-day figures of every service of one city
   (visits, starts, completions, aborts, feedback, rating sum/count) — one
   aggregate query over ``ServiceDailyStats``;
2. **service detail, rollups**: ``dikom.analytics.metrics.service_summary`` of
   one service over 30 days (every figure: funnel, mixes, completion time);
3. **service detail, HTTP**: ``GET /api/v1/analytics/summary`` through a real
   waitress process on loopback (API key with ``analytics:read``);
4. **overview, raw GROUP BY**: the same overview computed from raw events
   (``COUNT(DISTINCT visit)`` and ``COUNT(*) FILTER`` per service), what
   Umami-style tools do;
5. **service detail, raw**: the core's per-day rollup computation
   (``rollups.compute_daily_stats``) for the 30 days, i.e. the same figures
   from raw events.

The raw questions are capped at ``--raw-repeat`` runs (they are slow).

Example::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dikom_bench python benchmarks/bench_queries.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import generate_events as gen


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return {
        "runs": repeat,
        "p50_ms": round(common.percentile(samples, 50) * 1000, 1),
        "p95_ms": round(common.percentile(samples, 95) * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--city", default="06413000", help="AGS (default Offenbach).")
    parser.add_argument("--service", default="wohnsitz-anmelden", help="service key of the detail question.")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--raw-repeat", type=int, default=5)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-pages", action="store_true", help="skip the dashboard pages.")
    args = parser.parse_args(argv)

    env = common.bench_env(DIKOM_ALLOWED_HOSTS="testserver,127.0.0.1,localhost")
    os.environ.update(env)
    common.manage(env, "createcachetable")  # the rate limiter's cache (database cache by default)
    gen.setup_django()
    from django.db import connection
    from django.db.models import Sum

    from dikom.accounts.actions import create_api_key
    from dikom.analytics.metrics import service_summary
    from dikom.analytics.models import Service, ServiceDailyStats, UsageEvent
    from dikom.analytics.rollups import compute_daily_stats, day_bounds
    from dikom.municipalities.models import Municipality

    city = Municipality.objects.get(ags=args.city)
    service = Service.objects.get(municipality=city, external_key=args.service)
    until = ServiceDailyStats.objects.filter(municipality=city).latest("day").day
    since = until - timedelta(days=29)
    raw_count = UsageEvent.objects.count()
    rollup_count = ServiceDailyStats.objects.count()
    print(f"machine: {common.machine()}")
    print(f"database: {common.database_label(env)} ({connection.vendor})")
    print(f"data: {raw_count:,} raw events, {rollup_count:,} rollup rows; question: {city.name}, {since}..{until}")

    def overview_rollups() -> list[dict[str, Any]]:
        return list(
            ServiceDailyStats.objects.filter(municipality=city, day__gte=since, day__lte=until)
            .values("service_id")
            .annotate(
                visits=Sum("visits"),
                starts=Sum("starts"),
                completions=Sum("completions"),
                aborts=Sum("aborts"),
                feedback=Sum("feedback_count"),
                rating_sum=Sum("rating_sum"),
                rating_count=Sum("rating_count"),
            )
            .order_by()
        )

    def detail_rollups() -> dict[str, Any]:
        return service_summary(municipality_id=city.pk, service_id=service.pk, since=since, until=until)

    start, end = day_bounds(since)[0], day_bounds(until)[1]
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    # Visits per day are distinct visit keys of that day: the raw question groups by local day too.
    day_expr = (
        "(occurred_at AT TIME ZONE 'Europe/Berlin')::date"
        if connection.vendor == "postgresql"
        else "date(occurred_at, 'localtime')"
    )
    raw_sql = f"""
        SELECT service_id, SUM(visits), SUM(starts), SUM(completions), SUM(aborts), SUM(feedback),
               SUM(rating_sum), SUM(rating_count)
        FROM (
            SELECT service_id, {day_expr} AS day,
                   COUNT(DISTINCT visit) AS visits,
                   SUM(CASE WHEN type = 'service_started' THEN 1 ELSE 0 END) AS starts,
                   SUM(CASE WHEN type = 'submitted' THEN 1 ELSE 0 END) AS completions,
                   SUM(CASE WHEN type = 'aborted' THEN 1 ELSE 0 END) AS aborts,
                   SUM(CASE WHEN type = 'feedback' THEN 1 ELSE 0 END) AS feedback,
                   SUM(rating) AS rating_sum, COUNT(rating) AS rating_count
            FROM {table}
            WHERE municipality_id = %s AND occurred_at >= %s AND occurred_at < %s
            GROUP BY service_id, day
        ) per_day GROUP BY service_id
    """  # noqa: S608 - fixed names

    def overview_raw() -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(raw_sql, [city.pk, start, end])
            return cursor.fetchall()

    def detail_raw() -> None:
        day = since
        while day <= until:
            compute_daily_stats(city.pk, day)
            day += timedelta(days=1)

    results: dict[str, Any] = {
        "overview (30 days, all services), rollups": timed(overview_rollups, args.repeat),
        "service detail (30 days), rollups: service_summary": timed(detail_rollups, args.repeat),
    }
    if not args.no_http:
        key = create_api_key(municipality=city, name="bench-read", scopes=["analytics:read"])
        with common.servers(env, 1, 4) as ports:
            conn = http.client.HTTPConnection("127.0.0.1", ports[0], timeout=60)
            path = f"/api/v1/analytics/summary?service={service.uuid}&from={since}&to={until}"

            def detail_http() -> None:
                conn.request("GET", path, headers={"Authorization": f"Api-Key {key.token}"})
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(body[:300])

            results["service detail (30 days), HTTP GET /api/v1/analytics/summary"] = timed(detail_http, args.repeat)
    if not args.no_pages:
        # The dashboard pages themselves, as the city's analyst gets them from the platform's
        # server (waitress, `manage.py serve`): session, permission checks, rollup queries,
        # template with charts and tables.
        from django.conf import settings
        from django.test import Client

        from dikom.accounts.models import User

        client = Client()
        client.force_login(User.objects.get(username=f"{city.slug}-analyst"))
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        query = f"?period=custom&since={since}&until={until}"
        with common.servers(env, 1, 4) as ports:
            conn = http.client.HTTPConnection("127.0.0.1", ports[0], timeout=60)

            def page(url: str) -> Callable[[], None]:
                def get() -> None:
                    conn.request("GET", url, headers={"Cookie": cookie})
                    response = conn.getresponse()
                    body = response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{url}: {response.status} {body[:200]!r}")

                return get

            results["overview page /analytics/<city>/ (30 days, all services), HTTP"] = timed(
                page(f"/analytics/{city.slug}/{query}"), args.repeat
            )
            results["service detail page /analytics/<city>/dienste/<service>/ (30 days), HTTP"] = timed(
                page(f"/analytics/{city.slug}/dienste/{service.uuid}/{query}"), args.repeat
            )
    results["overview (30 days, all services), raw GROUP BY"] = timed(overview_raw, args.raw_repeat)
    results["service detail (30 days), raw: compute_daily_stats × 30 days (computes every service of the city)"] = (
        timed(detail_raw, args.raw_repeat)
    )
    for name, figures in results.items():
        print(json.dumps({"question": name, **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
