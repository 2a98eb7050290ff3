"""Automation rules read the results of the service's DMN decision tables (``decisions.<id>``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dikom.cases.automation import rules
from dikom.cases.automation.tests.conftest import _adopt, submit
from dikom.cases.models import Case
from dikom.eservices.tests.test_designer_decisions import BEZIRK
from dikom.lib.testing import run_task_worker
from dikom.portal.tests.conftest import FAMILY

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def adoption_with_table(city_a: Any, city_b: Any, unit: Any) -> Any:
    content = copy.deepcopy(FAMILY)
    content["processing"] = {"decisions": {"zustaendigkeit": BEZIRK}}
    return _adopt(content, city_a, unit, suffix=" (mit Tabelle)")


def test_a_rule_condition_uses_a_decision_of_the_service(adoption_with_table, unit, ordnungsamt, make_rule):
    make_rule(
        name="Außenbezirke zum Ordnungsamt",
        service_slug=adoption_with_table.definition.slug,
        condition={"==": [{"var": "decisions.bezirk"}, "Außenbezirk"]},
        actions=[{"type": "assign_to_unit", "unit": "Ordnungsamt"}],
    )
    inner = Case.objects.get(application=submit(adoption_with_table, plz="36037"))
    outer = Case.objects.get(application=submit(adoption_with_table, plz="36100"))
    run_task_worker()
    assert rules.data_object(outer, "submitted")["decisions"] == {"bezirk": "Außenbezirk"}
    assert outer.tasks.get().org_unit == ordnungsamt
    assert inner.tasks.get().org_unit == unit


def test_a_condition_naming_an_unknown_decision_is_refused_with_the_service(adoption_with_table):
    content = adoption_with_table.version.content
    assert rules.check_condition({"var": "decisions.bezirk"}, content) == []
    [problem] = rules.check_condition({"var": "decisions.gebuehr"}, content)
    assert "gebuehr" in problem
