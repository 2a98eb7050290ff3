"""An informed attacker against the open usage tables.

The attacker downloads every published table (every month and year, CSV and
JSON), knows the method and its published perturbation table (everything in
``sharing/cellkey.py`` except the secret), and combines everything it is
entitled to conclude:

* each published monthly count bounds its true count by the table
  (``possible_values``);
* totals and yearly files: if one is not the sum of the published cells, it is
  treated as a perturbed cell of its own (true sum within ±D) — otherwise it
  adds nothing, and the attacker checks exactly that;
* conversion rates and satisfaction averages: a rate that is not the ratio of
  the published counts would leak true counts; a shown average means at least
  k perturbed ratings, hence a lower bound on the true feedback count;
* a re-published (corrected) month: the attacker added ``n`` events itself
  after the first publication and knows ``n``;
* linear programming (``scipy.optimize.linprog``) over all of it: the smallest
  and largest true count consistent with everything.

It fails when a true count from 1 to k−1 is recovered exactly or confined to
fewer than ``cellkey.MIN_CANDIDATES`` possible values. The database is read
to compare with the truth.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from scipy.optimize import linprog

from dikom.analytics.models import Service, ServiceDailyStats
from dikom.analytics.sharing import cellkey, opendata
from dikom.analytics.sharing.models import OpenDataPublication

YEAR = timezone.localdate().year - 1
METRICS = opendata.COUNTS


def _small_cells_city(city: object, services: int = 7, seed: int = 20) -> dict[tuple[int, int], dict[str, int]]:
    """Two years of usage with many counts from 1 to 6; returns the true counts per (service id, month)."""
    rng = random.Random(seed)
    truth: dict[tuple[int, int], dict[str, int]] = {}
    rows = []
    for s in range(services):
        service = Service.objects.create(
            municipality=city, name=f"Dienst {s:02d}", external_key=f"s{s}", leika_key=f"991060010{s:05d}"
        )
        for month in range(1, 13):
            if rng.random() < 0.15:
                continue
            starts = rng.choice([1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 8, 12, 30])
            completions = rng.randint(0, starts)
            feedback = rng.randint(0, completions)
            ratings = rng.randint(0, feedback)
            counts = {
                "visits": starts + rng.randint(0, 3),
                "starts": starts,
                "completions": completions,
                "feedback_count": feedback,
                "rating_count": ratings,
                "rating_sum": sum(rng.randint(1, 5) for _ in range(ratings)),
            }
            truth[(service.pk, month)] = counts
            # Spread over two days, as rollups are per day.
            first = {name: value // 2 for name, value in counts.items()}
            second = {name: counts[name] - first[name] for name in counts}
            for day, part in ((3, first), (17, second)):
                rows.append(
                    ServiceDailyStats(
                        municipality=city,
                        service=service,
                        day=date(YEAR, month, day),
                        channel="web",
                        built_at=timezone.now(),
                        **part,
                    )
                )
    ServiceDailyStats.objects.bulk_create(rows)
    OpenDataPublication.objects.create(municipality=city, enabled=True, since=timezone.now())
    return truth


def _download(client: object, ags: str) -> tuple[dict[str, list[dict[str, str]]], dict[str, dict]]:
    """Every published file of the city: CSV rows per period, JSON per period."""
    index = client.get("/opendata/nutzungsstatistik/index.json").json()  # type: ignore[attr-defined]
    entry = next(c for c in index["cities"] if c["ags"] == ags)
    tables: dict[str, list[dict[str, str]]] = {}
    documents: dict[str, dict] = {}
    for item in [*entry["months"], *entry["years"]]:
        period = item.get("month") or item["year"]
        response = client.get(item["csv"])  # type: ignore[attr-defined]
        assert response.status_code == 200
        tables[period] = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
        documents[period] = client.get(item["json"]).json()  # type: ignore[attr-defined]
    return tables, documents


class Attacker:
    """Collects linear constraints on the true monthly counts (one variable per service, month and metric)."""

    def __init__(self) -> None:
        self.variables: dict[tuple[str, int, str], int] = {}
        self.bounds: list[tuple[float, float | None]] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []  # (coefficients, low, high)

    def var(self, service: str, month: int, metric: str) -> int:
        key = (service, month, metric)
        if key not in self.variables:
            self.variables[key] = len(self.bounds)
            self.bounds.append((0, None))
        return self.variables[key]

    def bound(self, index: int, low: float, high: float | None) -> None:
        old_low, old_high = self.bounds[index]
        new_high = high if old_high is None else old_high if high is None else min(old_high, high)
        self.bounds[index] = (max(old_low, low), new_high)

    def sum_between(self, indices: list[int], low: float, high: float) -> None:
        self.rows.append((dict.fromkeys(indices, 1.0), low, high))

    def interval(self, index: int) -> tuple[float, float] | None:
        """Smallest and largest value of variable ``index`` under all constraints; None when they contradict."""
        size = len(self.bounds)
        a_ub, b_ub = [], []
        for coefficients, low, high in self.rows:
            row = [0.0] * size
            for i, c in coefficients.items():
                row[i] = c
            a_ub.append(row)
            b_ub.append(high)
            a_ub.append([-c for c in row])
            b_ub.append(-low)
        result = []
        for sign in (1, -1):
            objective = [0.0] * size
            objective[index] = sign
            solved = linprog(
                objective,
                A_ub=a_ub or None,
                b_ub=b_ub or None,
                bounds=self.bounds,
                method="highs",
            )
            if solved.status == 2:  # infeasible: the attacker's guesses are refuted by the tables
                return None
            assert solved.status == 0, solved.message
            result.append(sign * solved.fun)
        return result[0], result[1]


def _smallest_denominator(average: float) -> int:
    """The fewest ratings 1..5 whose mean rounds to ``average`` (the classic attack on averages of true counts)."""
    for count in range(1, 1000):
        if any(round(total / count, 2) == average for total in range(count, 5 * count + 1)):
            return count
    return 1


def _attack(tables: dict[str, list[dict[str, str]]], k: int, guess_true: bool = False) -> Attacker:
    """Constraints from everything published; ``guess_true`` adds guesses that hold if a column used true counts."""
    attacker = Attacker()
    d = cellkey.MAX_DEVIATION
    months = {p: rows for p, rows in tables.items() if len(p) == 7}
    years = {p: rows for p, rows in tables.items() if len(p) == 4}
    published: dict[tuple[str, int, str], int] = {}
    for period, rows in months.items():
        month = int(period[5:])
        services = [r for r in rows if r["row_type"] == "service"]
        total = next(r for r in rows if r["row_type"] == "total")
        for row in services:
            for metric in METRICS:
                value = int(row[metric])
                published[(row["service"], month, metric)] = value
                candidates = cellkey.possible_values(value)
                assert candidates, f"{period} {row['service']} {metric}={value} cannot be published by the table"
                attacker.bound(attacker.var(row["service"], month, metric), candidates[0], candidates[-1])
            # A rate that is not the ratio of the published counts would tell the true ratio.
            if row["conversion_rate"]:
                expected = round(min(int(row["completions"]) / int(row["starts"]), 1.0), 4)
                assert float(row["conversion_rate"]) == expected, "conversion rate not from published counts"
            # A shown average needs k perturbed ratings: at least min(possible_values(k..)) true ratings.
            if row["satisfaction_average"]:
                floor = min(
                    cellkey.possible_values(p)[0] for p in range(k, k + 2 * d + 2) if cellkey.possible_values(p)
                )
                attacker.bound(attacker.var(row["service"], month, "feedback_count"), floor, None)
                if guess_true:
                    smallest = _smallest_denominator(float(row["satisfaction_average"]))
                    attacker.bound(attacker.var(row["service"], month, "feedback_count"), smallest, None)
        for metric in METRICS:
            indices = [attacker.var(r["service"], month, metric) for r in services]
            value = int(total[metric])
            if value != sum(int(r[metric]) for r in services):
                # Not the sum of the cells: a true total (guess) or a cell perturbed on its own.
                attacker.sum_between(indices, *((value, value) if guess_true else (max(0, value - d), value + d)))
    for rows in years.values():
        for row in rows:
            for metric in METRICS:
                names = (
                    [r["service"] for r in rows if r["row_type"] == "service"]
                    if row["row_type"] == "total"
                    else [row["service"]]
                )
                keys = [(n, m, metric) for n in names for m in range(1, 13) if (n, m, metric) in published]
                value = int(row[metric])
                if value != sum(published[key] for key in keys):
                    band = (value, value) if guess_true else (max(0, value - d), value + d)
                    attacker.sum_between([attacker.variables[key] for key in keys], *band)
    return attacker


def _check(attacker: Attacker, truth: dict[tuple[str, int, str], int], k: int, sound: bool = True) -> list[str]:
    """Every small true count the attacker narrowed too far (empty when the tables hold).

    A guessing attacker may be wrong: an interval without the true count is a wrong guess, not a recovery.
    """
    broken = []
    for key, index in attacker.variables.items():
        true = truth.get(key, 0)
        if not 1 <= true < k:
            continue
        interval = attacker.interval(index)
        if interval is None:
            assert not sound, "the published tables contradict the method"
            return []
        low, high = interval
        if not low - 1e-6 <= true <= high + 1e-6:
            assert not sound, f"{key}: the attacker's reasoning is unsound"
            continue
        if round(high) - round(low) + 1 < cellkey.MIN_CANDIDATES:
            broken.append(f"{key}: true {true} narrowed to [{low:.2f}, {high:.2f}]")
    return broken


@pytest.mark.django_db
def test_informed_attacker_cannot_narrow_small_counts(client, city_a):
    truth_by_id = _small_cells_city(city_a)
    k = opendata.k_threshold()
    tables, documents = _download(client, city_a.ags)
    names = dict(Service.objects.filter(municipality=city_a).values_list("pk", "name"))
    truth = {
        (names[service_id], month, metric): counts[metric]
        for (service_id, month), counts in truth_by_id.items()
        for metric in METRICS
    }
    small = [key for key, value in truth.items() if 1 <= value < k]
    assert len(small) > 100, "the data set must have many small cells"
    # CSV and JSON say the same.
    for period, rows in tables.items():
        for row, document_row in zip(rows, documents[period]["rows"], strict=True):
            for metric in METRICS:
                assert int(row[metric]) == document_row[metric]
    assert _check(_attack(tables, k), truth, k) == []
    # The same attack, guessing that totals and averages use true counts wherever they are not derived.
    assert _check(_attack(tables, k, guess_true=True), truth, k, sound=False) == []


@pytest.mark.django_db
def test_republishing_a_month_does_not_reveal_the_difference(client, city_a):
    """The attacker adds n known events to published small cells and compares the two versions."""
    truth_by_id = _small_cells_city(city_a, services=5, seed=7)
    period = f"{YEAR}-05"
    url = f"/opendata/nutzungsstatistik/{city_a.ags}/{period}.json"
    before = {row["service"]: row for row in client.get(url).json()["rows"]}
    names = dict(Service.objects.filter(municipality=city_a).values_list("pk", "name"))
    added = 2
    in_may = [(pk, c) for (pk, month), c in truth_by_id.items() if month == 5]
    targets = [(pk, c) for pk, c in in_may if 1 <= c["starts"] < 5][:2]
    assert targets and len(in_may) > len(targets)
    for service_id, _counts in targets:
        ServiceDailyStats.objects.create(
            municipality=city_a,
            service_id=service_id,
            day=date(YEAR, 5, 25),
            channel="web",
            starts=added,
            built_at=timezone.now(),
        )
    # Without a correction nothing changes.
    assert {row["service"]: row for row in client.get(url).json()["rows"]} == before
    call_command("correct_open_data_month", city_a.ags, period, reason="Test")
    after = {row["service"]: row for row in client.get(url).json()["rows"]}
    for service_id, counts in targets:
        name = names[service_id]
        first, second = before[name]["starts"], after[name]["starts"]
        # The step between the versions is the perturbed difference: its table row is the row of `added`,
        # whatever the true count, so it tells nothing about the count. (Had the new count been perturbed
        # afresh, possible_values(first) ∩ (possible_values(second) - added) would narrow it.)
        assert second - first in {added + deviation for deviation, _p in cellkey.row(added)}
        assert counts["starts"] in cellkey.possible_values(first)
        assert len(cellkey.possible_values(first)) >= cellkey.MIN_CANDIDATES
    # Services without late events are published exactly as before.
    untouched = set(before) - {names[pk] for pk, _c in targets} - {""}
    assert untouched and all(after[name] == before[name] for name in untouched)


def test_perturbation_table_keeps_its_published_promises():
    for value in range(0, 40):
        entries = cellkey.row(value)
        assert sum(p for _d, p in entries) == cellkey.PRECISION
        assert sum(d * p for d, p in entries) == 0, f"noise for {value} is not zero-mean"
        for deviation, _p in entries:
            published = value + deviation
            assert published >= 0 and abs(deviation) <= cellkey.MAX_DEVIATION
            assert not 0 < published < cellkey.SMALLEST_PUBLISHED
        if value >= cellkey.GENERAL_FROM:
            assert sum(d * d * p for d, p in entries) == cellkey.VARIANCE * cellkey.PRECISION
    for published in [0, *range(cellkey.SMALLEST_PUBLISHED, 40)]:
        assert len(cellkey.possible_values(published)) >= cellkey.MIN_CANDIDATES
    for value in range(1, cellkey.SMALLEST_PUBLISHED):
        # A count of 1 to 3 is published as 0 or 4, and both leave every count from 1 to 3 possible.
        for deviation, _p in cellkey.row(value):
            assert set(range(1, cellkey.SMALLEST_PUBLISHED)) <= set(cellkey.possible_values(value + deviation))


def test_the_same_block_gets_the_same_noise_and_keys_are_uniform():
    identity = cellkey.block_identity(1, 2, "starts", "2026-11")
    assert cellkey.perturb(identity, 9) == cellkey.perturb(identity, 9)
    keys = [cellkey.cell_key(cellkey.block_identity(1, s, "starts", "2026-11"), 9) for s in range(4000)]
    assert all(0 <= key < 1 for key in keys)
    counts = defaultdict(int)
    for key in keys:
        counts[int(key * 4)] += 1
    assert all(800 < counts[q] < 1200 for q in range(4))


def _unit_in_row_space(rows: list[dict[object, float]], target: object) -> bool:
    """Whether the unit vector of ``target`` is a linear combination of ``rows`` (numpy, least squares)."""
    import numpy as np

    items = sorted({item for row in rows for item in row} | {target}, key=repr)
    if not rows:
        return False
    matrix = np.array([[row.get(item, 0.0) for item in items] for row in rows]).T
    unit = np.array([1.0 if item == target else 0.0 for item in items])
    solution, *_rest = np.linalg.lstsq(matrix, unit, rcond=None)
    return bool(np.allclose(matrix @ solution, unit, atol=1e-8))


@pytest.mark.django_db
def test_informed_attacker_on_the_demo_tables_and_comparison(client, login):
    """The demo cooperation with two usage days at the end of last month: every published table of every
    city, and every comparison answer an analyst of each city gets, attacked as above."""
    from dikom.accounts.models import Membership
    from dikom.analytics.demo import load_demo_usage
    from dikom.analytics.sharing.models import PublishedMonth
    from dikom.demo.actions import load_demo_cooperation
    from dikom.municipalities.models import Municipality

    load_demo_cooperation(password="Demo-Passwort-123")
    until = timezone.localdate().replace(day=1) - timedelta(days=1)
    load_demo_usage(days=2, until=until, whole_months=False)
    k = opendata.k_threshold()
    published = Municipality.objects.filter(usage_open_data__enabled=True)
    assert published.count() >= 3
    for city in published:
        tables, _documents = _download(client, city.ags)
        names = dict(Service.objects.filter(municipality=city).values_list("pk", "name"))
        truth = {
            (names[int(service_id)], publication.month.month, metric): cells[metric]["true"]
            for publication in PublishedMonth.objects.filter(municipality=city)
            for service_id, cells in publication.cells.items()
            for metric in METRICS
            if metric in cells
        }
        assert any(1 <= value < k for value in truth.values())
        assert _check(_attack(tables, k), truth, k) == []
        assert _check(_attack(tables, k, guess_true=True), truth, k, sound=False) == []

    # The comparison, as an analyst of each city sees it: no unnamed city's figure can be computed from
    # the averages, the named figures and the relations (shares add up to 1, conversion + abandonment = 1).
    period = f"from={until - timedelta(days=1)}&to={until}"
    leika_keys = sorted(set(Service.objects.exclude(leika_key="").values_list("leika_key", flat=True)))
    for membership in Membership.objects.filter(role="analyst").select_related("user", "municipality"):
        viewer = membership.municipality
        login(client, membership.user)
        for leika in leika_keys:
            response = client.get(f"/api/v1/analytics/comparison?leika={leika}&{period}&municipality={viewer.ags}")
            assert response.status_code == 200
            body = response.json()
            named = {c["ags"] for c in body["ranking"]} | {viewer.ags}
            offering = Service.objects.filter(leika_key=leika).values_list("municipality__ags", flat=True)
            unnamed = sorted(set(offering) - named)
            members = {
                "all": unnamed,
                "district": [a for a in unnamed if a[:5] == viewer.ags[:5]],
                "size_class": [a for a in unnamed if Municipality.objects.get(ags=a).size_class == viewer.size_class],
            }
            groups_of = {
                ags: {"all", *(["district"] if ags[:5] == viewer.ags[:5] else [])}
                | ({"size_class"} if Municipality.objects.get(ags=ags).size_class == viewer.size_class else set())
                for ags in set(offering)
            }
            shown = [c["ags"] for c in body["ranking"]]
            if body["own"] and body["own"]["enough_starts"] and viewer.ags not in shown:
                shown.append(viewer.ags)
            rows: list[dict[object, float]] = []
            figures = set()
            for group, averages in body["averages"].items():
                named_in_group = sum(1 for ags in shown if group in groups_of.get(ags, {"all"}))
                for figure, entry in averages.items():
                    figures.add(figure)
                    # The number of cities tells how many unnamed ones took part; when it is all of them,
                    # the viewer knows the sum of their values.
                    if entry["status"] == "ok" and entry["cities"] - named_in_group == len(members[group]) > 0:
                        rows.append({(ags, figure): 1.0 for ags in members[group]})
            for ags in unnamed:
                for prefix in ("authentication:", "payment:"):
                    family = [f for f in figures if f.startswith(prefix)]
                    if len(family) > 1:
                        rows.append({(ags, f): 1.0 for f in family})
                rows.append({(ags, "conversion_rate"): 1.0, (ags, "abandonment_rate"): 1.0})
            for ags in unnamed:
                for figure in figures:
                    if any((ags, figure) in row for row in rows):
                        assert not _unit_in_row_space(rows, (ags, figure)), (viewer.name, leika, ags, figure)
        client.logout()
