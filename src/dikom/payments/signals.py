"""Signals other apps listen to.

``payment_status_changed`` is sent after the transaction that changed a
payment's status has committed, with ``payment`` (the attempt as stored),
``old_status`` and ``new_status``. The portal uses it to record anonymous usage
events (payment completed / failed). Receivers must not raise.

``payment_status_recorded`` is sent with the same arguments inside that transaction.
"""

from __future__ import annotations

import django.dispatch

payment_status_changed = django.dispatch.Signal()

#: Sent *inside* the transaction that changes a payment's status (same arguments as ``payment_status_changed``),
#: once per change: what receivers store commits or rolls back with the payment's new status. Receivers
#: must not raise for their own failures (an exception rolls the status change back); the cases app delivers the
#: BPMN message "payment received" here (``dikom.cases.platform_messages``).
payment_status_recorded = django.dispatch.Signal()
