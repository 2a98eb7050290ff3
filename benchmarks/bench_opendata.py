"""Open data portal at GovData's order of size: search, dataset page and catalogue paging latency.

Method: a fresh SQLite database in a temporary data dir (or, with
``--database-url``, a PostgreSQL database that is migrated; with ``--data-dir``
a SQLite database that is kept; a database that already holds datasets is reused)
gets ``--datasets`` generated datasets (default 60 000) spread over nine
organisations, each with 3–6 keywords from a German vocabulary, 1–3 EU themes,
one of four licences, one of five update frequencies and 1–3 distributions;
titles and descriptions are composed from German words (Baum, Bäume,
Baumkataster, Straße, Parkhaus, Haushalt …) so that searches match realistic
shares of the catalogue. They are written with ``bulk_create`` (the search text
computed by ``search.index_text`` exactly as the actions do), not timed.

Then, in this process, through Django's test client (the whole request path:
URL routing, views, templates/JSON, no network), each query is run
``--repeat`` times after one warm-up and p50/p95 are printed:

- ``package_search`` (CKAN API) with all six facets: one word, two words, a
  facet filter (``fq=organization:…``), an empty query sorted by
  ``metadata_modified desc``;
- the search page ``/opendata/`` with the same queries (facets, 20 per page);
- paging ``package_search`` to ``start`` 0, 10 000, 50 000 (rows 100);
- the dataset page of random datasets;
- the DCAT catalogue ``/catalog.ttl`` first, middle and last page.

Example::

    .venv/bin/python benchmarks/bench_opendata.py --datasets 60000 --repeat 20

The machine is shared: the load average is printed with the figures, and each
query's CPU time in this process (``cpu_p50_ms``/``cpu_p95_ms``: the view, the
index, SQLite itself — but not the PostgreSQL server's work) next to its wall time.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import common

WORDS = [
    "Baum",
    "Bäume",
    "Baumkataster",
    "Straße",
    "Straßenverzeichnis",
    "Parkhaus",
    "Parkplätze",
    "Haushalt",
    "Haushaltsplan",
    "Wahl",
    "Wahlergebnisse",
    "Bevölkerung",
    "Einwohner",
    "Schule",
    "Kindertagesstätte",
    "Spielplatz",
    "Radweg",
    "Luftqualität",
    "Lärm",
    "Wasser",
    "Brunnen",
    "Friedhof",
    "Denkmal",
    "Bebauungsplan",
    "Haltestelle",
    "Fahrplan",
    "Abfall",
    "Wertstoffhof",
    "Veranstaltung",
    "Sitzung",
]
KEYWORDS = ["Umwelt", "Verkehr", "Finanzen", "Bildung", "Gesundheit", "Kultur", "Stadtgrün", "Mobilität", "Soziales"]
THEMES = ["ENVI", "TRAN", "ECON", "EDUC", "HEAL", "GOVE", "SOCI", "REGI"]
LICENCES = ["dl-by-de/2.0", "dl-zero-de/2.0", "cc-by/4.0", "cc-zero"]
FREQUENCIES = ["DAILY", "WEEKLY", "MONTHLY", "ANNUAL", "IRREG"]
FORMATS = ["CSV", "JSON", "XLSX", "GEOJSON", "PDF"]
CITIES = [
    ("fulda", "Fulda", "06631009"),
    ("giessen", "Gießen", "06531005"),
    ("limburg", "Limburg a. d. Lahn", "06533009"),
    ("marburg", "Marburg", "06534014"),
    ("offenbach", "Offenbach am Main", "06413000"),
    ("wetzlar", "Wetzlar", "06532023"),
    ("frankfurt", "Frankfurt am Main", "06412000"),
    ("kassel", "Kassel", "06611000"),
    ("rtk", "Rheingau-Taunus-Kreis", "06439000"),
]


def setup_django(database_url: str | None, data_dir: str | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    os.environ["DIKOM_DEBUG"] = "false"
    os.environ["DIKOM_LOG_LEVEL"] = "WARNING"
    os.environ["DIKOM_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    elif data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        os.environ["DIKOM_DATA_DIR"] = data_dir
    else:
        data_dir = tempfile.mkdtemp(prefix="dikom-bench-opendata-")
        os.environ["DIKOM_DATA_DIR"] = data_dir
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # No collectstatic for a benchmark: static files unhashed, as in the tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    call_command("migrate", verbosity=0)


def generate(count: int, seed: int) -> list[str]:
    """``count`` datasets with bulk_create; returns their names."""
    from datetime import UTC, datetime, timedelta

    from django.db import transaction

    from dikom.municipalities.models import District, Municipality
    from dikom.opendata import search
    from dikom.opendata.models import Dataset, Organization, Resource, Tag

    rng = random.Random(seed)
    organizations = []
    for slug, name, ags in CITIES:
        district, _ = District.objects.get_or_create(key=ags[:5], defaults={"name": f"Kreis {ags[:5]}"})
        municipality, _ = Municipality.objects.get_or_create(
            ags=ags, defaults={"name": name, "slug": slug, "district": district, "population": 50_000}
        )
        organization, _ = Organization.objects.get_or_create(
            name=slug, defaults={"title": name, "municipality": municipality}
        )
        organizations.append(organization)
    tags = {name: Tag.objects.get_or_create(name=name)[0] for name in KEYWORDS + WORDS[:10]}
    start = datetime(2020, 1, 1, tzinfo=UTC)
    names: list[str] = []
    through = Dataset.tags.through
    batch = 2000
    with transaction.atomic():
        for offset in range(0, count, batch):
            datasets = []
            chosen_tags = []
            for number in range(offset, min(count, offset + batch)):
                organization = organizations[number % len(organizations)]
                words = rng.sample(WORDS, 3)
                title = f"{words[0]} {words[1]} {organization.title} {2010 + number % 15}"
                notes = f"{' '.join(rng.sample(WORDS, 8))}. Daten der Stadt {organization.title}, Nr. {number}."
                keywords = rng.sample(list(tags), rng.randint(3, 6))
                when = start + timedelta(minutes=number * 37 % (6 * 365 * 24 * 60))
                name = f"ds-{number:06d}-" + re.sub(r"[^a-z0-9]+", "-", search.fold(words[0]))
                datasets.append(
                    Dataset(
                        name=name,
                        title=title,
                        notes=notes,
                        organization=organization,
                        state=Dataset.State.PUBLISHED,
                        themes=" " + " ".join(rng.sample(THEMES, rng.randint(1, 3))) + " ",
                        license_id=rng.choice(LICENCES),
                        frequency=rng.choice(FREQUENCIES),
                        spatial_ags=organization.municipality.ags,
                        issued=when,
                        search_text=search.index_text(title, name, " ".join(keywords), notes, organization.title),
                    )
                )
                chosen_tags.append(keywords)
                names.append(name)
            created = Dataset.objects.bulk_create(datasets)
            if created[0].pk is None:  # SQLite before 3.35 does not return ids
                created = list(Dataset.objects.filter(name__in=[d.name for d in datasets]).order_by("pk"))
            resources, links = [], []
            for dataset, keywords in zip(created, chosen_tags, strict=True):
                for position in range(rng.randint(1, 3)):
                    file_format = rng.choice(FORMATS)
                    resources.append(
                        Resource(
                            dataset=dataset,
                            position=position,
                            name=f"{dataset.title} ({file_format})",
                            url=f"https://daten.example/{dataset.name}/{position}.{file_format.lower()}",
                            format=file_format,
                        )
                    )
                links.extend(through(dataset_id=dataset.pk, tag_id=tags[k].pk) for k in keywords)
            Resource.objects.bulk_create(resources)
            through.objects.bulk_create(links)
            # Spread the modification times (auto_now set them all to now).
            for dataset in created:
                stamp = start + timedelta(minutes=dataset.pk * 53 % (6 * 365 * 24 * 60))
                dataset.updated_at = stamp
                dataset.created_at = stamp
            Dataset.objects.bulk_update(created, ["updated_at", "created_at"])
    # bulk_create bypasses actions.reindex: fill the search index as `manage.py opendata_reindex` does.
    from dikom.opendata import actions

    actions.rebuild_search_terms()
    return names


def timed(label: str, call: Callable[[], object], repeat: int) -> dict[str, object]:
    call()  # warm-up
    samples = []
    cpu = []  # this process's CPU time: what the query costs without waiting for a CPU on a loaded machine
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        call()
        samples.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    result = {
        "query": label,
        "p50_ms": round(common.percentile(samples, 50), 1),
        "p95_ms": round(common.percentile(samples, 95), 1),
        "cpu_p50_ms": round(common.percentile(cpu, 50), 1),
        "cpu_p95_ms": round(common.percentile(cpu, 95), 1),
        "repeat": repeat,
        "load": Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None,
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database (default: SQLite in /tmp)")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="keep the SQLite database here (not deleted); a database that already holds datasets is reused",
    )
    parser.add_argument("--generate-only", action="store_true", help="fill the database and stop")
    parser.add_argument("--no-gc-freeze", action="store_true", help="no warm-up and gc.freeze() as the web server does")
    args = parser.parse_args(argv)

    setup_django(args.database_url, args.data_dir)
    from django.db import connection
    from django.test import Client

    print(f"# machine: {common.machine()}", flush=True)
    print(f"# database: {connection.vendor}", flush=True)
    from dikom.opendata.models import Dataset

    began = time.perf_counter()
    if Dataset.objects.exists():  # a kept database (--data-dir, or a PostgreSQL database of an earlier run)
        names = list(Dataset.objects.order_by("pk").values_list("name", flat=True))
        print(f"# reused {len(names)} datasets", flush=True)
    else:
        names = generate(args.datasets, args.seed)
        print(f"# generated {len(names)} datasets in {time.perf_counter() - began:.0f} s", flush=True)
    if args.generate_only:
        return 0

    from django.db import connection as db

    with db.cursor() as cursor:  # fresh statistics after the bulk load, as autovacuum would gather them
        cursor.execute("ANALYZE")
    if not args.no_gc_freeze:
        # as every web process does before it serves (src/dikom/wsgi.py): views imported, templates
        # compiled, all of it kept out of the garbage collector's full passes; the catalogue index is
        # built later, by the first search
        from dikom.lib.warmup import warm_up_and_freeze

        warm_up_and_freeze()

    client = Client()
    facets = json.dumps(["organization", "groups", "tags", "res_format", "license_id", "frequency"])

    def api(**params: object) -> Callable[[], object]:
        def call() -> object:
            response = client.get("/api/3/action/package_search", {"facet.field": facets, **params})
            assert response.status_code == 200, response.content[:200]
            return response

        return call

    def page(path: str, **params: object) -> Callable[[], object]:
        def call() -> object:
            response = client.get(path, params)
            assert response.status_code == 200, (path, response.status_code)
            return response

        return call

    count = client.get("/api/3/action/package_search", {"rows": 0}).json()["result"]["count"]
    print(f"# package_search count: {count}", flush=True)
    queries = {
        "one word (Baum)": {"q": "Baum"},
        "two words (Baum Fulda)": {"q": "Baum Fulda"},
        "facet filter (organization:marburg)": {"fq": "organization:marburg"},
        "empty, sorted by metadata_modified desc": {"sort": "metadata_modified desc"},
    }
    for label, params in queries.items():
        timed(f"package_search {label}", api(**params), args.repeat)
    # The same one-word search without the per-version cache of stem bitsets (the term index is read each time).
    from dikom.opendata import catalogue_index

    catalogue_index.STEM_CACHE_SIZE = 0
    catalogue_index.reset()
    timed("package_search one word (Baum), stem not cached", api(q="Baum"), args.repeat)
    catalogue_index.STEM_CACHE_SIZE = 256

    def after_change() -> object:
        catalogue_index.reset()  # what the first search after any change of the catalogue pays: the rebuild
        return api(q="Baum")()

    timed("package_search one word right after a change (index rebuilt)", after_change, max(3, args.repeat // 5))
    from django.utils import timezone as tz

    from dikom.opendata.models import Dataset as DatasetModel

    touched = iter(random.Random(args.seed + 1).sample(names, min(len(names), args.repeat * 2 + 2)))

    def after_one_change() -> object:
        # One dataset changed (as an edit would: updated_at moves), then the same search: the index is patched.
        DatasetModel.objects.filter(name=next(touched)).update(updated_at=tz.now())
        catalogue_index.changed()
        return api(q="Baum")()

    timed("package_search one word right after one dataset changed (index patched)", after_one_change, args.repeat)
    page_queries = {
        "one word (Baum)": {"q": "Baum"},
        "two words (Baum Fulda)": {"q": "Baum Fulda"},
        "facet filter (organization=marburg)": {"organization": "marburg"},
        "empty, sorted by last modified": {"sort": "metadata_modified desc"},
    }
    for label, params in page_queries.items():
        timed(f"search page {label}", page("/opendata/", **params), args.repeat)
    for start in (0, 10_000, 50_000):
        if start < count:
            timed(f"package_search paging start={start} rows=100", api(rows=100, start=start), args.repeat)
    rng = random.Random(args.seed)
    sample = rng.sample(names, min(len(names), args.repeat + 1))
    iterator = iter(sample)
    timed("dataset page (random datasets)", lambda: page(f"/opendata/datensaetze/{next(iterator)}/")(), args.repeat)
    last = max(1, -(-count // 100))
    for number in sorted({1, last // 2 or 1, last}):
        timed(f"catalog.ttl page {number} of {last}", page("/catalog.ttl", page=number), max(3, args.repeat // 4))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
