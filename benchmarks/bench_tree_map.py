"""The street tree map with 100 000+ trees in chromium, and the latest state of 10 000 trees (issue 17).

What it does, in one run:

1. Prepares a database (PostgreSQL ``--db-name``, or SQLite in ``--sqlite-dir``):
   ``migrate``, ``collectstatic``, one city with ``--trees`` generated street trees
   (spread over about 10 x 8 km around Fulda, random species, planting years and
   positions), 30 days of rain, and ``--probe-trees`` of them with a SensorThings
   Thing and a soil probe that has 48 readings. ``--reuse`` keeps a prepared database.
2. Stores every tree's watering need with the periodic job's code
   (``needs_refresh.refresh_city``) and times it.
3. "Latest state of 10 000 trees": times (a) reading the stored need of 10 000 trees
   (one query, as maps and lists do) and (b) computing it afresh with ``need.needs_for``
   (rain, waterings, probes and their newest readings: a fixed number of queries),
   each ``--repeat`` times, reporting the median and p95.
4. Starts ``manage.py serve`` (DEBUG off) and opens ``/stadt/<city>/baeume/`` in Debian's
   chromium through Playwright, ``--runs`` times, each in a fresh browser context (cold
   HTTP cache), phone and desktop size. "First view interactive" is the time from the
   navigation's start (``performance.timeOrigin``) until the Leaflet map has drawn
   clusters (``#tree-map[data-loaded]``): HTML, style sheets, Leaflet and drawing the
   whole city's clusters that the page brings along (the ``karte.json`` answer for the
   exact view follows; its duration is reported separately). Also reported: time to first byte of
   the page, DOMContentLoaded, the ``karte.json`` request's duration and size, and the
   time from a click on "+" (zoom in) until the new clusters are drawn.

Prints JSON lines; ``--markdown`` also prints tables.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

CHROMIUM = "/usr/bin/chromium"
CENTRE = (9.6775, 50.5558)  # Fulda
SPECIES = ["Winterlinde", "Spitzahorn", "Stieleiche", "Platane", "Hainbuche", "Gingko", "Rosskastanie", "Esche"]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", type=int, default=100_000)
    parser.add_argument("--probe-trees", type=int, default=500)
    parser.add_argument("--db-name", default="", help="PostgreSQL database (on DATABASE_URL's server)")
    parser.add_argument("--sqlite-dir", default="", help="SQLite data directory instead of PostgreSQL")
    parser.add_argument("--reuse", action="store_true", help="keep a database prepared before")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--markdown", action="store_true")
    return parser.parse_args()


def environment(args: argparse.Namespace) -> dict[str, str]:
    extra: dict[str, str] = {}
    if args.sqlite_dir:
        extra["DIKOM_DATA_DIR"] = args.sqlite_dir
        os.environ.pop("DATABASE_URL", None)
    else:
        server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dikom").rsplit("/", 1)[0]
        extra["DATABASE_URL"] = f"{server}/{args.db_name or 'dikom_bench_trees'}"
        extra["DIKOM_DATA_DIR"] = args.sqlite_dir or str(common.ROOT / "var" / "bench-trees")
    env = common.bench_env(**extra)
    env.setdefault("DIKOM_REQUIRE_2FA_FOR_STAFF", "false")
    return env


def prepare(args: argparse.Namespace, env: dict[str, str]) -> None:
    if "DATABASE_URL" in env and not args.reuse:
        name = env["DATABASE_URL"].rsplit("/", 1)[-1]
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)  # noqa: S603, S607
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)  # noqa: S603, S607
    Path(env["DIKOM_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    common.manage(env, "migrate", "--noinput")
    common.manage(env, "collectstatic", "--noinput")


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(common.ROOT / "src"))
    import django

    django.setup()


def load_trees(args: argparse.Namespace) -> Any:
    import datetime as dt

    from django.utils import timezone

    from dikom.municipalities.models import District, Municipality
    from dikom.sensors import service as sensors
    from dikom.smartcity.models import RainDay, Tree

    district, _ = District.objects.get_or_create(key="06631", defaults={"name": "Landkreis Fulda"})
    city, _ = Municipality.objects.get_or_create(
        slug="baumstadt", defaults={"name": "Baumstadt", "ags": "06631999", "population": 70000, "district": district}
    )
    have = Tree.objects.filter(municipality=city).count()
    if have >= args.trees:
        return city
    rng = random.Random(17)
    today = timezone.localdate()
    start = time.perf_counter()
    batch = []
    for n in range(have, args.trees):
        batch.append(
            Tree(
                municipality=city,
                number=f"BM-{n:07d}",
                species=rng.choice(SPECIES),
                planting_year=rng.randint(1950, today.year),
                street=f"Straße {n % 900}",
                longitude=round(CENTRE[0] + rng.uniform(-0.07, 0.07), 6),
                latitude=round(CENTRE[1] + rng.uniform(-0.036, 0.036), 6),
            )
        )
        if len(batch) == 5000:
            Tree.objects.bulk_create(batch)
            batch = []
    Tree.objects.bulk_create(batch)
    RainDay.objects.bulk_create(
        [
            RainDay(municipality=city, day=today - dt.timedelta(days=d), millimetres=rng.choice([0, 0, 1.5, 6]))
            for d in range(30)
        ],
        ignore_conflicts=True,
    )
    now = timezone.now()
    for tree in Tree.objects.filter(municipality=city).order_by("pk")[: args.probe_trees]:
        thing = sensors.create_thing(
            {
                "name": f"Sonde {tree.number}",
                "description": "benchmark",
                "Locations": [
                    {
                        "name": "Standort",
                        "description": "benchmark",
                        "encodingType": "application/geo+json",
                        "location": {"type": "Point", "coordinates": [tree.longitude, tree.latitude]},
                    }
                ],
                "Datastreams": [
                    {
                        "name": "Saugspannung 30 cm",
                        "description": "benchmark",
                        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                        "unitOfMeasurement": {"name": "Centibar", "symbol": "cbar", "definition": "ucum:cbar"},
                        "Sensor": {
                            "name": "Watermark",
                            "description": "b",
                            "encodingType": "text/plain",
                            "metadata": "b",
                        },
                        "ObservedProperty": {
                            "name": "Bodenwasserspannung",
                            "definition": "soil-water-tension",
                            "description": "kPa",
                        },
                    }
                ],
            },
            city,
        )
        datastream = thing.datastreams.get()
        rows = [[(now - dt.timedelta(hours=h)).isoformat(), rng.uniform(10, 110)] for h in range(48)]
        sensors.create_observations(
            [{"Datastream": {"@iot.id": datastream.pk}, "components": ["phenomenonTime", "result"], "dataArray": rows}],
            city,
        )
        Tree.objects.filter(pk=tree.pk).update(sensor_thing_id=thing.pk)
    print(
        json.dumps(
            {
                "step": "load",
                "trees": args.trees,
                "probe_trees": args.probe_trees,
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
    )
    return city


def latest_state(args: argparse.Namespace, city: Any) -> list[dict[str, Any]]:
    from dikom.smartcity.models import Tree
    from dikom.smartcity.need import NEED_FIELDS, needs_for
    from dikom.smartcity.needs_refresh import refresh_city

    start = time.perf_counter()
    refreshed = refresh_city(city)
    rows = [{"step": "refresh_city", "trees": refreshed.trees, "seconds": round(time.perf_counter() - start, 2)}]
    # 10 000 trees including the probe trees (the first by id).
    ids = list(Tree.objects.filter(municipality=city).order_by("pk").values_list("pk", flat=True)[:10_000])
    stored, fresh = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        levels = list(
            Tree.objects.filter(municipality=city, pk__lte=ids[-1]).order_by("pk").values_list("pk", "need_level")
        )
        stored.append((time.perf_counter() - t0) * 1000)
        assert len(levels) == len(ids)
        trees = list(Tree.objects.filter(pk__in=ids).only(*NEED_FIELDS))
        t0 = time.perf_counter()
        needs = needs_for(trees)
        fresh.append((time.perf_counter() - t0) * 1000)
        assert len(needs) == len(ids)
    for name, values in (("stored need, 10 000 trees", stored), ("needs_for, 10 000 trees", fresh)):
        rows.append(
            {
                "step": "latest_state",
                "what": name,
                "median_ms": round(statistics.median(values), 1),
                "p95_ms": round(common.percentile(values, 95), 1),
            }
        )
    return rows


def server_times(args: argparse.Namespace, port: int) -> list[dict[str, Any]]:
    """The server's part alone: the list page and a whole-city karte.json over plain HTTP, sequentially."""
    import http.client

    west, east = CENTRE[0] - 0.08, CENTRE[0] + 0.08
    south, north = CENTRE[1] - 0.04, CENTRE[1] + 0.04
    paths = {
        "list page /baeume/": "/stadt/baumstadt/baeume/",
        "karte.json, whole city, zoom 13": f"/stadt/baumstadt/baeume/karte.json?bbox={west},{south},{east},{north}&zoom=13",
        "karte.json, street, zoom 18": "/stadt/baumstadt/baeume/karte.json?bbox=9.676,50.555,9.679,50.557&zoom=18",
        "static leaflet.js (machine's floor)": "",
    }
    rows = []
    for name, path in paths.items():
        if not path:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", "/stadt/baumstadt/baeume/")
            body = conn.getresponse().read().decode()
            found = re.search(r'src="(/static/dikom/vendor/leaflet/leaflet[^"]*\.js)"', body)
            assert found, "no leaflet script on the page"
            path = found.group(1)
        times = []
        size = 0
        for _ in range(args.repeat):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            t0 = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            size = len(response.read())
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status == 200, (path, response.status)
        rows.append(
            {
                "step": "server",
                "what": name,
                "median_ms": round(statistics.median(times), 1),
                "p95_ms": round(common.percentile(times, 95), 1),
                "bytes": size,
            }
        )
    return rows


def browser_runs(args: argparse.Namespace, port: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{port}/stadt/baumstadt/baeume/"
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        for viewport_name, viewport in (
            ("phone 390x844", {"width": 390, "height": 844}),
            ("desktop 1280x900", {"width": 1280, "height": 900}),
        ):
            for run in range(args.runs):
                context = browser.new_context(viewport=viewport, locale="de-DE")
                page = context.new_page()
                page.goto(url, wait_until="commit")
                page.wait_for_selector("#tree-map[data-loaded]", timeout=60_000)
                timing = page.evaluate(
                    """() => {
                        const nav = performance.getEntriesByType("navigation")[0];
                        const data = performance.getEntriesByType("resource").filter((r) => r.name.includes("karte.json"));
                        const last = data[data.length - 1];
                        return {interactive: performance.now(), ttfb: nav.responseStart, dcl: nav.domContentLoadedEventEnd,
                                data_ms: last ? last.responseEnd - last.requestStart : null,
                                data_bytes: last ? last.transferSize : null,
                                drawn: document.querySelectorAll(".leaflet-overlay-pane canvas").length};
                    }"""
                )
                page.wait_for_load_state("networkidle")  # the view's own karte.json answer is drawn too
                before = page.get_attribute("#tree-map", "data-loaded")
                t0 = time.perf_counter()
                page.click(".leaflet-control-zoom-in")
                page.wait_for_function(
                    "(before) => document.querySelector('#tree-map').dataset.loaded !== before",
                    arg=before,
                    timeout=30_000,
                )
                zoom_ms = (time.perf_counter() - t0) * 1000
                rows.append(
                    {
                        "step": "browser",
                        "viewport": viewport_name,
                        "run": run + 1,
                        "first_view_interactive_ms": round(timing["interactive"]),
                        "ttfb_ms": round(timing["ttfb"]),
                        "dom_content_loaded_ms": round(timing["dcl"]),
                        "karte_json_ms": round(timing["data_ms"] or 0),
                        "karte_json_bytes": timing["data_bytes"],
                        "zoom_in_redraw_ms": round(zoom_ms),
                    }
                )
                context.close()
        browser.close()
    return rows


def main() -> None:
    args = parse()
    env = environment(args)
    print(json.dumps({"machine": common.machine(), "database": common.database_label(env)}))
    if not args.reuse:
        prepare(args, env)
    django_setup(env)
    city = load_trees(args)
    rows = latest_state(args, city)
    for row in rows:
        print(json.dumps(row))
    with common.servers(env, 1, 4) as ports:
        served = server_times(args, ports[0])
        for row in served:
            print(json.dumps(row))
        browser = browser_runs(args, ports[0])
    for row in browser:
        print(json.dumps(row))
    if args.markdown:
        print("\n| what | median | p95 |\n|---|---|---|")
        for row in rows:
            if row["step"] == "latest_state":
                print(f"| {row['what']} | {row['median_ms']} ms | {row['p95_ms']} ms |")
        print(
            "\n| viewport | first view interactive (median / max) | TTFB | DOMContentLoaded | karte.json | zoom-in redraw |"
        )
        print("|---|---|---|---|---|---|")
        for name in sorted({r["viewport"] for r in browser}):
            mine = [r for r in browser if r["viewport"] == name]

            def med(key: str, rows_: list[dict[str, Any]] = mine) -> float:
                return statistics.median(r[key] for r in rows_)

            print(
                f"| {name} | {med('first_view_interactive_ms'):.0f} / {max(r['first_view_interactive_ms'] for r in mine)} ms "
                f"| {med('ttfb_ms'):.0f} ms | {med('dom_content_loaded_ms'):.0f} ms "
                f"| {med('karte_json_ms'):.0f} ms, {med('karte_json_bytes'):.0f} B | {med('zoom_in_redraw_ms'):.0f} ms |"
            )


if __name__ == "__main__":
    main()
