"""Minimum-count suppression for the open usage tables — pure Python, no Django.

The published tables (see ``docs/analytics.md``, "Open data") hold, per city
and count metric (visits, starts, completions, feedbacks):

* a *monthly* line: one cell per service plus the city total of the month
  (``C_m``), and
* for complete past years, a *yearly* line: the per-service yearly totals
  (``R_s``) plus the city's yearly total (``G``).

Together these are a services × months table with both margins. An attacker
who knows every published cell and total, and that zeros are published (so
every hidden cell is at least 1), must not be able to narrow a hidden cell
below ``k`` — concretely, the set of values consistent with everything
published must contain every value from 1 to ``k`` for every hidden small
cell. ``tests/test_suppression.py`` checks this by exact enumeration.

**Monthly line** (``suppress_line``), per metric:

1. total 0: nothing to hide;
2. total 1..k-1: every non-zero cell is small; all of them and the total are
   hidden (the line then has no published equation);
3. otherwise, primary: cells 1..k-1 are hidden. Secondary: with ``h`` hidden
   cells of sum ``S`` and a published total, the attacker learns exactly that
   the hidden cells are ≥ 1 and add up to ``S``, so each lies in
   ``[1, S - (h - 1)]``. The line is safe when ``h ≥ 2`` and
   ``S - (h - 1) ≥ k``. While it is not, the smallest published non-zero cell
   that makes it safe is hidden too (the largest one if none suffices alone);
   when no published non-zero cell is left, the total is hidden.

Zeros are published: a zero describes nobody, and hiding zeros would only
hide information without protecting anyone (an attacker can still not tell a
hidden 1 from a hidden 40).

**Yearly line** (``suppress_year``), given the monthly patterns, which are
already published and never changed afterwards: ``R_s`` is hidden whenever
service ``s`` has a hidden cell in any month (or is itself 1..k-1); ``G`` is
hidden whenever any monthly total is hidden (or is itself 1..k-1). Then the
yearly line adds no information beyond the monthly lines: a published ``R_s``
is the sum of published cells anyway, a published ``G`` is the sum of
published monthly totals anyway, and the hidden ``R_s`` / ``G`` are fresh
unknowns whose only combined equation is implied by the monthly lines. (A
yearly total of the *running* year is never published: two versions of it a
month apart would give away the newest month by subtraction.)

Derived values — the conversion rate (completions / starts) — are hidden
whenever one of their inputs is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LineResult:
    """Which cells of a line are hidden (by index) and whether its total is hidden."""

    hidden: frozenset[int]
    total_hidden: bool


def _safe(values: Sequence[int], hidden: set[int], k: int) -> bool:
    """Whether a line with a published total protects ``hidden`` (each ≥ 1, adding up to their sum)."""
    if not hidden:
        return True
    if len(hidden) < 2:
        return False
    return sum(values[i] for i in hidden) - (len(hidden) - 1) >= k


def suppress_line(values: Sequence[int], k: int) -> LineResult:
    """Hide the cells of one line (services of one month, one metric) that its published total would expose."""
    if k < 2:
        return LineResult(frozenset(), False)
    if any(v < 0 for v in values):
        raise ValueError("counts must not be negative")
    total = sum(values)
    if total == 0:
        return LineResult(frozenset(), False)
    if total < k:
        return LineResult(frozenset(i for i, v in enumerate(values) if v > 0), True)
    hidden = {i for i, v in enumerate(values) if 0 < v < k}
    while not _safe(values, hidden, k):
        candidates = [i for i, v in enumerate(values) if v > 0 and i not in hidden]
        if not candidates:
            return LineResult(frozenset(hidden), True)
        sufficient = [i for i in candidates if _safe(values, hidden | {i}, k)]
        if sufficient:
            hidden.add(min(sufficient, key=lambda i: (values[i], i)))
        else:
            hidden.add(max(candidates, key=lambda i: (values[i], -i)))
    return LineResult(frozenset(hidden), False)


@dataclass(frozen=True)
class YearResult:
    """Which per-service yearly totals (by service index) are hidden and whether the yearly city total is."""

    hidden: frozenset[int]
    total_hidden: bool


def suppress_year(months: Sequence[Sequence[int]], monthly: Sequence[LineResult], k: int) -> YearResult:
    """Hide yearly totals so that they add nothing to the already published monthly lines.

    ``months[m][s]`` is the count of service ``s`` in month ``m`` (every month of
    the year, the same services in the same order); ``monthly[m]`` is
    ``suppress_line(months[m], k)``.
    """
    services = len(months[0]) if months else 0
    row_totals = [sum(month[s] for month in months) for s in range(services)]
    hidden = {s for result in monthly for s in result.hidden}
    hidden |= {s for s, total in enumerate(row_totals) if 0 < total < k}
    grand = sum(row_totals)
    total_hidden = any(result.total_hidden for result in monthly) or 0 < grand < k
    return YearResult(frozenset(hidden), total_hidden)
