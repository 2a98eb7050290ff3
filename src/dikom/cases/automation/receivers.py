"""Signal receivers of the automation: a payment of an application with a case turned paid."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def on_payment_status_changed(sender: Any, payment: Any, old_status: str, new_status: str, **kwargs: Any) -> None:
    """Enqueue the "payment received" rules of the case of the payment's application."""
    from dikom.cases.models import Case
    from dikom.cases.tasks import run_rules
    from dikom.portal.actions import application_for_payment

    if new_status != "paid":
        return
    application = application_for_payment(payment)
    if application is None:
        return  # not a portal payment
    case_pk = (
        Case.objects.filter(application_id=application.pk, municipality_id=payment.municipality_id)
        .values_list("pk", flat=True)
        .first()
    )
    if case_pk is None:
        return  # paid before submission: the "submitted" rules see the paid application
    transaction.on_commit(lambda: run_rules.enqueue(case_pk, "payment_received", None))
