"""Signal receivers: a submitted application becomes a case."""

from __future__ import annotations

from typing import Any


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
        open_case(application)
        count += 1
    return count
