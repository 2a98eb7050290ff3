"""A fee paid in the portal before submitting triggers the "payment received" rules once the case exists."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dikom.cases.automation.models import RuleExecution
from dikom.cases.automation.tests.conftest import _adopt
from dikom.cases.models import Case
from dikom.lib.testing import run_task_worker
from dikom.payments.actions import record_status
from dikom.payments.models import EventSource
from dikom.portal import actions as portal_actions
from dikom.portal.tests.conftest import FAMILY, VALID_IBAN

pytestmark = pytest.mark.django_db(transaction=True)


def test_payment_made_before_submission_runs_the_payment_rules(
    city_a: Any, city_b: Any, unit: Any, make_rule: Any, settings: Any
) -> None:
    settings.DIKOM_DEMO = True
    settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    content = copy.deepcopy(FAMILY)
    content["payment_required"] = True
    content["fees"] = [{"key": "gebuehr", "label": {"de": "Gebühr"}, "amount_cents": 1500}]
    adoption = _adopt(content, city_a, unit, suffix=" (gebührenpflichtig)")
    rule = make_rule(
        name="Gebühr bezahlt",
        trigger="payment_received",
        actions=[{"type": "complete_task", "task": "pruefen", "result": "Gebühr bezahlt."}],
    )
    from dikom.eservices.service import adoption_for

    application = portal_actions.start_application(adopted=adoption_for(city_a, adoption.definition.slug))
    portal_actions.save_step_answers(
        application, "person", {"name": "E M", "email": "e@example.org", "plz": "36037", "hat_kinder": "no"},
        next_step=3,
    )  # fmt: skip
    portal_actions.save_step_answers(application, "bank", {"iban": VALID_IBAN}, next_step=3)
    payment = portal_actions.start_payment(application, amount_cents=1500, description="Gebühr", return_url="/")
    record_status(payment.pk, "pending", source=EventSource.SYSTEM)
    record_status(payment.pk, "paid", source=EventSource.NOTIFICATION, method="paypal")
    application.refresh_from_db()
    application, won = portal_actions.submit_application(application, submission_key=application.submission_key)
    assert won
    run_task_worker()

    case = Case.objects.get(application=application)
    execution = RuleExecution.objects.get(rule=rule, case=case)
    assert execution.outcome == "done" and execution.occurrence == f"payment:{payment.pk}"
    assert case.tasks.get(bpmn_id="pruefen").completed_automatically
