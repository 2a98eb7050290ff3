"""A case whose process waits at an event-based gateway: the waiting shows as tasks of the case, a caseworker
records the message that came first, and the case goes on along its path (through the case actions)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from dikom.cases import actions
from dikom.cases.models import Case
from dikom.cases.tests.test_case_lifecycle import adopt, submit
from dikom.municipalities.tests.factories import OrgUnitFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def test_a_case_waits_at_an_event_based_gateway_and_goes_on_with_the_message_recorded(city_a: Any, city_b: Any) -> None:
    from dikom.accounts.roles import Role
    from dikom.accounts.tests.factories import MembershipFactory

    unit = OrgUnitFactory(municipality=city_a, name="Bürgerbüro", short_name="BB")
    caseworker = MembershipFactory(municipality=city_a, role=Role.CASEWORKER, org_unit=unit).user
    case = Case.objects.get(application=submit(adopt(city_a, unit, bpmn="event_gateway.bpmn")))
    [ask] = case.tasks.filter(status="open")
    assert ask.name == "Nachfrage senden"

    actions.complete_task(ask, caseworker, expected_version=ask.lock_version, result="Nachfrage gesendet.")

    waiting = {t.name: t for t in case.tasks.filter(status="open")}
    assert set(waiting) == {"Message received: Antwort", "Message received: Unterlagen"}
    documents = waiting["Message received: Unterlagen"]
    actions.complete_task(documents, caseworker, expected_version=documents.lock_version, result="Eingegangen.")

    # the documents came first: their path goes on, the answer is no longer awaited
    assert [t.name for t in case.tasks.filter(status="open")] == ["Unterlagen prüfen"]
