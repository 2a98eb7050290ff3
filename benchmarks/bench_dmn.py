"""DMN decision table evaluation: import and evaluation time of a large table, against plain Python.

Usage: DJANGO_SETTINGS_MODULE=dikom.conf.ci .venv/bin/python benchmarks/bench_dmn.py [RULES]
A COLLECT table with RULES rules (default 1000) and two inputs (a range and a list of texts), evaluated with
case data of 50 keys; median of 21 evaluations after a warm-up. The reference ("limit") is the same tests
written as one Python function per cell, what CPython needs at least to run them one by one.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.ci")

import django

django.setup()

from dikom.cases.dmn.tables import read  # noqa: E402


def main(rules: int) -> None:
    body = "".join(
        f'<rule id="r{i}"><inputEntry><text>[{i * 10}..{i * 10 + 9}]</text></inputEntry>'
        f'<inputEntry><text>"A{i % 7}","B"</text></inputEntry><outputEntry><text>{i}</text></outputEntry></rule>'
        for i in range(rules)
    )
    xml = f"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
      <decision id="t" name="t"><decisionTable hitPolicy="COLLECT">
      <input id="a"><inputExpression><text>betrag</text></inputExpression></input>
      <input id="b"><inputExpression><text>art</text></inputExpression></input>
      <output id="o" name="x"/>{body}</decisionTable></decision></definitions>"""
    start = time.perf_counter()
    decisions = read(xml)
    imported = time.perf_counter() - start
    data = {"betrag": rules * 5 + 5, "art": "B", **{f"feld{i}": i for i in range(50)}}
    decisions.evaluate("t", data)
    runs = []
    for _ in range(21):
        start = time.perf_counter()
        result = decisions.evaluate("t", data)
        runs.append(time.perf_counter() - start)
    cells = [
        (lambda v, lo=i * 10, hi=i * 10 + 9: lo <= v <= hi, lambda v, k=f"A{i % 7}": v in (k, "B"))
        for i in range(rules)
    ]
    native = []
    for _ in range(21):
        start = time.perf_counter()
        hits = [i for i, (a, b) in enumerate(cells) if a(data["betrag"]) and b(data["art"])]
        native.append(time.perf_counter() - start)
    dmn, py = statistics.median(runs), statistics.median(native)
    print(f"rules={rules} cells={2 * rules} import={imported * 1000:.0f} ms evaluate={dmn * 1000:.1f} ms "
          f"({dmn / (2 * rules) * 1e6:.1f} us/cell) plain-python={py * 1000:.2f} ms ratio={dmn / py:.0f}x "
          f"result={result.value} hits={hits}")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
