"""Case figures for leaders, per org unit and for the whole city, over a period.

Pure reading: a few aggregate queries per call (independent of the number of
units) and the processing times of the cases decided in the period, which are
few per unit, so averages and percentiles are computed in Python — exactly and
the same on SQLite and PostgreSQL.

What each figure means (the page, the CSV and the XLSX export show the same
columns in this order, see :data:`COLUMNS`):

``new_cases``
    Cases opened in the period (``opened_at`` in it).
``open_cases``
    Cases open at the end of the period: opened before its end and not yet
    decided then (no ``decided_at``, or one after the end). Cases waiting for
    the citizen count as open.
``decided_cases``
    Cases whose decision was finalised in the period (``decided_at`` in it;
    with a required second sign-off, that is the moment of the sign-off).
``closed_cases``
    Cases closed in the period (``closed_at`` in it).
``average_days`` / ``p90_days``
    Processing time in days from ``opened_at`` to ``decided_at`` of the cases
    decided in the period: the arithmetic mean and the 90th percentile by the
    nearest-rank method (the smallest processing time that at least 90 % of
    these cases did not exceed; always one of the observed times). Empty when
    no case was decided.
``overdue_tasks``
    Open tasks whose deadline (``due_at``) has passed *now* (a snapshot, not
    bound to the period).
``automatic_decisions`` / ``decision_automation_share``
    Cases decided in the period by an automation rule, and their share of all
    decided cases.
``completed_tasks`` / ``automatic_tasks`` / ``task_automation_share``
    Tasks completed in the period (``completed_at`` in it), those completed by
    an automation rule, and their share.
``media_breaks``
    Steps done outside dikom (paper, other systems) recorded on the cases
    decided in the period.

Attribution: case figures belong to the case's responsible unit
(``Case.org_unit``) only — a parent unit's row does *not* include the cases of
the units below it. Task figures belong to the unit that has to do the task
(``Task.org_unit``; for consultations another department than the case's).
Cases and tasks without a unit appear in a row of their own. The total row
covers the whole city (its average and percentile are computed over all cases,
not from the unit rows).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from dikom.cases.models import Case, Task
from dikom.municipalities.models import Municipality, OrgUnit

ONE_DAY = dt.timedelta(days=1)
# The grouping key of cases and tasks: their org unit.
F_UNIT = F("org_unit_id")

T = TypeVar("T")


@dataclass(frozen=True)
class Period:
    """A time span ``[start, end)`` with aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def last_days(cls, days: int, now: dt.datetime | None = None) -> Period:
        """The ``days`` days up to ``now``."""
        now = now or timezone.now()
        return cls(now - dt.timedelta(days=days), now)

    @classmethod
    def between(cls, first: dt.date, last: dt.date) -> Period:
        """Whole days from ``first`` to ``last`` (both included), in the site's time zone."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(last + ONE_DAY, dt.time.min, tzinfo=zone)
        return cls(start, end)

    @property
    def first_day(self) -> dt.date:
        return timezone.localtime(self.start).date()

    @property
    def last_day(self) -> dt.date:
        """The last day the period touches (its end is exclusive)."""
        return timezone.localtime(self.end - dt.timedelta(microseconds=1)).date()


def percentile_nearest_rank(values: Sequence[T], percent: int) -> T | None:
    """The nearest-rank percentile: the ``ceil(percent/100 * n)``-th smallest value; None for no values.

    Integer arithmetic only, so the result never depends on floating-point rounding.
    """
    if not values:
        return None
    if not 0 < percent <= 100:
        raise ValueError("percent must be in (0, 100]")
    ordered = sorted(values)  # type: ignore[type-var]
    rank = (percent * len(ordered) + 99) // 100  # ceil(percent * n / 100)
    return ordered[rank - 1]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Figures:
    """The figures of one row (an org unit, cases without a unit, or the whole city)."""

    label: str
    unit: OrgUnit | None = None
    is_total: bool = False
    new_cases: int = 0
    open_cases: int = 0
    decided_cases: int = 0
    closed_cases: int = 0
    durations: list[dt.timedelta] = field(default_factory=list, repr=False)
    overdue_tasks: int = 0
    automatic_decisions: int = 0
    completed_tasks: int = 0
    automatic_tasks: int = 0
    media_breaks: int = 0

    @property
    def average(self) -> dt.timedelta | None:
        if not self.durations:
            return None
        return sum(self.durations, dt.timedelta()) / len(self.durations)

    @property
    def p90(self) -> dt.timedelta | None:
        return percentile_nearest_rank(self.durations, 90)

    @property
    def average_days(self) -> float | None:
        average = self.average
        return None if average is None else average / ONE_DAY

    @property
    def p90_days(self) -> float | None:
        p90 = self.p90
        return None if p90 is None else p90 / ONE_DAY

    @property
    def decision_automation_share(self) -> float | None:
        """Automatically decided cases / decided cases (0..1), None without decisions."""
        return _share(self.automatic_decisions, self.decided_cases)

    @property
    def task_automation_share(self) -> float | None:
        """Automatically completed tasks / completed tasks (0..1), None without completed tasks."""
        return _share(self.automatic_tasks, self.completed_tasks)

    @property
    def is_empty(self) -> bool:
        return not any(
            (self.new_cases, self.open_cases, self.decided_cases, self.closed_cases, self.overdue_tasks,
             self.completed_tasks, self.media_breaks)
        )  # fmt: skip

    def add(self, other: Figures) -> None:
        for name in ("new_cases", "open_cases", "decided_cases", "closed_cases", "overdue_tasks",
                     "automatic_decisions", "completed_tasks", "automatic_tasks", "media_breaks"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.durations.extend(other.durations)


# (key, English header) in export order; the views translate the headers.
COLUMNS: list[tuple[str, str]] = [
    ("label", gettext_noop("Organisational unit")),
    ("new_cases", gettext_noop("New cases")),
    ("open_cases", gettext_noop("Open cases at the end of the period")),
    ("decided_cases", gettext_noop("Decided cases")),
    ("closed_cases", gettext_noop("Closed cases")),
    ("average_days", gettext_noop("Average processing time (days)")),
    ("p90_days", gettext_noop("90th percentile of processing time (days)")),
    ("overdue_tasks", gettext_noop("Overdue open tasks (now)")),
    ("automatic_decisions", gettext_noop("Decided automatically")),
    ("decision_automation_share", gettext_noop("Automation share of decisions (%)")),
    ("completed_tasks", gettext_noop("Completed tasks")),
    ("automatic_tasks", gettext_noop("Tasks completed automatically")),
    ("task_automation_share", gettext_noop("Automation share of tasks (%)")),
    ("media_breaks", gettext_noop("Media breaks")),
]


def row_values(figures: Figures) -> list[Any]:
    """The row as exported: counts as ints, days rounded to 2 places, shares as percent rounded to 1 place."""
    values: list[Any] = []
    for key, _header in COLUMNS:
        value = getattr(figures, key)
        if value is None:
            values.append(None)
        elif key in ("average_days", "p90_days"):
            values.append(round(value, 2))
        elif key.endswith("_share"):
            values.append(round(value * 100, 1))
        else:
            values.append(value)
    return values


def _units_in_tree_order(municipality: Municipality) -> list[OrgUnit]:
    units = list(OrgUnit.objects.filter(municipality=municipality).order_by("name", "pk"))
    children: dict[int | None, list[OrgUnit]] = defaultdict(list)
    known = {u.pk for u in units}
    for unit in units:
        children[unit.parent_id if unit.parent_id in known else None].append(unit)
    ordered: list[OrgUnit] = []

    def visit(parent: int | None, depth: int) -> None:
        for unit in children.get(parent, []):
            unit.depth = depth  # type: ignore[attr-defined]
            ordered.append(unit)
            visit(unit.pk, depth + 1)

    visit(None, 0)
    return ordered


def _counts(rows: Any) -> dict[int | None, int]:
    return {row["key"]: row["n"] for row in rows}


def unit_statistics(
    municipality: Municipality,
    period: Period,
    *,
    now: dt.datetime | None = None,
    no_unit_label: str = "No responsible unit",
    total_label: str = "Total",
) -> list[Figures]:
    """One :class:`Figures` per org unit of the city (tree order), one for cases/tasks without a unit
    (only when it has any figure), and the city's total as the last row."""
    now = now or timezone.now()
    start, end = period.start, period.end
    cases = Case.objects.filter(municipality=municipality)
    tasks = Task.objects.filter(case__municipality=municipality)

    def by_case_unit(queryset: Any) -> dict[int | None, int]:
        return _counts(queryset.values(key=F_UNIT).annotate(n=Count("pk")).order_by())

    new = by_case_unit(cases.filter(opened_at__gte=start, opened_at__lt=end))
    open_ = by_case_unit(cases.filter(opened_at__lt=end).filter(Q(decided_at__isnull=True) | Q(decided_at__gte=end)))
    closed = by_case_unit(cases.filter(closed_at__gte=start, closed_at__lt=end))
    decided = list(
        cases.filter(decided_at__gte=start, decided_at__lt=end).values_list(
            "org_unit_id", "opened_at", "decided_at", "decided_automatically", "media_breaks"
        )
    )
    overdue = _counts(
        tasks.filter(status=Task.Status.OPEN, due_at__lt=now).values(key=F_UNIT).annotate(n=Count("pk")).order_by()
    )
    completed_rows = (
        tasks.filter(status=Task.Status.DONE, completed_at__gte=start, completed_at__lt=end)
        .values(key=F_UNIT)
        .annotate(n=Count("pk"), auto=Count("pk", filter=Q(completed_automatically=True)))
        .order_by()
    )
    completed = {row["key"]: (row["n"], row["auto"]) for row in completed_rows}

    units = _units_in_tree_order(municipality)
    rows: dict[int | None, Figures] = {unit.pk: Figures(label=unit.name, unit=unit) for unit in units}
    rows[None] = Figures(label=no_unit_label)

    def row(key: int | None) -> Figures:
        # A unit of another city cannot occur (cases and tasks stay in their city); be safe anyway.
        return rows[key] if key in rows else rows[None]

    for key, n in new.items():
        row(key).new_cases += n
    for key, n in open_.items():
        row(key).open_cases += n
    for key, n in closed.items():
        row(key).closed_cases += n
    for key, n in overdue.items():
        row(key).overdue_tasks += n
    for key, (n, auto) in completed.items():
        row(key).completed_tasks += n
        row(key).automatic_tasks += auto
    for unit_id, opened_at, decided_at, automatic, media_breaks in decided:
        target = row(unit_id)
        target.decided_cases += 1
        assert decided_at is not None  # noqa: S101 - filtered on decided_at above
        target.durations.append(max(decided_at - opened_at, dt.timedelta()))
        target.automatic_decisions += int(automatic)
        target.media_breaks += media_breaks

    result = [rows[unit.pk] for unit in units]
    if not rows[None].is_empty:
        result.append(rows[None])
    total = Figures(label=total_label, is_total=True)
    for figures in rows.values():
        total.add(figures)
    result.append(total)
    return result
