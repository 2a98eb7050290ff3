"""``cases.inbox_rows`` writes the bytes the inbox template wrote for its rows (issue 21, item 4).

The reference is the rows' markup as ``cases/inbox.html`` had it before (copied here verbatim
from commit 601aedb), rendered through the template engine. Tasks and cases of every kind,
status and outcome, with and without due date (past, future), unit, assignee (with and without
a full name), names with HTML characters, lock versions past a thousand, in German and English
and in two time zones: the bytes must be equal.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import pytest
from django.template import engines
from django.utils import timezone, translation

from dikom.accounts.models import User
from dikom.cases import inbox_rows
from dikom.cases.models import Case, Task
from dikom.municipalities.models import Municipality, OrgUnit

TASK_ROWS = """{% load i18n %}{% for task in page.object_list %}<tr>
<td><input type="checkbox" name="task" value="{{ task.uuid }}" id="select-{{ task.uuid }}">
<label for="select-{{ task.uuid }}"><span class="visually-hidden">{% blocktranslate with task=task.name reference=task.case.reference %}Select “{{ task }}” of {{ reference }}{% endblocktranslate %}</span></label>
<input type="hidden" name="version-{{ task.uuid }}" value="{{ task.lock_version }}"></td>
<th scope="row"><a href="{% url 'cases:case' municipality.slug task.case.uuid %}">{{ task.case.reference }}</a></th>
<td>{{ task.name }}{% if task.kind != "workflow" %} <span class="badge badge--muted">{{ task.get_kind_display }}</span>{% endif %}</td>
<td>{{ task.case.service_title }}</td>
<td>{{ task.org_unit|default:"–" }}</td>
<td>{% if task.assignee %}{{ task.assignee.get_full_name|default:task.assignee.username }}{% else %}{% translate "nobody yet" %}{% endif %}</td>
<td>{{ task.case.get_status_display }}</td>
<td>{% include "cases/_due.html" with due=task.due_at active=True %}</td>
</tr>{% empty %}<tr><td colspan="8">{% translate "No tasks match." %}</td></tr>{% endfor %}"""

CASE_ROWS = """{% load i18n %}{% for case in page.object_list %}<tr>
<th scope="row"><a href="{% url 'cases:case' municipality.slug case.uuid %}">{{ case.reference }}</a></th>
<td>{{ case.service_title }}</td>
<td>{{ case.get_status_display }}{% if case.outcome %}<br><small>{{ case.get_outcome_display }}</small>{% endif %}</td>
<td>{{ case.org_unit|default:"–" }}</td>
<td>{% include "cases/_due.html" with due=case.due_at active=case.is_open %}</td>
<td><time datetime="{{ case.opened_at|date:'c' }}">{{ case.opened_at|date:"d.m.Y" }}</time></td>
</tr>{% empty %}<tr><td colspan="6">{% translate "No cases match." %}</td></tr>{% endfor %}"""

NASTY = "<b>\"Anna\" & 'Ben'</b> 100%"
NOW = dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.UTC)  # late evening: the day differs in Berlin
DUES = [None, NOW - dt.timedelta(minutes=1), NOW, NOW + dt.timedelta(days=3, hours=5)]


def _reference(source: str, objects: list[Any], now: dt.datetime) -> str:
    template = engines["django"].from_string(source)
    municipality = Municipality(name="Fulda", slug="fulda")
    return str(template.render({"page": {"object_list": objects}, "municipality": municipality, "now": now}))


def _case(index: int, status: str, outcome: str, due: Any, unit: OrgUnit | None, title: str) -> Case:
    return Case(
        uuid=uuid.UUID(int=index + 1),
        reference=f"FD-2026-{index:05d}" if index % 3 else f"FD<{index}>&",
        service_title=title,
        status=status,
        outcome=outcome,
        due_at=due,
        opened_at=NOW - dt.timedelta(days=index, hours=3),
        org_unit=unit,
    )


UNITS = [None, OrgUnit(name="Bürgerbüro"), OrgUnit(name=NASTY)]
PEOPLE = [None, User(username="anna", first_name="Anna", last_name="Amt"), User(username="ben<&>")]


def _cases() -> list[Case]:
    combos = itertools.product(Case.Status.values, Case.Outcome.values, DUES, UNITS, ["Hundesteuer", NASTY])
    return [_case(index, *combo) for index, combo in enumerate(combos)]


def _tasks() -> list[Task]:
    cases = _cases()
    tasks = []
    combos = itertools.product(Task.Kind.values, DUES, UNITS, PEOPLE, ["Prüfen", NASTY], [0, 7, 1234])
    for index, (kind, due, unit, person, name, version) in enumerate(combos):
        task = Task(
            uuid=uuid.UUID(int=10_000 + index),
            kind=kind,
            name=name,
            due_at=due,
            org_unit=unit,
            assignee=person,
            lock_version=version,
        )
        task.case = cases[index % len(cases)]
        tasks.append(task)
    return tasks


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC"])
def test_rows_are_byte_equal_to_the_template(language: str, zone: str) -> None:
    tasks, cases = _tasks(), _cases()
    assert len(tasks) > 400 and len(cases) > 200
    with translation.override(language), timezone.override(zone):
        for now in (NOW, NOW + dt.timedelta(days=10)):
            for start in range(0, len(tasks), 25):  # pages of 25 rows, as the inbox shows them
                page = tasks[start : start + 25]
                assert inbox_rows.task_rows(page, "fulda", now) == _reference(TASK_ROWS, page, now)
            for start in range(0, len(cases), 25):
                page = cases[start : start + 25]
                assert inbox_rows.case_rows(page, "fulda", now) == _reference(CASE_ROWS, page, now)


def test_the_texts_are_translated_and_escaped() -> None:
    task = _tasks()[1]
    task.name, task.assignee = NASTY, None
    with translation.override("de"):
        html = inbox_rows.task_rows([task], "fulda", NOW)
    assert "noch niemandem" in html
    assert NASTY not in html and "&lt;b&gt;&quot;Anna&quot; &amp; &#x27;Ben&#x27;&lt;/b&gt; 100%" in html
    assert f'href="/vorgaenge/fulda/{task.case.uuid}/"' in html


def test_no_rows_give_no_markup() -> None:
    assert inbox_rows.task_rows([], "fulda", NOW) == "" and inbox_rows.case_rows([], "fulda", NOW) == ""
