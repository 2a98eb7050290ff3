"""Signal receivers: a submitted application becomes a case."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def open_case_for_submission(sender: Any, application: Any, **kwargs: Any) -> None:
    from dikom.cases.actions import open_case

    open_case(application)


def open_missing_cases() -> int:
    """Cases for submitted applications that have none (e.g. the server stopped right after a submission)."""
    from dikom.cases.actions import open_case
    from dikom.portal.models import Application

    missing = Application.objects.filter(status=Application.Status.SUBMITTED, case__isnull=True)
    count = 0
    for application in missing.select_related("adoption__definition", "version", "municipality"):
        try:
            open_case(application)
        except Exception:  # one broken application must not stop the clock for all others
            logger.exception("cases: no case could be opened for %s", application.reference)
            continue
        count += 1
    return count
