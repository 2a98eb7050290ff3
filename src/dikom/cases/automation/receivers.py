"""Signal receivers of the automation: a payment of an application with a case turned paid."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction


def on_payment_status_changed(sender: Any, payment: Any, old_status: str, new_status: str, **kwargs: Any) -> None:
    """Enqueue the "payment received" rules of the case (the payment's reference is the application's uuid)."""
    from dikom.cases.models import Case
    from dikom.cases.tasks import run_rules

    if new_status != "paid":
        return
    try:
        key = uuid.UUID(str(payment.reference))
    except ValueError:
        return  # not a portal payment
    case_pk = (
        Case.objects.filter(application__uuid=key, municipality_id=payment.municipality_id)
        .values_list("pk", flat=True)
        .first()
    )
    if case_pk is None:
        return  # paid before submission: the "submitted" rules see the paid application
    transaction.on_commit(lambda: run_rules.enqueue(case_pk, "payment_received", None))
