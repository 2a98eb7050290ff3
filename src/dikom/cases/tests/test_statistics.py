"""Case statistics for leaders: figures per org unit against independently computed numbers, exports, access."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import math
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import statistics
from dikom.cases.models import Case, Task
from dikom.municipalities.models import OrgUnit
from dikom.municipalities.tests.factories import OrgUnitFactory
from dikom.portal.models import Application
from dikom.portal.tests.conftest import FAMILY, release_and_adopt

BERLIN = ZoneInfo("Europe/Berlin")
# The period of the fixture: March 2024 in Berlin time (the clocks change on 31 March).
FIRST, LAST = dt.date(2024, 3, 1), dt.date(2024, 3, 31)
START = dt.datetime(2024, 3, 1, tzinfo=BERLIN)
END = dt.datetime(2024, 4, 1, tzinfo=BERLIN)
QUERY = "period=custom&start=2024-03-01&end=2024-03-31"

# Processing times (days) of Bürgerbüro's cases decided in March; * marks automatic decisions.
BB_DAYS = [0.5, 1.25, 2, 3, 3, 4.5, 7, 10, 12.75, 30]
BB_AUTOMATIC = {1, 3, 7}  # indexes into BB_DAYS
BB_MEDIA = {0: 2, 4: 1}


def at(day: int, hour: int = 12, month: int = 3) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, tzinfo=BERLIN)


class Fixture:
    """Creates cases and tasks with known dates and keeps a plain list of them for the expected numbers."""

    def __init__(self, city: Any, adoption: Any) -> None:
        self.city = city
        self.adoption = adoption
        self.cases: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.counter = 0

    def case(
        self,
        unit: OrgUnit | None,
        opened: dt.datetime,
        decided: dt.datetime | None = None,
        closed: dt.datetime | None = None,
        *,
        automatic: bool = False,
        media: int = 0,
        waiting: bool = False,
    ) -> Case:
        self.counter += 1
        reference = f"ST-{self.city.slug}-{self.counter:03d}"
        application = Application.objects.create(
            municipality=self.city,
            adoption=self.adoption,
            version=self.adoption.version,
            status=Application.Status.DECIDED if decided else Application.Status.IN_PROCESSING,
            reference=reference,
            submitted_at=opened,
        )
        if closed:
            status = Case.Status.CLOSED
        elif decided:
            status = Case.Status.DECIDED
        else:
            status = Case.Status.WAITING if waiting else Case.Status.OPEN
        case = Case.objects.create(
            reference=reference,
            municipality=self.city,
            org_unit=unit,
            application=application,
            service_slug="familienzuschuss",
            service_title="Familienzuschuss",
            status=status,
            outcome=Case.Outcome.APPROVED if decided else "",
            opened_at=opened,
            decided_at=decided,
            closed_at=closed,
            decided_automatically=automatic,
            media_breaks=media,
        )
        self.cases.append({"unit": unit.pk if unit else None, "opened": opened, "decided": decided,
                           "closed": closed, "automatic": automatic, "media": media})  # fmt: skip
        return case

    def task(
        self,
        case: Case,
        unit: OrgUnit | None,
        *,
        status: str = Task.Status.OPEN,
        due: dt.datetime | None = None,
        completed: dt.datetime | None = None,
        automatic: bool = False,
    ) -> Task:
        task = Task.objects.create(
            case=case, name="Prüfen", org_unit=unit, status=status, due_at=due,
            completed_at=completed, completed_automatically=automatic,
        )  # fmt: skip
        self.tasks.append({"unit": unit.pk if unit else None, "status": status, "due": due,
                           "completed": completed, "automatic": automatic})  # fmt: skip
        return task


@pytest.fixture
def units(city_a: Any) -> dict[str, OrgUnit]:
    dezernat = OrgUnitFactory(municipality=city_a, name="Dezernat II", kind=OrgUnit.Kind.DEPARTMENT)
    return {
        "dezernat": dezernat,
        "bb": OrgUnitFactory(municipality=city_a, name="Bürgerbüro", parent=dezernat),
        "oa": OrgUnitFactory(municipality=city_a, name="Ordnungsamt"),
    }


@pytest.fixture
def data(city_a: Any, city_b: Any, units: dict[str, OrgUnit]) -> Fixture:
    fixture = Fixture(city_a, release_and_adopt(copy.deepcopy(FAMILY), city_a))
    bb, oa = units["bb"], units["oa"]
    now = timezone.now()
    # Bürgerbüro: ten cases decided in March with known processing times, some opened in February.
    decided_cases = []
    for index, days in enumerate(BB_DAYS):
        decided = at(5 + 2 * index, hour=9 + index)
        decided_cases.append(
            fixture.case(
                bb,
                decided - dt.timedelta(days=days),
                decided,
                closed=at(29) if index % 3 == 0 else (at(3, month=4) if index == 1 else None),
                automatic=index in BB_AUTOMATIC,
                media=BB_MEDIA.get(index, 0),
            )
        )
    fixture.case(bb, at(1, month=2), at(28, month=2), at(29, month=2))  # decided and closed before March
    fixture.case(bb, at(10), at(2, month=4))  # opened in March, decided after it: open at the end of March
    fixture.case(bb, at(20), waiting=True)  # still waiting for the citizen
    fixture.case(bb, at(1, hour=0))  # opened at the first moment of the period
    fixture.case(bb, at(1, hour=0, month=4))  # opened at the end of the period: not in it
    fixture.case(bb, at(15, month=2))  # opened before March, still open
    # Ordnungsamt: one automatic decision of exactly two days, one open case.
    fixture.case(oa, at(3), at(5), automatic=True)
    fixture.case(oa, at(31, hour=23))
    # A case without a responsible unit.
    fixture.case(None, at(2), at(4, hour=18))
    # Tasks: counted for the unit that has to do them.
    first = decided_cases[0]
    fixture.task(first, bb, status=Task.Status.DONE, completed=at(6))
    fixture.task(first, bb, status=Task.Status.DONE, completed=at(7), automatic=True)
    fixture.task(first, bb, status=Task.Status.DONE, completed=at(31, hour=23))
    fixture.task(first, bb, status=Task.Status.DONE, completed=at(1, hour=0, month=4))  # after the period
    fixture.task(first, bb, status=Task.Status.DONE, completed=at(20, month=2))  # before the period
    fixture.task(first, oa, status=Task.Status.DONE, completed=at(8), automatic=True)  # a consultation
    fixture.task(first, bb, due=now - dt.timedelta(days=1))
    fixture.task(first, bb, due=now - dt.timedelta(minutes=5))
    fixture.task(first, bb, due=now + dt.timedelta(days=2))
    fixture.task(first, bb)
    fixture.task(first, bb, status=Task.Status.CANCELLED, due=now - dt.timedelta(days=3))
    fixture.task(first, oa, due=now - dt.timedelta(days=10))
    fixture.task(first, None, due=now - dt.timedelta(days=1))
    # Another city's case in the same period counts nowhere here.
    other = Fixture(city_b, release_and_adopt(copy.deepcopy(FAMILY), city_b, suffix=" B"))
    other_case = other.case(OrgUnitFactory(municipality=city_b, name="Bürgerbüro"), at(2), at(9), automatic=True)
    other.task(other_case, None, due=now - dt.timedelta(days=1))
    return fixture


def expected(fixture: Fixture, unit: int | str | None, now: dt.datetime) -> dict[str, Any]:
    """The figures of one unit ("total" for all), computed from the fixture's plain list."""
    cases = [c for c in fixture.cases if unit == "total" or c["unit"] == unit]
    tasks = [t for t in fixture.tasks if unit == "total" or t["unit"] == unit]

    def within(moment: dt.datetime | None) -> bool:
        return moment is not None and START <= moment < END

    decided = [c for c in cases if within(c["decided"])]
    days = sorted((c["decided"] - c["opened"]).total_seconds() / 86400 for c in decided)
    completed = [t for t in tasks if t["status"] == "done" and within(t["completed"])]
    automatic = sum(1 for c in decided if c["automatic"])
    return {
        "new_cases": sum(1 for c in cases if within(c["opened"])),
        "open_cases": sum(1 for c in cases if c["opened"] < END and (c["decided"] is None or c["decided"] >= END)),
        "decided_cases": len(decided),
        "closed_cases": sum(1 for c in cases if within(c["closed"])),
        "average_days": sum(days) / len(days) if days else None,
        "p90_days": days[math.ceil(0.9 * len(days)) - 1] if days else None,
        "overdue_tasks": sum(1 for t in tasks if t["status"] == "open" and t["due"] and t["due"] < now),
        "automatic_decisions": automatic,
        "decision_automation_share": automatic / len(decided) if decided else None,
        "completed_tasks": len(completed),
        "automatic_tasks": sum(1 for t in completed if t["automatic"]),
        "task_automation_share": sum(1 for t in completed if t["automatic"]) / len(completed) if completed else None,
        "media_breaks": sum(c["media"] for c in decided),
    }


def figures_dict(figures: statistics.Figures) -> dict[str, Any]:
    return {key: getattr(figures, key) for key, _header in statistics.COLUMNS[1:]}


def approx(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (pytest.approx(v, abs=1e-9) if isinstance(v, float) else v) for k, v in values.items()}


# --- The figures --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_figures_per_unit_match_independent_computation(data: Fixture, units: dict[str, OrgUnit]) -> None:
    now = timezone.now()
    rows = statistics.unit_statistics(data.city, statistics.Period.between(FIRST, LAST), now=now)
    assert [r.label for r in rows] == ["Dezernat II", "Bürgerbüro", "Ordnungsamt", "No responsible unit", "Total"]
    by_label = {r.label: r for r in rows}
    for label, key in [("Dezernat II", units["dezernat"].pk), ("Bürgerbüro", units["bb"].pk),
                       ("Ordnungsamt", units["oa"].pk), ("No responsible unit", None), ("Total", "total")]:  # fmt: skip
        assert figures_dict(by_label[label]) == approx(expected(data, key, now)), label


@pytest.mark.django_db
def test_known_values_of_the_fixture(data: Fixture) -> None:
    """The same figures written out by hand, so a shared mistake of code and test helper would show."""
    rows = {r.label: r for r in statistics.unit_statistics(data.city, statistics.Period.between(FIRST, LAST))}
    bb = rows["Bürgerbüro"]
    assert bb.decided_cases == 10 and bb.automatic_decisions == 3
    assert bb.average_days == pytest.approx(7.4)  # 74 days / 10 cases
    assert bb.p90_days == pytest.approx(12.75)  # nearest rank: the 9th of 10 (interpolation would give 14.475)
    assert bb.decision_automation_share == pytest.approx(0.3)
    # Opened in March: nine of the decided ones (the 30-day case was opened in February),
    # the one decided in April, the waiting one and the one opened at 00:00 on 1 March.
    assert bb.new_cases == 12
    # Open at the end of March: decided in April, waiting, opened on 1 March, opened in February.
    assert bb.open_cases == 4
    assert bb.closed_cases == 4  # indexes 0, 3, 6, 9 closed on 29 March
    assert (bb.completed_tasks, bb.automatic_tasks, bb.overdue_tasks) == (3, 1, 2)
    assert bb.media_breaks == 3
    # The parent unit has no cases of its own: a unit's row does not include the units below it.
    dezernat = rows["Dezernat II"]
    assert (dezernat.decided_cases, dezernat.open_cases, dezernat.average_days, dezernat.p90_days) == (0, 0, None, None)
    assert dezernat.decision_automation_share is None and dezernat.task_automation_share is None
    oa = rows["Ordnungsamt"]
    assert (oa.average_days, oa.p90_days, oa.decision_automation_share) == (2.0, 2.0, 1.0)
    assert (oa.completed_tasks, oa.automatic_tasks, oa.overdue_tasks) == (1, 1, 1)
    total = rows["Total"]
    assert total.decided_cases == 12  # ten + Ordnungsamt + no unit; not the other city's case
    assert total.overdue_tasks == 4  # not the other city's task
    assert total.automatic_decisions == 4


@pytest.mark.django_db
def test_query_count_does_not_grow_with_units(data: Fixture, city_a: Any) -> None:
    period = statistics.Period.between(FIRST, LAST)
    with CaptureQueriesContext(connection) as few:
        statistics.unit_statistics(city_a, period)
    for number in range(8):
        OrgUnitFactory(municipality=city_a, name=f"Amt {number}")
    with CaptureQueriesContext(connection) as many:
        rows = statistics.unit_statistics(city_a, period)
    assert len(rows) == 13
    assert len(many.captured_queries) == len(few.captured_queries)


def test_p90_is_nearest_rank_and_exact() -> None:
    assert statistics.percentile_nearest_rank([], 90) is None
    assert statistics.percentile_nearest_rank([5], 90) == 5
    assert statistics.percentile_nearest_rank(list(range(1, 11)), 90) == 9  # 9 of 10
    assert statistics.percentile_nearest_rank(list(range(1, 12)), 90) == 10  # ceil(9.9) = 10 of 11
    assert statistics.percentile_nearest_rank(list(range(1, 21)), 90) == 18  # 18 of 20
    assert statistics.percentile_nearest_rank(list(range(1, 101)), 90) == 90
    # Order of the input does not matter; durations work as well as numbers.
    durations = [dt.timedelta(hours=h) for h in (30, 1, 7, 2, 100, 3, 4, 5, 6, 8)]
    assert statistics.percentile_nearest_rank(durations, 90) == dt.timedelta(hours=30)


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=200))
def test_p90_is_the_smallest_value_covering_ninety_percent(values: list[int]) -> None:
    p90 = statistics.percentile_nearest_rank(values, 90)
    assert p90 in values
    # At least 90 % of the values are <= p90, and no smaller observed value has that property.
    assert 10 * sum(1 for v in values if v <= p90) >= 9 * len(values)
    smaller = [v for v in values if v < p90]
    if smaller:
        assert 10 * sum(1 for v in values if v <= max(smaller)) < 9 * len(values)


def test_period_of_whole_days_in_berlin_time() -> None:
    period = statistics.Period.between(FIRST, LAST)
    assert period.start == START and period.end == END
    assert (period.first_day, period.last_day) == (FIRST, LAST)


# --- Page and exports ---------------------------------------------------------------------------


def export_rows_from_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def expected_export_row(values: dict[str, Any]) -> list[Any]:
    row: list[Any] = []
    for key, _header in statistics.COLUMNS[1:]:
        value = values[key]
        if value is None:
            row.append(None)
        elif key.endswith("_days"):
            row.append(round(value, 2))
        elif key.endswith("_share"):
            row.append(round(value * 100, 1))
        else:
            row.append(value)
    return row


@pytest.mark.django_db
def test_csv_and_xlsx_contain_the_same_numbers(
    client: Client, login: Any, owner: Any, data: Fixture, units: dict[str, OrgUnit]
) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    login(client, owner)
    now = timezone.now()
    response = client.get(f"/vorgaenge/fulda/statistik.csv?{QUERY}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="statistik-fulda-2024-03-01-2024-03-31.csv"' in response["Content-Disposition"]
    rows = export_rows_from_csv(response.content)
    assert len(rows[0]) == len(statistics.COLUMNS)
    keys = {"Dezernat II": units["dezernat"].pk, "Bürgerbüro": units["bb"].pk, "Ordnungsamt": units["oa"].pk}
    csv_by_label = {r[0]: r[1:] for r in rows[1:]}
    labels = [r[0] for r in rows[1:]]
    assert labels[:3] == list(keys) and len(labels) == 5  # units in tree order, then "no unit" and the total
    for label, key in [*keys.items(), (labels[3], None), (labels[4], "total")]:
        want = expected_export_row(expected(data, key, now))
        got = [None if cell == "" else (float(cell) if "." in cell else int(cell)) for cell in csv_by_label[label]]
        assert got == want, label
    assert csv_by_label["Bürgerbüro"][4:6] == ["7.4", "12.75"]  # average and p90 in days

    response = client.get(f"/vorgaenge/fulda/statistik.xlsx?{QUERY}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    xlsx_rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert xlsx_rows[0] == rows[0]  # the same headers
    for xlsx_row, csv_row in zip(xlsx_rows[1:], rows[1:], strict=True):
        assert xlsx_row[0] == csv_row[0]
        assert [v if v is None else float(v) for v in xlsx_row[1:]] == [
            None if cell == "" else float(cell) for cell in csv_row[1:]
        ]


@pytest.mark.django_db
def test_page_shows_table_with_caption_headers_and_figures(
    client: Client, login: Any, owner: Any, data: Fixture
) -> None:
    login(client, owner)
    response = client.get(f"/vorgaenge/fulda/statistik/?{QUERY}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<caption>" in html and html.count('<th scope="col"') == len(statistics.COLUMNS)
    assert html.count('<th scope="row">') == 5
    assert "Bürgerbüro" in html and "7,40" in html and "12,75" in html and "30,0&nbsp;%" in html
    assert f"statistik.csv?{QUERY.replace('&', '&amp;')}" in html
    # The preset periods work as well.
    assert client.get("/vorgaenge/fulda/statistik/?period=365").status_code == 200
    assert client.get("/vorgaenge/fulda/statistik/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=custom&start=2024-03-31&end=2024-03-01", "The last day must not be before the first day."),
        ("period=custom&start=2024-03-01", "Please enter the last day of the period."),
        ("period=custom&end=2024-03-01", "Please enter the first day of the period."),
        ("period=custom&start=2010-01-01&end=2024-03-01", "Please choose a period of at most ten years."),
        ("period=custom&start=31.02.2024&end=2024-03-01", "Enter a valid date."),
        ("period=7", "Please choose one of the offered periods."),
    ],
)
def test_invalid_periods_get_clear_messages(client: Client, login: Any, owner: Any, city_a: Any, query: str,
                                            message: str) -> None:  # fmt: skip
    from dikom.lib.testing import english_client

    english = login(english_client(), owner)
    response = english.get(f"/vorgaenge/fulda/statistik/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "<table" not in response.content.decode()
    export = english.get(f"/vorgaenge/fulda/statistik.csv?{query}")
    assert export.status_code == 400 and message in export.content.decode()


@pytest.mark.django_db
def test_access(
    client: Client, login: Any, owner: Any, colleague: Any, outsider: Any, citizen: Any, city_a: Any
) -> None:
    analyst = MembershipFactory(municipality=city_a, role=Role.ANALYST).user
    designer = MembershipFactory(municipality=city_a, role=Role.PROCESS_DESIGNER).user
    for user in (owner, colleague, analyst):
        login(client, user)
        for url in ("/vorgaenge/fulda/statistik/", "/vorgaenge/fulda/statistik.csv", "/vorgaenge/fulda/statistik.xlsx"):
            assert client.get(url).status_code == 200, (user, url)
        client.logout()
    for user, status in ((outsider, 404), (citizen, 404), (designer, 403)):
        login(client, user)
        for url in ("/vorgaenge/fulda/statistik/", "/vorgaenge/fulda/statistik.csv", "/vorgaenge/fulda/statistik.xlsx"):
            assert client.get(url).status_code == status, (user, url)
        client.logout()
    login(client, owner)
    assert client.get("/vorgaenge/gibt-es-nicht/statistik/").status_code == 404
    assert client.get("/vorgaenge/giessen/statistik/").status_code == 404  # the owner has no role in city B
    client.logout()
    response = client.get("/vorgaenge/fulda/statistik.csv")
    assert response.status_code == 302 and "/konto/" in response["Location"]


@pytest.mark.django_db
def test_unit_names_cannot_become_spreadsheet_formulas(client: Client, login: Any, owner: Any, city_a: Any) -> None:
    from openpyxl import load_workbook

    OrgUnitFactory(municipality=city_a, name='=HYPERLINK("http://example.org")')
    login(client, owner)
    rows = export_rows_from_csv(client.get("/vorgaenge/fulda/statistik.csv").content)
    assert rows[1][0].startswith("'=")
    sheet = load_workbook(io.BytesIO(client.get("/vorgaenge/fulda/statistik.xlsx").content)).active
    cell = sheet.cell(row=2, column=1)
    assert cell.data_type == "s" and str(cell.value).startswith("'=")
