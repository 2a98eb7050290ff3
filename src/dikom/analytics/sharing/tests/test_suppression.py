"""Suppression against an attacker who knows every published cell and total.

The attacker enumerates every integer table consistent with the published
monthly lines (cells + city totals) and yearly line (per-service totals + city
total), knowing that zeros are published (hidden cells are ≥ 1). For every
hidden small cell, all values 1..k must stay possible: it is neither pinned
down nor provably below k.
"""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from dikom.analytics.sharing.suppression import suppress_line, suppress_year


def compositions(total: int, parts: int, cap: int) -> Iterator[tuple[int, ...]]:
    if parts == 0:
        if total == 0:
            yield ()
        return
    for first in range(1, min(cap, total - (parts - 1)) + 1):
        for rest in compositions(total - first, parts - 1, cap):
            yield (first, *rest)


def attacker_values(table, hidden, col_hidden, row_hidden, grand_hidden, target) -> set[int]:
    """Every value of cell ``target`` consistent with all published numbers (services × months table)."""
    services, months = len(table), len(table[0])
    cap = sum(map(sum, table)) + 10
    published = [[0 if hidden[s][m] else table[s][m] for m in range(months)] for s in range(services)]
    col_res = [
        sum(table[s][m] for s in range(services)) - sum(published[s][m] for s in range(services)) for m in range(months)
    ]
    row_res = [sum(table[s]) - sum(published[s]) for s in range(services)]
    grand_res = sum(map(sum, table)) - sum(map(sum, published))
    constrained = [s for s in range(services) if not row_hidden[s] and any(hidden[s])]
    states = {(tuple(0 for _ in constrained), 0, None)}
    for m in range(months):
        cells = [s for s in range(services) if hidden[s][m]]
        if not cells:
            continue
        if not col_hidden[m]:
            assignments = list(compositions(col_res[m], len(cells), cap))
        else:
            relevant = [s for s in cells if s in constrained or (s, m) == target or not grand_hidden]
            assignments = [()]
            for s in cells:
                choices = range(1, cap + 1) if s in relevant else (1,)
                assignments = [(*a, c) for a in assignments for c in choices]
        new = set()
        for rows, total, value in states:
            for a in assignments:
                cell = dict(zip(cells, a, strict=True))
                sums = tuple(rows[i] + cell.get(s, 0) for i, s in enumerate(constrained))
                if any(sums[i] > row_res[s] for i, s in enumerate(constrained)):
                    continue
                grand = total + sum(a)
                if not grand_hidden and grand > grand_res:
                    continue
                new.add((sums, grand, cell[target[0]] if target[1] == m else value))
        states = new
    return {
        value
        for rows, total, value in states
        if all(rows[i] == row_res[s] for i, s in enumerate(constrained)) and (grand_hidden or total == grand_res)
    }


def publish(table: list[list[int]], k: int, yearly: bool):
    services, months = len(table), len(table[0])
    columns = [[table[s][m] for s in range(services)] for m in range(months)]
    monthly = [suppress_line(column, k) for column in columns]
    hidden = [[s in monthly[m].hidden for m in range(months)] for s in range(services)]
    col_hidden = [r.total_hidden for r in monthly]
    if yearly:
        year = suppress_year(columns, monthly, k)
        return hidden, col_hidden, [s in year.hidden for s in range(services)], year.total_hidden
    return hidden, col_hidden, [True] * services, True


counts = st.one_of(st.just(0), st.integers(1, 6), st.integers(5, 25))
tables = st.integers(1, 4).flatmap(
    lambda services: st.integers(1, 3).flatmap(
        lambda months: st.lists(
            st.lists(counts, min_size=months, max_size=months), min_size=services, max_size=services
        )
    )
)


def assert_protected(table, k, yearly):
    hidden, col_hidden, row_hidden, grand_hidden = publish(table, k, yearly)
    for s, row in enumerate(table):
        for m, value in enumerate(row):
            if 0 < value < k:
                assert hidden[s][m], "a small cell is published"
                possible = attacker_values(table, hidden, col_hidden, row_hidden, grand_hidden, (s, m))
                assert value in possible
                assert set(range(1, k + 1)) <= possible, (table, (s, m), sorted(possible)[:12])


@settings(max_examples=150, deadline=None)
@given(tables, st.sampled_from([3, 5]))
def test_no_small_cell_can_be_narrowed_monthly_and_yearly(table, k):
    assert_protected(table, k, yearly=True)


@settings(max_examples=100, deadline=None)
@given(tables, st.sampled_from([3, 5]))
def test_no_small_cell_can_be_narrowed_monthly_only(table, k):
    assert_protected(table, k, yearly=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(counts, min_size=1, max_size=8), st.integers(2, 10))
def test_line_rules(values, k):
    result = suppress_line(values, k)
    # zeros are published, small counts never
    assert all(values[i] > 0 for i in result.hidden)
    assert all(i in result.hidden for i, v in enumerate(values) if 0 < v < k)
    if 0 < sum(values) < k:
        assert result.total_hidden
    if not result.total_hidden and result.hidden:
        assert len(result.hidden) >= 2
        assert sum(values[i] for i in result.hidden) - (len(result.hidden) - 1) >= k


def test_complement_is_the_smallest_sufficient_cell():
    result = suppress_line([2, 40, 9, 7, 0], 5)
    assert result.hidden == {0, 3} and not result.total_hidden


def test_total_is_hidden_when_no_complement_is_left():
    result = suppress_line([3, 2], 5)
    assert result.hidden == {0, 1} and result.total_hidden


def test_naive_yearly_totals_would_leak_and_the_rule_prevents_it():
    # Service 0 has a hidden 2 in January; its February cell (30) is published.
    table = [[2, 30], [40, 30], [9, 30]]
    k = 5
    hidden, col_hidden, row_hidden, grand_hidden = publish(table, k, yearly=True)
    assert row_hidden[0], "the yearly total of a service with a hidden month is hidden"
    # An attacker given the naive yearly total R_0 = 32 pins the cell down exactly:
    naive_rows = [False] * 3
    assert attacker_values(table, hidden, col_hidden, naive_rows, grand_hidden, (0, 0)) == {2}
    assert set(range(1, k + 1)) <= attacker_values(table, hidden, col_hidden, row_hidden, grand_hidden, (0, 0))


def test_yearly_total_hidden_when_a_monthly_total_is():
    columns = [[3, 0], [20, 20]]
    monthly = [suppress_line(c, 5) for c in columns]
    assert monthly[0].total_hidden
    assert suppress_year(columns, monthly, 5).total_hidden
