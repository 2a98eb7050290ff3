"""The caseworker's journey on the case page: whose a task is and how it is handed over, why the
decision section is empty, closing by the caseworker who decided, the application data first."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dikom.cases.models import Task
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.tests.staff_pages import case_url, client_for, submit_case, task_prefix

pytestmark = pytest.mark.django_db


def test_a_task_of_another_unit_says_whose_it_is_and_how_to_get_it(
    adoption: Any, worker_a: Any, worker_b: Any, unit_b: Any, login: Any
) -> None:
    # Given Anna (Bürgerbüro) asked the Ordnungsamt for its opinion
    case = submit_case(adoption)
    anna = client_for(login, worker_a)
    asked = anna.post(case_url(case, "beteiligung/"), {"consult-org_unit": str(unit_b.uuid), "consult-question": "Ok?"})
    assert asked.status_code == 302
    # When she looks at the case
    html = anna.get(case_url(case)).content.decode()
    # Then the consultation says that it is the Ordnungsamt's and how she could get it
    assert "This task belongs to Ordnungsamt, not to your unit." in html
    assert "ask Ordnungsamt or a municipality administrator to hand it over to you" in html
    # And a task assigned to a colleague names the colleague
    own = case.tasks.get(kind=Task.Kind.WORKFLOW)
    prefix = task_prefix(own, "assign")
    carla = client_for(login, worker_b)
    handed = anna.post(
        case_url(case, f"aufgaben/{own.uuid}/uebergeben/"),
        {f"{prefix}-lock_version": own.lock_version, f"{prefix}-assignee": str(worker_a.pk)},
    )
    assert handed.status_code == 302
    page = carla.get(case_url(case)).content.decode()
    assert "This task is assigned to Anna Amt. To work on it, ask Anna Amt to hand it over to you" in page


def test_the_decision_section_says_why_it_is_empty(
    adoption: Any, worker_a: Any, worker_b: Any, unit_b: Any, login: Any
) -> None:
    case = submit_case(adoption)
    anna = client_for(login, worker_a)
    anna.post(case_url(case, "beteiligung/"), {"consult-org_unit": str(unit_b.uuid), "consult-question": "Ok?"})
    # The responsible unit is told what to do there
    assert (
        "No decision yet. When the checks are done, record the decision here"
        in anna.get(case_url(case)).content.decode()
    )
    # The consulted unit is told who decides, in German too
    carla = Client()
    login(carla, worker_b)
    html = carla.get(case_url(case)).content.decode()
    assert "Noch keine Entscheidung. Entschieden wird von Bürgerbüro" in html
    assert 'name="decision-outcome"' not in html


def test_the_caseworker_who_decided_can_close_the_case(
    adoption_unit_b: Any, worker_a: Any, worker_b: Any, login: Any
) -> None:
    # Given a case of the Ordnungsamt whose task Carla handed over to Anna of the Bürgerbüro
    case = submit_case(adoption_unit_b)
    task = case.tasks.get()
    carla = client_for(login, worker_b)
    prefix = task_prefix(task, "assign")
    carla.post(
        case_url(case, f"aufgaben/{task.uuid}/uebergeben/"),
        {f"{prefix}-lock_version": task.lock_version, f"{prefix}-assignee": str(worker_a.pk)},
    )
    # When Anna decides it (which ends the open tasks)
    anna = client_for(login, worker_a)
    assert anna.post(case_url(case, "entscheidung/"), {"decision-outcome": "approved"}).status_code == 302
    case.refresh_from_db()
    assert case.status == "decided"
    # Then she is offered, and may, close it
    assert "Close the case" in anna.get(case_url(case)).content.decode()
    closed = anna.post(case_url(case, "abschluss/"))
    assert closed.status_code == 302
    case.refresh_from_db()
    assert case.status == "closed"


def test_the_application_data_comes_first_and_the_actions_beside_it(adoption: Any, worker_a: Any, login: Any) -> None:
    case = submit_case(adoption)
    html = client_for(login, worker_a).get(case_url(case)).content.decode()
    main = html.index('class="case-layout__main"')
    actions = html.index('class="case-layout__actions"')
    assert main < html.index('id="data"') < actions  # the submitted data in the main column, first
    assert html.index('id="data"') < html.index('id="history"') < actions
    assert actions < html.index('id="tasks"') < html.index('id="decision"')  # tasks and decision beside it
