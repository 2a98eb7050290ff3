"""Signals other apps listen to.

``payment_status_changed`` is sent after the transaction that changed a
payment's status has committed, with ``payment`` (the attempt as stored),
``old_status`` and ``new_status``. The portal uses it to record anonymous usage
events (payment completed / failed). Receivers must not raise.
"""

from __future__ import annotations

import django.dispatch

payment_status_changed = django.dispatch.Signal()
