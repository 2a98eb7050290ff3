"""``cases.case_reads`` gives the related managers' objects in their order (issue 21, item 4): open and
finished tasks, documents, history, notes and messages of cases with and without each of them, the
case page's statement count independent of how much a case holds, and another city's case never
mixed in."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from dikom.cases import actions, case_reads
from dikom.cases.models import Case, Task
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.tests.staff_pages import case_url, client_for, submit_case

pytestmark = pytest.mark.django_db


def _values(obj: Model | None) -> Any:
    return obj and {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _same(read: list[Any], orm: Any, *related: str) -> None:
    orm = list(orm)
    assert [_values(x) for x in read] == [_values(x) for x in orm]
    for name in related:
        assert [_values(getattr(x, name)) for x in read] == [_values(getattr(x, name)) for x in orm]


def _compare(case: Case) -> None:
    _same(
        case_reads.open_tasks(case),
        case.tasks.filter(status=Task.Status.OPEN).select_related("org_unit", "assignee").order_by("created_at", "pk"),
        "org_unit",
        "assignee",
    )
    _same(
        case_reads.done_tasks(case),
        case.tasks.exclude(status=Task.Status.OPEN).select_related("org_unit", "completed_by"),
        "org_unit",
        "completed_by",
    )
    _same(case_reads.documents(case), case.documents.select_related("created_by"), "created_by")
    _same(case_reads.events(case), case.events.all())
    _same(case_reads.notes(case), case.notes.select_related("author"), "author")
    _same(case_reads.messages(case), case.messages.select_related("document", "sent_by"), "document", "sent_by")
    for read in (case_reads.open_tasks, case_reads.events, case_reads.notes):
        assert all(obj.case is case for obj in read(case))


def test_the_lists_are_the_related_managers(adoption: Any, adoption_giessen: Any, worker_a: Any, login: Any) -> None:
    plain = submit_case(adoption)
    full = submit_case(adoption, with_file=True)
    other_city = submit_case(adoption_giessen, with_file=True)
    task = Task.objects.get(case=full, status=Task.Status.OPEN)
    task = actions.claim_task(task, worker_a, expected_version=task.lock_version)
    actions.add_note(full, worker_a, "Erste <Notiz>")
    actions.add_note(full, worker_a, "Zweite Notiz")
    actions.request_information(full, worker_a, subject="Nachweis fehlt", body="Bitte nachreichen.")
    actions.complete_task(task, worker_a, expected_version=task.lock_version)
    for case in (plain, full, other_city):
        _compare(Case.objects.get(pk=case.pk))
    full = Case.objects.get(pk=full.pk)
    assert case_reads.notes(full) and case_reads.messages(full) and case_reads.done_tasks(full)
    assert case_reads.documents(full) and case_reads.events(full)
    fulda_ids = {d.pk for d in case_reads.documents(full)}
    assert not fulda_ids & {d.pk for d in case_reads.documents(Case.objects.get(pk=other_city.pk))}


def test_the_case_page_s_statements_do_not_grow_with_the_case(adoption: Any, worker_a: Any, login: Any) -> None:
    client = client_for(login, worker_a)
    small, large = submit_case(adoption), submit_case(adoption, with_file=True)
    for index in range(4):
        actions.add_note(large, worker_a, f"Notiz {index}")
        actions.request_information(large, worker_a, subject=f"Frage {index}", body="?")
    counts = []
    for case in (small, large):
        client.get(case_url(case))  # warm
        with CaptureQueriesContext(connection) as queries:
            assert client.get(case_url(case)).status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
