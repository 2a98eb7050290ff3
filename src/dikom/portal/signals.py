"""Signals other apps listen to (hand-over to the back office, case processing).

``application_submitted`` is sent once per application, after the transaction
that submitted it has committed, with ``application`` (a submitted
:class:`~dikom.portal.models.Application` whose ``submission_data`` is final).
Receivers must not raise: a failure of theirs never undoes a submission, it is
logged and must be retried by the receiver's own means.
"""

from __future__ import annotations

import django.dispatch

application_submitted = django.dispatch.Signal()
