"""A process gateway without conditions: the caseworker chooses the path on the case page."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dikom.cases.models import Task
from dikom.cases.tests.staff_pages import *  # noqa: F403 - the fixtures
from dikom.cases.tests.staff_pages import case_url, client_for, submit_case, task_prefix
from dikom.cases.tests.test_bpmn_engine import CHOICE
from dikom.portal.tests.conftest import FAMILY, release_and_adopt

pytestmark = pytest.mark.django_db


@pytest.fixture
def choice_adoption(city_a: Any, city_b: Any, unit_a: Any, media: Any) -> Any:
    content = copy.deepcopy(FAMILY)
    content["processing"] = {"bpmn": CHOICE}
    adopted = release_and_adopt(content, city_a, suffix=" (Weg)")
    adopted.org_unit = unit_a
    adopted.save(update_fields=["org_unit"])
    return adopted


def _complete(client: Any, case: Any, task: Task, **fields: str) -> Any:
    prefix = task_prefix(task, "complete")
    data = {f"{prefix}-lock_version": str(task.lock_version), **{f"{prefix}-{k}": v for k, v in fields.items()}}
    return client.post(case_url(case, f"aufgaben/{task.uuid}/erledigen/"), data)


def test_the_caseworker_chooses_the_path_at_a_gateway_without_conditions(
    choice_adoption: Any, worker_a: Any, login: Any
) -> None:
    case = submit_case(choice_adoption)
    anna = client_for(login, worker_a)
    check = case.tasks.get(status=Task.Status.OPEN)
    assert _complete(anna, case, check).status_code == 302
    choice = case.tasks.get(status=Task.Status.OPEN)
    assert choice.choices == [["yes", "ja"], ["back", "Prüfen"]]
    html = anna.get(case_url(case)).content.decode()
    assert "How does the case continue?" in html and 'type="radio"' in html

    # without a choice (or with one the process does not offer) nothing happens
    refused = _complete(anna, case, choice)
    assert refused.status_code == 400
    assert _complete(anna, case, choice, choice="elsewhere").status_code == 400
    choice.refresh_from_db()
    assert choice.status == Task.Status.OPEN

    # back to the check, then on to the end
    assert _complete(anna, case, choice, choice="back").status_code == 302
    choice.refresh_from_db()
    assert choice.status == Task.Status.DONE and choice.result.startswith("Chosen: Prüfen.")
    again = case.tasks.get(status=Task.Status.OPEN)
    assert again.bpmn_id == "check"
    assert _complete(anna, case, again).status_code == 302
    last = case.tasks.get(status=Task.Status.OPEN)
    assert _complete(anna, case, last, choice="yes").status_code == 302
    assert not case.tasks.filter(status=Task.Status.OPEN).exists()
