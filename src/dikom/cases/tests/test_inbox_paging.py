"""The inbox's pages and counts (issue 21): the shown tab's page and its exact count come from one
statement; the numbers and rows stay those of the cases a caseworker may see, in their city only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dikom.cases import actions, paging
from dikom.cases.models import Task
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.tests.staff_pages import case_url, client_for, submit_case

pytestmark = pytest.mark.django_db

INBOX = "/vorgaenge/fulda/"


def _listed(html: str, cases: list[Any]) -> list[str]:
    found = sorted((html.index(c.reference), c.reference) for c in cases if c.reference in html)
    return [reference for _position, reference in found]


def _caption(html: str) -> str:
    match = re.search(r"<caption[^>]*>([^<]*)</caption>", html)
    assert match
    return match.group(1)


def _badges(html: str) -> list[str]:
    return re.findall(r'<span class="badge badge--muted">([^<]*)</span>', html)


def test_pages_counts_and_page_numbers_as_before(
    adoption: Any, worker_a: Any, login: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    cases = [submit_case(adoption) for _index in range(5)]  # opened in this order, none due: oldest first
    client = client_for(login, worker_a)

    def page(**query: Any) -> str:
        response = client.get(INBOX, {"tab": "unit", **query})
        assert response.status_code == 200
        return response.content.decode()

    first = page()
    assert _caption(first) == "5 open tasks of your unit"
    assert _badges(first) == ["0", "5", "5"]
    assert _listed(first, cases) == [cases[0].reference, cases[1].reference]
    assert "Page 1 of 3" in first
    assert f'<a href="{case_url(cases[0])}">{cases[0].reference}</a>' in first  # the address cases:case gives
    assert _listed(page(page="2"), cases) == [cases[2].reference, cases[3].reference]
    last = page(page="3")
    assert _listed(last, cases) == [cases[4].reference] and "Page 3 of 3" in last
    # as Django's paginator reads a page number: past the end or below 1 is the last page, not a number the first
    for beyond in ("4", "99", "0", "-1", "9" * 30):
        shown = page(page=beyond)
        assert _listed(shown, cases) == [cases[4].reference] and "Page 3 of 3" in shown, beyond
    assert _listed(page(page="zwei"), cases) == [cases[0].reference, cases[1].reference]
    # a filter counts the filtered rows; the badge keeps the tab's whole count
    filtered = page(q=cases[3].reference)
    assert _caption(filtered) == "1 open task of your unit" and _badges(filtered) == ["0", "5", "5"]
    assert _listed(page(q="nothing like this"), cases) == [] and "0 open tasks" in page(q="nothing like this")
    # the tab of every case, and the first view chosen when none is asked for
    everything = client.get(INBOX, {"tab": "all", "page": "3"}).content.decode()
    assert _caption(everything) == "5 cases" and len(_listed(everything, cases)) == 1
    assert f'<a href="{case_url(cases[0])}">' in everything or f'<a href="{case_url(cases[4])}">' in everything
    assert 'aria-current="page">Tasks of my unit' in client.get(INBOX).content.decode()


def test_counts_and_pages_hold_only_my_city_and_my_units(
    adoption: Any, adoption_unit_b: Any, adoption_giessen: Any, worker_a: Any, owner: Any, login: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    mine = [submit_case(adoption) for _index in range(3)]
    other_unit = [submit_case(adoption_unit_b) for _index in range(2)]
    giessen = [submit_case(adoption_giessen) for _index in range(4)]
    for case in mine[:1]:
        task = case.tasks.get()
        actions.claim_task(task, worker_a, expected_version=task.lock_version)
    # A Gießen task assigned to the same person (as if she also worked there): never in Fulda's inbox
    Task.objects.filter(case=giessen[0]).update(assignee=worker_a)
    client = client_for(login, worker_a)
    every = mine + other_unit + giessen

    my_tab = client.get(INBOX, {"tab": "mine"}).content.decode()
    assert _caption(my_tab) == "1 task assigned to you" and _listed(my_tab, every) == [mine[0].reference]
    unit_tab = client.get(INBOX, {"tab": "unit"}).content.decode()
    assert _caption(unit_tab) == "2 open tasks of your unit"
    assert _badges(unit_tab) == ["1", "2", "3"]
    all_tab = client.get(INBOX, {"tab": "all", "page": "2"}).content.decode()
    assert _caption(all_tab) == "3 cases" and _listed(all_tab, every) == [mine[0].reference]
    # the city's administrator counts the whole city, Gießen still not
    admin = client_for(login, owner).get(INBOX, {"tab": "all"}).content.decode()
    assert _caption(admin) == "5 cases" and _badges(admin) == ["0", "0", "5"]
    assert not set(_listed(admin, every)) & {c.reference for c in giessen}


def test_case_page_queries_do_not_grow_with_the_number_of_cases(adoption: Any, worker_a: Any, login: Any) -> None:
    case = submit_case(adoption)
    client = client_for(login, worker_a)
    assert client.get(case_url(case)).status_code == 200  # session and 2FA devices loaded once

    def counted() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(case_url(case)).status_code == 200
        return len(queries)

    few = counted()
    for _index in range(6):
        other = submit_case(adoption)
        task = other.tasks.get()
        actions.claim_task(task, worker_a, expected_version=task.lock_version)
    assert counted() == few


def test_inbox_queries_are_the_same_for_few_and_more_cases(adoption: Any, worker_a: Any, login: Any) -> None:
    submit_case(adoption)
    client = client_for(login, worker_a)
    client.get(INBOX)

    def counted(tab: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(INBOX, {"tab": tab} if tab else {}).status_code == 200
        return len(queries)

    few = {tab: counted(tab) for tab in ("", "mine", "unit", "all")}
    for _index in range(6):
        submit_case(adoption)
    assert {tab: counted(tab) for tab in few} == few
