"""Gaps (required minus confirmed level) per person and the heat map per city (read only).

The heat map and the city's roadMAP aggregate in SQL: people per (unit, role
profile) and sums of confirmed levels per (competence, unit, profile), so their
cost grows with units × competences, not with staff × assessments. A cell of
fewer than ``MIN_CELL`` people is never shown, not even its count.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Count, Q, Sum
from django.utils import timezone

from dikom.competences import levelsums
from dikom.competences.models import Assessment, LevelSum, RoleProfile, StaffProfile

MIN_CELL = 5


@dataclass
class PersonRow:
    code: str
    title: str
    area_title: str
    required: int | None
    self_level: int | None
    confirmed_level: int | None
    status: str
    assessment: Assessment | None

    @property
    def gap(self) -> int | None:
        if self.required is None:
            return None
        return max(self.required - (self.confirmed_level or 0), 0)


def person_rows(staff: StaffProfile, language: str = "de") -> list[PersonRow]:
    profile = staff.role_profile
    if profile is None:
        return []
    version = profile.framework_version
    latest: dict[str, Assessment] = {}
    confirmed: dict[str, int] = {}
    for a in staff.assessments.filter(framework_version=version).order_by("created_at", "id"):
        latest[a.competence_code] = a
        if a.confirmed_level is not None:
            confirmed[a.competence_code] = a.confirmed_level
    rows = []
    for competence in version.competences():
        code = competence["code"]
        current = latest.get(code)
        rows.append(
            PersonRow(
                code=code,
                title=competence["title"].get(language) or competence["title"]["de"],
                area_title=competence["area_title"].get(language) or competence["area_title"]["de"],
                required=profile.requirements.get(code),
                self_level=current.self_level if current else None,
                confirmed_level=confirmed.get(code),
                status=current.status if current else "",
                assessment=current,
            )
        )
    return rows


@dataclass
class Cell:
    people: int
    average_level: float | None = None
    average_required: float | None = None

    @property
    def hidden(self) -> bool:
        return self.people < MIN_CELL

    @property
    def gap(self) -> float | None:
        if self.hidden or self.average_level is None or self.average_required is None:
            return None
        return round(max(self.average_required - self.average_level, 0.0), 1)

    @property
    def severity(self) -> str:
        gap = self.gap
        if gap is None:
            return "none"
        return "high" if gap >= 2 else "medium" if gap >= 1 else "low"


@dataclass
class HeatMap:
    units: list[tuple[int, str]]
    competences: list[tuple[str, str]]
    cells: dict[tuple[str, int], Cell] = field(default_factory=dict)
    trend_quarters: list[str] = field(default_factory=list)
    trend: dict[str, list[float | None]] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "code": code,
                "title": title,
                "cells": [self.cells.get((code, unit_id), Cell(0)) for unit_id, _name in self.units],
                "trend": self.trend.get(code, []),
            }
            for code, title in self.competences
        ]


def _quarter_ends(count: int, today: datetime.date) -> list[tuple[str, datetime.datetime]]:
    quarter = (today.month - 1) // 3
    year = today.year
    result = []
    for _ in range(count):
        end_month = quarter * 3 + 3
        end = (
            datetime.datetime(year + 1, 1, 1, tzinfo=datetime.UTC)
            if end_month == 12
            else datetime.datetime(year, end_month + 1, 1, tzinfo=datetime.UTC)
        )
        result.append((f"Q{quarter + 1}/{year}", end))
        quarter -= 1
        if quarter < 0:
            quarter, year = 3, year - 1
    return list(reversed(result))


def _city_staff(municipality_id: int, unit_ids: set[int] | None = None) -> Any:
    staff = StaffProfile.objects.filter(
        municipality_id=municipality_id, left_on__isnull=True, role_profile__isnull=False, org_unit__isnull=False
    )
    if unit_ids is not None:
        staff = staff.filter(org_unit_id__in=unit_ids)
    return staff


def _level_sums(
    municipality_id: int, unit_ids: set[int] | None, quarter_ends: list[datetime.datetime]
) -> dict[tuple[str, int, int], list[int]]:
    """Sums of confirmed levels per (competence, unit, role profile), from the maintained ``LevelSum``.

    Value: [sum of the current levels, sum of the levels valid at each of ``quarter_ends``]. Only
    levels against the framework version of the person's profile count; a level is valid at T when
    it was reviewed before T and not superseded (``Assessment.superseded_at``) before T. The table
    holds the changes per quarter (see ``levelsums.py``), so a quarter end that is not the start of
    a quarter (UTC) falls back to the recomputation; the same figures as ``level_sums_recomputed``.
    """
    quarters = []
    for end in quarter_ends:
        utc = end.astimezone(datetime.UTC)
        if (utc.month - 1) % 3 or utc.day != 1 or utc.timetz() != datetime.time(0, tzinfo=datetime.UTC):
            return level_sums_recomputed(municipality_id, unit_ids, quarter_ends)
        quarters.append(levelsums.quarter_index(utc) - 1)  # the last quarter before that end
    rows = LevelSum.objects.filter(municipality_id=municipality_id)
    if unit_ids is not None:
        rows = rows.filter(org_unit_id__in=unit_ids)
    version_of = dict(RoleProfile.objects.values_list("pk", "framework_version_id"))
    sums: dict[str, Any] = {"now": Sum("delta")}
    for i, quarter in enumerate(quarters):
        sums[f"q{i}"] = Sum("delta", filter=Q(quarter__lte=quarter))
    result: dict[tuple[str, int, int], list[int]] = {}
    # Grouped in the order of the unique index (city, unit, profile, competence, version, quarter),
    # so the databases can aggregate along the index instead of hashing or sorting; tuples, not
    # dicts: ~2 500 groups for a city of 5 000 staff and 50 competences.
    grouped = (
        rows.order_by()
        .values("org_unit_id", "role_profile_id", "competence_code", "framework_version_id")
        .annotate(**sums)
        .values_list("org_unit_id", "role_profile_id", "competence_code", "framework_version_id", *sums)
    )
    # The ORM's SQL, read with a plain cursor: both drivers already return ints, and the ORM's
    # per-value converters cost more than the query's own time in Python (≈ 12 500 values).
    try:
        sql, params = grouped.query.get_compiler(using=grouped.db).as_sql()
    except EmptyResultSet:  # no units to show (e.g. a manager whose units are gone)
        return result
    with connections[grouped.db].cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    for unit_id, profile_id, code, version_id, *values in fetched:
        if version_of.get(profile_id) != version_id:
            continue  # levels against another framework version than the person's profile
        result[(code, unit_id, profile_id)] = [value or 0 for value in values]
    return result


def level_sums_recomputed(
    municipality_id: int, unit_ids: set[int] | None, quarter_ends: list[datetime.datetime]
) -> dict[tuple[str, int, int], list[int]]:
    """``_level_sums`` recomputed from the assessments: the reference the maintained table must match.

    Reads every confirmed level of the city (≈ 300 000 rows for 5 000 staff × 50 competences);
    used by the tests and by ``manage.py rebuild_level_sums --check``. Value: [sum of the current levels, sum of the levels valid at each of ``quarter_ends``]. Only
    levels against the framework version of the person's profile count; a level is valid at T when
    it was reviewed before T and not superseded (``Assessment.superseded_at``) before T.
    """
    # A plain join from the city's staff (SQLite plans an IN-subquery or a join through the role
    # profile as a scan per person); the framework version is checked per group below.
    rows = Assessment.objects.filter(
        staff__municipality_id=municipality_id,
        staff__left_on__isnull=True,
        staff__role_profile__isnull=False,
        staff__org_unit__isnull=False,
        confirmed_level__isnull=False,
        reviewed_at__isnull=False,
    )
    if unit_ids is not None:
        rows = rows.filter(staff__org_unit_id__in=unit_ids)
    version_of = dict(RoleProfile.objects.values_list("pk", "framework_version_id"))
    sums: dict[str, Any] = {"now": Sum("confirmed_level", filter=Q(superseded_at__isnull=True))}
    for i, end in enumerate(quarter_ends):
        valid = Q(reviewed_at__lt=end) & (Q(superseded_at__isnull=True) | Q(superseded_at__gte=end))
        sums[f"q{i}"] = Sum("confirmed_level", filter=valid)
    result: dict[tuple[str, int, int], list[int]] = {}
    # order_by(): no default ordering (it would join the person's city and user into the GROUP BY)
    grouped = (
        rows.order_by()
        .values("competence_code", "staff__org_unit_id", "staff__role_profile_id", "framework_version_id")
        .annotate(**sums)
    )
    for row in grouped:
        values: dict[str, Any] = dict(row)
        if version_of.get(values["staff__role_profile_id"]) != values["framework_version_id"]:
            continue  # levels against another framework version than the person's profile
        key = (values["competence_code"], values["staff__org_unit_id"], values["staff__role_profile_id"])
        result[key] = [values["now"] or 0, *[values[f"q{i}"] or 0 for i in range(len(quarter_ends))]]
    return result


def city_heat_map(municipality_id: int, *, unit_ids: set[int] | None = None, language: str = "de") -> HeatMap:
    """Competence × org unit for the city's staff with a role profile (optionally only some units).

    Three small queries: people per (unit, role profile), the profiles, and the level sums per
    (competence, unit, profile) for now and the end of the last four quarters (``_level_sums``).
    """
    counts = list(
        _city_staff(municipality_id, unit_ids)
        .order_by()
        .values("org_unit_id", "org_unit__name", "role_profile_id")
        .annotate(n=Count("id"))
        .values_list("org_unit_id", "org_unit__name", "role_profile_id", "n")
    )
    profiles = {
        p.pk: p
        for p in RoleProfile.objects.filter(pk__in={p for *_r, p, _n in counts}).select_related("framework_version")
    }
    units = sorted({(u, name) for u, name, _p, _n in counts}, key=lambda item: item[1])
    titles: dict[str, str] = {}
    order: list[str] = []
    for profile in profiles.values():
        for competence in profile.framework_version.competences():
            if competence["code"] in profile.requirements and competence["code"] not in titles:
                titles[competence["code"]] = competence["title"].get(language) or competence["title"]["de"]
                order.append(competence["code"])
    quarters = _quarter_ends(4, timezone.localdate())
    levels = _level_sums(municipality_id, unit_ids, [end for _label, end in quarters])
    nothing = [0] * (len(quarters) + 1)
    # (competence, unit) → [people, sum of current levels, sum of required levels]; competence →
    # [people, sum of the levels at each quarter end]. Integers: exact, whatever the order of the groups.
    sums: dict[tuple[str, int], list[int]] = {}
    trend_sums: dict[str, list[int]] = {}
    for unit_id, _name, profile_id, n in counts:
        for code, required in profiles[profile_id].requirements.items():
            level = levels.get((code, unit_id, profile_id), nothing)
            bucket = sums.get((code, unit_id))
            if bucket is None:
                sums[(code, unit_id)] = [n, level[0], required * n]
            else:
                bucket[0] += n
                bucket[1] += level[0]
                bucket[2] += required * n
            trend = trend_sums.get(code)
            if trend is None:
                trend_sums[code] = [n, *level[1:]]
            else:
                trend[0] += n
                for i in range(1, len(trend)):
                    trend[i] += level[i]
    heat = HeatMap(units=units, competences=[(c, titles[c]) for c in order])
    for key, (people, level_sum, required_sum) in sums.items():
        heat.cells[key] = (
            Cell(people)
            if people < MIN_CELL
            else Cell(people, round(level_sum / people, 1), round(required_sum / people, 1))
        )
    # Trend: average confirmed level of the city per competence at the end of the last four quarters
    # (people without a confirmed level then count as 0).
    heat.trend_quarters = [label for label, _end in quarters]
    for code in order:
        people, *values = trend_sums.get(code, nothing)
        heat.trend[code] = [round(v / people, 1) if people >= MIN_CELL else None for v in values]
    return heat


def comparison(municipality_ids: list[int], language: str = "de") -> dict[int, dict[str, float | None]]:
    """Average gap per competence for each opted-in city, from visible cells only (None: too few people)."""
    result: dict[int, dict[str, float | None]] = {}
    for municipality_id in municipality_ids:
        heat = city_heat_map(municipality_id, language=language)
        per_code: dict[str, float | None] = {}
        for code, _title in heat.competences:
            people = 0
            weighted = 0.0
            for unit_id, _name in heat.units:
                cell = heat.cells.get((code, unit_id))
                if cell is None or cell.gap is None:
                    continue
                people += cell.people
                weighted += cell.gap * cell.people
            per_code[code] = round(weighted / people, 1) if people >= MIN_CELL else None
        result[municipality_id] = per_code
    return result


@dataclass
class GapMatch:
    row: PersonRow
    trainings: list[Any]


def matching_trainings(staff: StaffProfile, rows: list[PersonRow], *, per_gap: int = 3) -> list[GapMatch]:
    """For each gap of the person: upcoming trainings of any city that build the competence above their level.

    A training matches when it targets the competence in the same framework (any version) with a
    target level above the confirmed level; the ones reaching closest to the required level come first.
    """
    from dikom.competences.models import Training

    profile = staff.role_profile
    gap_rows = [r for r in rows if r.gap]
    if profile is None or not gap_rows:
        return []
    candidates = list(
        Training.objects.filter(
            cancelled=False,
            starts_at__gt=timezone.now(),
            framework_version__framework_id=profile.framework_version.framework_id,
        )
        .select_related("offered_by")
        .order_by("starts_at")[:500]
    )
    result = []
    for row in gap_rows:
        confirmed = row.confirmed_level or 0
        required = row.required or 0
        found = [t for t in candidates if t.targets.get(row.code, 0) > confirmed]
        found.sort(key=lambda t: (abs(required - t.targets[row.code]), t.starts_at))
        result.append(GapMatch(row=row, trainings=found[:per_gap]))
    return result


# --- the digitalisation officer's roadMAP per city ----------------------------------------------


@dataclass
class RoadmapRow:
    code: str
    title: str
    total: Cell
    departments: list[Cell]
    booked: int
    completed: int

    @property
    def cells(self) -> list[Cell]:
        """The whole city, then each department."""
        return [self.total, *self.departments]

    @staticmethod
    def shown(count: int) -> int | None:
        """Counts of people follow the same rule as cells: 1 to 4 are not shown (None)."""
        return None if 0 < count < MIN_CELL else count

    @property
    def booked_shown(self) -> int | None:
        return self.shown(self.booked)

    @property
    def completed_shown(self) -> int | None:
        return self.shown(self.completed)


@dataclass
class Roadmap:
    departments: list[tuple[int, str]]
    rows: list[RoadmapRow]
    people: int


def _department_of(municipality_id: int) -> dict[int, tuple[int, str]]:
    """Each unit of the city mapped to its top-level unit (the department it belongs to)."""
    from dikom.municipalities.models import OrgUnit

    units = {
        u: (p, n)
        for u, p, n in OrgUnit.objects.filter(municipality_id=municipality_id).values_list("id", "parent_id", "name")
    }
    result: dict[int, tuple[int, str]] = {}
    for unit_id in units:
        current, seen = unit_id, set()
        while units[current][0] is not None and units[current][0] in units and current not in seen:
            seen.add(current)
            current = units[current][0]
        result[unit_id] = (current, units[current][1])
    return result


def city_roadmap(municipality_id: int, *, language: str = "de") -> Roadmap:
    """Needs against present competences per department, with trainings booked and completed.

    Same data and the same rule as the heat map: a department cell or a count of fewer than
    ``MIN_CELL`` people is never shown.
    """
    from dikom.competences.models import Enrolment, Training

    counts = list(
        _city_staff(municipality_id)
        .order_by()
        .values("org_unit_id", "role_profile_id")
        .annotate(n=Count("id"))
        .values_list("org_unit_id", "role_profile_id", "n")
    )
    profiles = {
        p.pk: p
        for p in RoleProfile.objects.filter(pk__in={p for _u, p, _n in counts}).select_related("framework_version")
    }
    department = _department_of(municipality_id)
    departments = sorted({department[u] for u, _p, _n in counts if u in department}, key=lambda d: d[1])
    titles: dict[str, str] = {}
    for profile in profiles.values():
        for competence in profile.framework_version.competences():
            if competence["code"] in profile.requirements:
                titles.setdefault(competence["code"], competence["title"].get(language) or competence["title"]["de"])
    levels = _level_sums(municipality_id, None, [])
    nothing = [0]
    # (competence, department or None for the whole city) → [people, level sum, required sum] (integers)
    sums: dict[tuple[str, int | None], list[int]] = {}
    for unit_id, profile_id, n in counts:
        dept = department.get(unit_id, (unit_id, ""))[0]
        for code, required in profiles[profile_id].requirements.items():
            level = levels.get((code, unit_id, profile_id), nothing)[0]
            for key in ((code, dept), (code, None)):
                bucket = sums.get(key)
                if bucket is None:
                    sums[key] = [n, level, required * n]
                else:
                    bucket[0] += n
                    bucket[1] += level
                    bucket[2] += required * n

    def cell(key: tuple[str, int | None]) -> Cell:
        n, level_sum, required_sum = sums.get(key, (0, 0, 0))
        if n < MIN_CELL:
            return Cell(n)
        return Cell(n, round(level_sum / n, 1), round(required_sum / n, 1))

    booked: dict[str, set[int]] = {}
    completed: dict[str, set[int]] = {}
    # The competences of each training once (not its JSON per enrolment: 2 000 enrolments, 20 trainings).
    enrolments = list(
        Enrolment.objects.filter(
            staff__municipality_id=municipality_id,
            status__in=[Enrolment.Status.ENROLLED, Enrolment.Status.WAITING, Enrolment.Status.COMPLETED],
        )
        .order_by()
        .values_list("training_id", "staff_id", "status")
    )
    targets_of = dict(Training.objects.filter(pk__in={t for t, _s, _st in enrolments}).values_list("pk", "targets"))
    for training_id, staff_id, status in enrolments:
        target = completed if status == Enrolment.Status.COMPLETED else booked
        for code in targets_of.get(training_id) or {}:
            target.setdefault(code, set()).add(staff_id)
    order = sorted(titles, key=lambda c: [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in c.split(".")])
    rows = [
        RoadmapRow(
            code=code,
            title=titles[code],
            total=cell((code, None)),
            departments=[cell((code, d)) for d, _name in departments],
            booked=len(booked.get(code, ())),
            completed=len(completed.get(code, ())),
        )
        for code in order
    ]
    return Roadmap(departments=departments, rows=rows, people=sum(n for _u, _p, n in counts))
