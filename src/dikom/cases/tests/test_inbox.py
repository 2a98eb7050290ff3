"""The caseworker inbox /vorgaenge/<slug>/: tabs per person and unit, filters, search, bulk actions, city boundary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dikom.cases import actions
from dikom.cases.models import Task
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.tests.staff_pages import client_for, hidden_value, submit_case

pytestmark = pytest.mark.django_db

INBOX = "/vorgaenge/fulda/"


def test_tabs_show_the_tasks_of_my_unit_and_nothing_of_another_city(
    adoption: Any, adoption_unit_b: Any, adoption_giessen: Any, worker_a: Any, worker_b: Any, owner: Any,
    outsider: Any, login: Any,
) -> None:  # fmt: skip
    # Given a case for each unit of Fulda and one in Gießen
    case_a = submit_case(adoption, name="Anton Antrag")
    case_b = submit_case(adoption_unit_b, name="Berta Bescheid")
    case_giessen = submit_case(adoption_giessen)
    client = client_for(login, worker_a)

    # the Bürgerbüro's caseworker sees the Bürgerbüro's task, not the Ordnungsamt's
    unit_page = client.get(INBOX, {"tab": "unit"}).content.decode()
    assert case_a.reference in unit_page and case_b.reference not in unit_page
    assert case_giessen.reference not in unit_page
    assert "Anton Antrag" not in unit_page  # the inbox shows no personal data
    mine = client.get(INBOX, {"tab": "mine"}).content.decode()
    assert "0 tasks assigned to you" in mine and case_a.reference not in mine
    # opened without a choice, the inbox shows the first view that has something: here the unit's tasks
    first_view = client.get(INBOX).content.decode()
    assert case_a.reference in first_view and 'aria-current="page">Tasks of my unit' in first_view
    everything = client.get(INBOX, {"tab": "all"}).content.decode()
    assert case_a.reference in everything and case_b.reference not in everything

    # the Ordnungsamt's caseworker sees the other one
    other = client_for(login, worker_b)
    unit_page_b = other.get(INBOX, {"tab": "unit"}).content.decode()
    assert case_b.reference in unit_page_b and case_a.reference not in unit_page_b

    # the city's administrator sees every case of Fulda, none of Gießen
    admin_page = client_for(login, owner).get(INBOX, {"tab": "all"}).content.decode()
    assert case_a.reference in admin_page and case_b.reference in admin_page
    assert case_giessen.reference not in admin_page

    # another city's staff: the inbox does not exist
    assert client_for(login, outsider).get(INBOX).status_code == 404
    assert client.get("/vorgaenge/giessen/").status_code == 404
    assert client.get("/vorgaenge/unbekannt/").status_code == 404


def test_the_inbox_opens_on_my_tasks_once_i_have_one(adoption: Any, worker_a: Any, login: Any) -> None:
    client = client_for(login, worker_a)
    # Nothing at all: "my tasks" (empty), not a list of every case
    assert 'aria-current="page">My tasks' in client.get(INBOX).content.decode()
    case = submit_case(adoption)
    task = case.tasks.get()
    actions.claim_task(task, worker_a, expected_version=task.lock_version)

    page = client.get(INBOX).content.decode()

    assert 'aria-current="page">My tasks' in page and case.reference in page


def test_claimed_task_moves_from_the_unit_to_me(adoption: Any, worker_a: Any, login: Any) -> None:
    case = submit_case(adoption)
    task = case.tasks.get()
    client = client_for(login, worker_a)
    page = client.get(INBOX, {"tab": "unit"}).content.decode()
    version = hidden_value(page, f"version-{task.uuid}")
    response = client.post(
        "/vorgaenge/fulda/sammelbearbeitung/",
        {"task": [str(task.uuid)], f"version-{task.uuid}": version, "action": "claim", "back": "tab=unit"},
    )
    assert response.status_code == 302 and response["Location"] == "/vorgaenge/fulda/?tab=unit"
    assert "taken over." in client.get(response["Location"]).content.decode()  # the report, shown once
    task.refresh_from_db()
    assert task.assignee == worker_a
    assert case.reference not in client.get(INBOX, {"tab": "unit"}).content.decode()
    assert case.reference in client.get(INBOX, {"tab": "mine"}).content.decode()


def test_bulk_claim_reports_each_task_one_was_taken_meanwhile(
    adoption: Any, worker_a: Any, worker_a2: Any, login: Any
) -> None:
    first, second = submit_case(adoption), submit_case(adoption)
    task_1, task_2 = first.tasks.get(), second.tasks.get()
    client = client_for(login, worker_a)
    page = client.get(INBOX, {"tab": "unit"}).content.decode()
    form = {
        "task": [str(task_1.uuid), str(task_2.uuid)],
        f"version-{task_1.uuid}": hidden_value(page, f"version-{task_1.uuid}"),
        f"version-{task_2.uuid}": hidden_value(page, f"version-{task_2.uuid}"),
        "action": "claim",
        "back": "tab=unit",
    }
    # While the page was open, Bernd took the second task.
    actions.claim_task(task_2, worker_a2, expected_version=task_2.lock_version)

    report = client.post("/vorgaenge/fulda/sammelbearbeitung/", form, follow=True).content.decode()
    assert f"{first.reference} – {task_1.name}: taken over." in report
    assert (
        f"{second.reference} – {task_2.name}: changed by someone else in the meantime (now with Bernd Büro); "
        "nothing was done." in report
    )
    task_1.refresh_from_db()
    task_2.refresh_from_db()
    assert task_1.assignee == worker_a and task_2.assignee == worker_a2


def test_bulk_hand_over_and_give_back(adoption: Any, worker_a: Any, worker_a2: Any, login: Any) -> None:
    task = submit_case(adoption).tasks.get()
    client = client_for(login, worker_a)
    base = {"task": [str(task.uuid)], "back": ""}
    response = client.post(
        "/vorgaenge/fulda/sammelbearbeitung/",
        {**base, f"version-{task.uuid}": task.lock_version, "action": "assign", "assignee": worker_a2.pk},
        follow=True,
    )
    assert "handed over to Bernd Büro" in response.content.decode()
    task.refresh_from_db()
    assert task.assignee == worker_a2
    # Anna no longer may give it back: it is Bernd's now.
    refused = client.post(
        "/vorgaenge/fulda/sammelbearbeitung/",
        {**base, f"version-{task.uuid}": task.lock_version, "action": "release"},
        follow=True,
    ).content.decode()
    assert "you may not work on this task" in refused
    bernd = client_for(login, worker_a2)
    bernd.post(
        "/vorgaenge/fulda/sammelbearbeitung/",
        {**base, f"version-{task.uuid}": task.lock_version, "action": "release"},
    )
    task.refresh_from_db()
    assert task.assignee is None


def test_bulk_bad_input_is_reported_not_a_500(
    adoption: Any, adoption_giessen: Any, worker_a: Any, outsider: Any, login: Any
) -> None:
    task = submit_case(adoption).tasks.get()
    foreign = submit_case(adoption_giessen).tasks.get()
    client = client_for(login, worker_a)
    url = "/vorgaenge/fulda/sammelbearbeitung/"
    cases = [
        ({"task": [str(task.uuid)], "action": "delete"}, "Please choose what to do"),
        ({"action": "claim"}, "Please select at least one task"),
        ({"task": [str(task.uuid)], "action": "assign", "assignee": "999999"}, "Please choose the colleague"),
        ({"task": [str(task.uuid)], "action": "assign", "assignee": "abc"}, "Please choose the colleague"),
        ({"task": [str(task.uuid)], "action": "claim"}, "the page was incomplete"),
        ({"task": [str(task.uuid)], f"version-{task.uuid}": "x", "action": "claim"}, "the page was incomplete"),
        ({"task": ["not-a-uuid"], "action": "claim"}, "A selected task was not found"),
        ({"task": [str(foreign.uuid)], f"version-{foreign.uuid}": "0", "action": "claim"}, "not found"),
    ]
    for data, expected in cases:
        response = client.post(url, data, follow=True)
        assert response.status_code == 200, data
        assert expected in response.content.decode(), data
    task.refresh_from_db()
    foreign.refresh_from_db()
    assert task.assignee is None and foreign.assignee is None
    # A colleague of another city cannot be chosen either.
    response = client.post(url, {"task": [str(task.uuid)], "action": "assign", "assignee": outsider.pk}, follow=True)
    assert "Please choose the colleague" in response.content.decode()
    task.refresh_from_db()
    assert task.assignee is None
    assert Client().post(url, {"action": "claim"}).status_code == 302  # anonymous: to the log-in page


def test_filters_search_overdue_and_sorting(
    adoption: Any, adoption_unit_b: Any, owner: Any, worker_a: Any, unit_b: Any, login: Any
) -> None:
    soon, later, other = submit_case(adoption), submit_case(adoption), submit_case(adoption_unit_b)
    now = timezone.now()
    Task.objects.filter(case=soon).update(due_at=now - dt.timedelta(days=1))
    Task.objects.filter(case=later).update(due_at=now + dt.timedelta(days=3))
    # the case's due date mirrors its earliest task (as the workflow sets it)
    soon.__class__.objects.filter(pk=soon.pk).update(due_at=now - dt.timedelta(days=1))
    later.__class__.objects.filter(pk=later.pk).update(due_at=now + dt.timedelta(days=3))
    actions.request_information(later, worker_a, subject="Nachweis fehlt", body="Bitte senden.")
    client = client_for(login, owner)

    def refs(**query: Any) -> list[str]:
        response = client.get(INBOX, query)
        assert response.status_code == 200, response.status_code
        html = response.content.decode()
        found = [(html.index(c.reference), c.reference) for c in (soon, later, other) if c.reference in html]
        return [ref for _pos, ref in sorted(found)]

    assert refs(tab="all") == [soon.reference, later.reference, other.reference]  # due first, none last
    assert refs(tab="all", sort="-due") == [later.reference, soon.reference, other.reference]
    assert refs(tab="all", overdue="on") == [soon.reference]
    assert refs(tab="all", status="waiting_for_citizen") == [later.reference]
    assert refs(tab="all", service=adoption_unit_b.definition.slug) == [other.reference]
    assert refs(tab="all", unit=str(unit_b.uuid)) == [other.reference]
    assert refs(tab="all", q=later.reference) == [later.reference]
    assert refs(tab="all", q="sondernutz") == [other.reference]

    # Worker A's unit tab: the overdue task carries a text marker, not only a colour.
    html = client_for(login, worker_a).get(INBOX, {"tab": "unit", "overdue": "on"}).content.decode()
    assert soon.reference in html and later.reference not in html
    assert '<span class="overdue">overdue</span>' in html

    # Bad filter values: the form says so, no 500.
    for bad in ({"status": "nonsense"}, {"unit": "not-a-unit"}, {"service": "x" * 300}, {"sort": "name"}):
        response = client.get(INBOX, {"tab": "all", **bad})
        assert response.status_code == 400 and 'class="errorlist' in response.content.decode()
    assert client.get(INBOX, {"tab": "whatever", "page": "999"}).status_code == 200


def test_inbox_queries_do_not_grow_with_the_number_of_tasks(
    adoption: Any, owner: Any, worker_a: Any, login: Any, django_assert_max_num_queries: Any
) -> None:
    def add_tasks(count: int) -> None:
        for _index in range(count):
            submit_case(adoption)
            task = submit_case(adoption).tasks.get()
            actions.claim_task(task, worker_a, expected_version=task.lock_version)

    def counted(client: Client, tab: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(INBOX, {"tab": tab}).status_code == 200
        return len(queries)

    add_tasks(1)  # one row in every tab
    client = client_for(login, worker_a)
    owner_client = client_for(login, owner)
    client.get(INBOX)  # session and 2FA device loaded once
    owner_client.get(INBOX)
    few = {tab: counted(client, tab) for tab in ("mine", "unit", "all")}
    few_admin = counted(owner_client, "all")
    assert max(few.values()) < 30

    add_tasks(5)
    for tab in ("mine", "unit", "all"):
        with django_assert_max_num_queries(few[tab]):
            assert client.get(INBOX, {"tab": tab}).status_code == 200
    with django_assert_max_num_queries(few_admin):
        assert owner_client.get(INBOX, {"tab": "all"}).status_code == 200


def test_navigation_links_the_inbox_for_caseworkers(worker_a: Any, city_a: Any, login: Any) -> None:
    client = client_for(login, worker_a)
    home = client.get("/start/").content.decode()
    assert 'href="/vorgaenge/"' in home
    assert client.get("/vorgaenge/")["Location"] == "/vorgaenge/fulda/"
    # staff without a case role see no link and get no inbox
    from dikom.accounts.roles import Role
    from dikom.accounts.tests.factories import MembershipFactory

    analyst = MembershipFactory(municipality=city_a, role=Role.ANALYST).user
    other = client_for(login, analyst)
    assert 'href="/vorgaenge/"' not in other.get("/start/").content.decode()
    assert other.get("/vorgaenge/").status_code == 403
    assert other.get(INBOX).status_code == 404


def test_a_case_visible_in_several_ways_is_listed_and_counted_once(adoption: Any, worker_a: Any) -> None:
    from dikom.cases.access import visible_cases

    # Given a case of the caseworker's unit whose task she has also claimed (unit, task unit, assignee)
    case = submit_case(adoption)
    task = case.tasks.get()
    actions.claim_task(task, worker_a, expected_version=task.lock_version)

    visible = visible_cases(worker_a, adoption.municipality)
    assert list(visible) == [case]
    assert visible.count() == 1
    # Without a join on the tasks: no DISTINCT over whole case rows, which made counting the
    # inbox slow at 10 000 open cases (issue 21).
    assert "DISTINCT" not in str(visible.query).upper()
