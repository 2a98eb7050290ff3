"""Reading a huge tree inventory (issue 17, "2 million rows"): time and peak memory of the streaming reader.

Generates a Baumkataster CSV (``;``, Windows-1252, UTM zone 32 coordinates, one
broken row in 1 000) and a GeoJSON FeatureCollection of ``--rows`` rows in a
temporary folder, then reads each with ``dikom.smartcity.inventory.read_rows`` the
way the task worker does: the counting pass (rows split, not cleaned) and the
reading pass (every row parsed, cleaned and converted; nothing kept here), in a fresh process per file so the peak resident memory
(``ru_maxrss``) belongs to that file alone. The database writes (batches of 1 000
rows) are not part of this measurement.

Prints one JSON line per file; ``--markdown`` also prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(2)
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write("Baumnummer;Art deutsch;Art botanisch;Pflanzjahr;Straße;Stadtteil;Rechtswert;Hochwert\n")
        for n in range(rows):
            east = f"{548000 + rng.random() * 4000:.2f}".replace(".", ",")
            north = "kaputt" if n % 1000 == 999 else f"{5602000 + rng.random() * 4000:.2f}".replace(".", ",")
            out.write(f"FD-{n:07d};Winterlinde;Tilia cordata;{1950 + n % 70};Bahnhofstraße;Innenstadt;{east};{north}\n")


def write_geojson(path: Path, rows: int) -> None:
    rng = random.Random(3)
    with path.open("w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","name":"Baumkataster","features":[\n')
        for n in range(rows):
            feature = {
                "type": "Feature",
                "properties": {"baumnummer": f"FD-{n:07d}", "baumart": "Spitzahorn", "pflanzjahr": 1950 + n % 70},
                "geometry": {"type": "Point", "coordinates": [9.6 + rng.random() * 0.1, 50.5 + rng.random() * 0.1]},
            }
            out.write(("," if n else "") + json.dumps(feature, ensure_ascii=False) + "\n")
        out.write("]}\n")


def read_one(path: str, fmt: str) -> None:
    """In a child process: read the file like the import's counting pass, print time and peak memory."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.ci")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from dikom.smartcity import inventory

    start = time.perf_counter()
    with open(path, "rb") as stream:
        counted = sum(1 for _ in inventory.count_rows(stream, fmt))
    count_seconds = time.perf_counter() - start
    start = time.perf_counter()
    good = rejected = 0
    with open(path, "rb") as stream:
        for row in inventory.read_rows(stream, fmt):
            if isinstance(row, inventory.TreeRow):
                good += 1
            else:
                rejected += 1
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "format": fmt,
                "rows": good + rejected,
                "counted": counted,
                "rejected": rejected,
                "file_mb": round(os.path.getsize(path) / 1024 / 1024, 1),
                "count_pass_seconds": round(count_seconds, 1),
                "seconds": round(seconds, 1),
                "rows_per_s": round((good + rejected) / seconds),
                "peak_rss_mb": round(peak_mb),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--formats", default="csv,geojson", help="comma-separated: csv, geojson")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        read_one(*args.child)
        return
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for fmt, name, writer in (
            ("csv", "baumkataster.csv", write_csv),
            ("geojson", "baumkataster.geojson", write_geojson),
        ):
            path = Path(folder) / name
            writer(path, args.rows)
            done = subprocess.run(  # noqa: S603 - our own interpreter and script
                [sys.executable, __file__, "--child", str(path), fmt], check=True, capture_output=True, text=True
            )
            line = done.stdout.strip().splitlines()[-1]
            print(line)
            results.append(json.loads(line))
            path.unlink()
    if args.markdown:
        print("\n| format | rows | file | counting pass | reading pass | rows/s (reading) | peak memory |")
        print("|---|---|---|---|---|---|---|")
        for r in results:
            print(
                f"| {r['format']} | {r['rows']:,} ({r['rejected']:,} rejected) | {r['file_mb']} MB "
                f"| {r['count_pass_seconds']} s | {r['seconds']} s "
                f"| {r['rows_per_s']:,} | {r['peak_rss_mb']} MB |"
            )


if __name__ == "__main__":
    main()
