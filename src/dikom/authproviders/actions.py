"""The only code that changes sign-in state in the database: the replay markers of used assertions.

Each function runs in its own ``transaction.atomic`` block. A marker is
written by an INSERT that the unique constraint on ``digest`` decides: of two
concurrent uses of the same assertion exactly one insert succeeds, on SQLite
and PostgreSQL alike, without a read before the write.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction

from dikom.authproviders.models import UsedAssertion

logger = logging.getLogger(__name__)


def mark_assertion_used(digest: str, expires_at: dt.datetime) -> bool:
    """Record that the assertion with ``digest`` is used now; False when it was used before (a replay).

    A marker past its expiry that the clean-up has not removed yet still
    counts: the assertion it stands for is no longer valid anyway, so
    refusing it costs nothing.
    """
    try:
        with transaction.atomic():
            UsedAssertion.objects.create(digest=digest, expires_at=expires_at)
    except IntegrityError:
        return False
    return True


def delete_expired_assertion_markers(now: dt.datetime) -> int:
    """Delete markers whose assertions expired before ``now``; returns how many."""
    with transaction.atomic():
        deleted, _per_model = UsedAssertion.objects.filter(expires_at__lt=now).delete()
    if deleted:
        logger.info("deleted %d expired assertion replay markers", deleted)
    return deleted
