"""roadMAP at the size of issue 18: a city with 5 000 staff and 50 competences, assessments for all.

Method: a fresh SQLite database in a temporary data dir (or, with ``--database-url``, an empty
PostgreSQL database that is migrated) gets, with ``bulk_create`` (not timed):

- a city framework of 50 competences in 5 areas with 8 levels (imported through the action);
- 10 departments with 5 units each (50 units, ``--staff`` / 50 people per unit);
- 10 role profiles, each requiring all 50 competences at levels 2–7, one per department;
- ``--staff`` staff members (default 5 000), each with one confirmed assessment per competence
  (250 000 rows), reviewed at a random time in the last 15 months (so the trend has data in
  every quarter), and a fifth of them with a second, older assessment (history);
- 20 trainings and 2 000 enrolments (booked/completed counts on the roadMAP page);
- an HR user of the city;
- then ``ANALYZE`` (table statistics, as autovacuum keeps them on a running database).

Then, in this process, through Django's test client (URL routing, access checks, the view,
the template; no network), signed in as HR, each page is loaded ``--repeat`` times after one
warm-up; p50/p95 and the number of SQL statements of one request are printed:

- the heat map ``/kompetenzen/<city>/heatmap/`` (competence × unit with the quarterly trend),
- the digitalisation officer's roadMAP ``/kompetenzen/<city>/roadmap/``.

Example::

    .venv/bin/python benchmarks/bench_roadmap.py --staff 5000 --repeat 20
    .venv/bin/python benchmarks/bench_roadmap.py --database-url postgres://postgres@127.0.0.1:5432/dikom_bench_roadmap
    .venv/bin/python benchmarks/bench_roadmap.py --data-dir /tmp/roadmap-sqlite --only-pages --profile 10

``--data-dir`` keeps the SQLite database (a second run measures it again, as with PostgreSQL);
``--profile N`` prints where the CPU time of N more requests per page goes (cProfile);
``--only-pages`` skips the write path.

The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime
import gc
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import common

COMPETENCES = 50
DEPARTMENTS = 10
UNITS_PER_DEPARTMENT = 5


def setup_django(database_url: str | None, data_dir: str | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    os.environ["DIKOM_DEBUG"] = "false"
    os.environ["DIKOM_LOG_LEVEL"] = "WARNING"
    os.environ["DIKOM_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    elif data_dir:  # kept: a later run measures the same SQLite database again
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        os.environ["DIKOM_DATA_DIR"] = data_dir
    else:
        data_dir = tempfile.mkdtemp(prefix="dikom-bench-roadmap-")
        os.environ["DIKOM_DATA_DIR"] = data_dir
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)


def framework_document() -> dict[str, object]:
    per_area = COMPETENCES // 5
    return {
        "format": "dikom-competence-framework/1",
        "key": "bench-50",
        "name": {"de": "Benchmark-Rahmen", "en": "Benchmark framework"},
        "version_label": "1",
        "levels": [
            {"value": v, "title": {"de": f"Stufe {v}", "en": f"Level {v}"}, "descriptor": {"de": "…", "en": "…"}}
            for v in range(1, 9)
        ],
        "areas": [
            {
                "code": str(a),
                "title": {"de": f"Bereich {a}", "en": f"Area {a}"},
                "competences": [
                    {"code": f"{a}.{c}", "title": {"de": f"Kompetenz {a}.{c}", "en": f"Competence {a}.{c}"}}
                    for c in range(1, per_area + 1)
                ],
            }
            for a in range(1, 6)
        ],
    }


def generate(staff_count: int, seed: int) -> tuple[str, object]:
    """The city with its staff and assessments; returns (city slug, HR user)."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from dikom.accounts.models import Membership, User
    from dikom.accounts.roles import Role
    from dikom.competences import actions, programme
    from dikom.competences.models import Assessment, Enrolment, RoleProfile, StaffProfile
    from dikom.municipalities.models import District, Municipality, OrgUnit

    rng = random.Random(seed)
    district = District.objects.create(key="06999", name="Landkreis Benchmark")
    city = Municipality.objects.create(
        name="Benchstadt", slug="benchstadt", ags="06999001", district=district, population=50000
    )
    version = actions.import_framework(framework_document(), municipality=city)
    codes = sorted(version.competence_codes())
    units: list[tuple[int, OrgUnit]] = []
    for d in range(DEPARTMENTS):
        department = OrgUnit.objects.create(municipality=city, name=f"Dezernat {d + 1}", kind=OrgUnit.Kind.DEPARTMENT)
        for u in range(UNITS_PER_DEPARTMENT):
            unit = OrgUnit.objects.create(
                municipality=city, name=f"Amt {d + 1}.{u + 1}", kind=OrgUnit.Kind.OFFICE, parent=department
            )
            units.append((d, unit))
    profiles = [
        RoleProfile.objects.create(
            municipality=city,
            name=f"Profil {d + 1}",
            framework_version=version,
            requirements={code: rng.randint(2, 7) for code in codes},
        )
        for d in range(DEPARTMENTS)
    ]
    password = make_password("bench-password-not-used")
    users = User.objects.bulk_create(
        [
            User(
                username=f"staff{i:05d}",
                email=f"staff{i:05d}@bench.example",
                first_name="Person",
                last_name=str(i),
                password=password,
            )
            for i in range(staff_count)
        ],
        batch_size=2000,
    )
    Membership.objects.bulk_create(
        [Membership(user=u, municipality=city, role=Role.STAFF_MEMBER) for u in users], batch_size=2000
    )
    staff = StaffProfile.objects.bulk_create(
        [
            StaffProfile(
                user=u,
                municipality=city,
                org_unit=units[i % len(units)][1],
                role_profile=profiles[units[i % len(units)][0]],
            )
            for i, u in enumerate(users)
        ],
        batch_size=2000,
    )
    now = timezone.now()
    batch: list[Assessment] = []
    written = 0
    for person in staff:
        for code in codes:
            level = rng.randint(1, 8)
            reviewed = now - datetime.timedelta(days=rng.uniform(0, 420))
            batch.append(
                Assessment(
                    staff=person,
                    framework_version=version,
                    competence_code=code,
                    self_level=level,
                    status=Assessment.Status.CONFIRMED,
                    confirmed_level=level,
                    reviewed_at=reviewed,
                )
            )
            if rng.random() < 0.2:  # an earlier review, superseded by the current one
                earlier = rng.randint(1, 8)
                batch.append(
                    Assessment(
                        staff=person,
                        framework_version=version,
                        competence_code=code,
                        self_level=earlier,
                        status=Assessment.Status.CONFIRMED,
                        confirmed_level=earlier,
                        reviewed_at=reviewed - datetime.timedelta(days=rng.uniform(30, 200)),
                        superseded_at=reviewed,
                    )
                )
        if len(batch) >= 20_000:
            Assessment.objects.bulk_create(batch, batch_size=5000)
            written += len(batch)
            batch = []
    Assessment.objects.bulk_create(batch, batch_size=5000)
    written += len(batch)
    start = now + datetime.timedelta(days=30)
    trainings = [
        programme.create_training(
            offered_by=city,
            title=f"Schulung {t}",
            framework_version=version,
            targets={codes[t % len(codes)]: 5, codes[(t * 7) % len(codes)]: 4},
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=2),
            seats=100,
        )
        for t in range(20)
    ]
    Enrolment.objects.bulk_create(
        [
            Enrolment(
                training=trainings[i % 20],
                staff=staff[i],
                status=Enrolment.Status.COMPLETED if i % 3 == 0 else Enrolment.Status.ENROLLED,
                queued_at=now,
            )
            for i in range(min(2000, len(staff)))
        ]
    )
    hr = User.objects.create(username="bench-hr", email="hr@bench.example", password=password)
    Membership.objects.create(user=hr, municipality=city, role=Role.HUMAN_RESOURCES)
    # Statistics as a running database has them (autovacuum / a maintained SQLite): without them
    # the planners guess the size of the freshly bulk-loaded tables.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"# {len(staff)} staff, {len(codes)} competences, {written} assessments", flush=True)
    return city.slug, hr


def timed(label: str, call: Callable[[], object], repeat: int) -> dict[str, object]:
    from django.db import connections

    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with contextlib.ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(count))
        call()  # warm-up, counting its SQL statements (on every database alias: reads may go to a replica)
    samples = []
    cpu = []
    collections: list[tuple[int, float]] = []  # (generation, CPU ms) of the garbage collector's runs
    gc_began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_began[0] = time.process_time()
        else:
            collections.append((info["generation"], (time.process_time() - gc_began[0]) * 1000))

    gc.callbacks.append(on_gc)
    try:
        for _ in range(repeat):
            began, began_cpu = time.perf_counter(), time.process_time()
            call()
            samples.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
    finally:
        gc.callbacks.remove(on_gc)
    result = {
        "page": label,
        "p50_ms": round(common.percentile(samples, 50), 1),
        "p95_ms": round(common.percentile(samples, 95), 1),
        # CPU time of this process (Django, and SQLite in-process; not the PostgreSQL server's):
        # what the request costs without the waiting for a CPU on the shared machine
        "cpu_p50_ms": round(common.percentile(cpu, 50), 1),
        "cpu_p95_ms": round(common.percentile(cpu, 95), 1),
        "sql_statements": statements,
        # the cyclic garbage collector during the timed requests: runs of the oldest generation and
        # the CPU time of all runs (part of the CPU time above; a full run walks every object of the process)
        "gc_full_runs": sum(1 for generation, _ms in collections if generation == 2),
        "gc_cpu_ms": round(sum(ms for _generation, ms in collections), 1),
        "repeat": repeat,
        "load": Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None,
    }
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--staff", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="after the timing, profile N more requests of each page with cProfile and print the top functions",
    )
    parser.add_argument("--only-pages", action="store_true", help="skip the write path (reviews)")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="do not freeze the start-up objects as src/dikom/wsgi.py does"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="an empty PostgreSQL database (default: SQLite in /tmp); one this script filled is measured again",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="SQLite: keep the database in this directory (not removed); one this script filled is measured again",
    )
    args = parser.parse_args(argv)

    setup_django(args.database_url, args.data_dir)
    if not args.no_gc_freeze:
        # as every web process does before it serves (src/dikom/wsgi.py): views imported, templates
        # compiled, all of it kept out of the garbage collector's full passes
        from dikom.lib.warmup import warm_up_and_freeze

        warm_up_and_freeze()
    from django.db import connection
    from django.test import Client

    print(f"# machine: {common.machine()}", flush=True)
    print(f"# database: {connection.vendor}", flush=True)
    began = time.perf_counter()
    from dikom.accounts.models import User

    hr: Any
    existing = User.objects.filter(username="bench-hr").first() if args.database_url or args.data_dir else None
    if existing is not None:  # measured again on the database generated by an earlier run
        slug, hr = "benchstadt", existing
        print("# reusing the generated city", flush=True)
    else:
        slug, hr = generate(args.staff, args.seed)
        print(f"# generated in {time.perf_counter() - began:.0f} s", flush=True)
    client = Client()
    client.force_login(hr)

    def page(path: str, marker: str) -> Callable[[], object]:
        def call() -> object:
            response = client.get(path)
            assert response.status_code == 200, response.content[:300]
            assert marker in response.content.decode(), f"{path} lacks {marker}"
            return response

        return call

    heat_map = page(f"/kompetenzen/{slug}/heatmap/", "Amt 10.5")
    roadmap = page(f"/kompetenzen/{slug}/roadmap/", "Dezernat 10")
    timed("heat map", heat_map, args.repeat)
    timed("roadMAP", roadmap, args.repeat)
    if not args.only_pages:
        timed("review (write path, level sums kept by triggers)", reviews(slug, hr, args.seed), args.repeat)
    if args.profile:
        profiled("heat map", heat_map, args.profile)
        profiled("roadMAP", roadmap, args.profile)
    return 0


def profiled(label: str, call: Callable[[], object], repeat: int) -> None:
    """Where the CPU time of ``repeat`` requests goes (cProfile; its overhead inflates small calls)."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeat):
        call()
    profile.disable()
    print(f"# profile of {label}, {repeat} requests", flush=True)
    stats = pstats.Stats(profile, stream=sys.stdout).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def reviews(slug: str, hr: Any, seed: int) -> Callable[[], object]:
    """A self-assessment of one random person and its review by the manager (what changes the level sums)."""
    from dikom.competences import actions
    from dikom.competences.models import StaffProfile

    rng = random.Random(seed)
    staff = list(StaffProfile.objects.filter(municipality__slug=slug).select_related("role_profile__framework_version"))

    def call() -> object:
        person = rng.choice(staff)
        code = rng.choice(sorted(person.role_profile.framework_version.competence_codes()))  # type: ignore[union-attr]
        created = actions.submit_self_assessment(person, {code: rng.randint(1, 8)}, actor=hr)
        for assessment in created:
            actions.review_assessment(assessment, manager=hr, level=rng.randint(1, 8))
        return created

    return call


if __name__ == "__main__":
    raise SystemExit(main())
