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


def connect_webhook_events() -> None:
    """New cases, tasks and documents become webhook events (``dikom.cases.webhooks``), whoever created them."""
    from django.db.models.signals import post_save

    from dikom.cases.models import Case, CaseDocument, Task

    post_save.connect(_case_saved, sender=Case, dispatch_uid="cases-webhook-case")
    post_save.connect(_task_saved, sender=Task, dispatch_uid="cases-webhook-task")
    post_save.connect(_document_saved, sender=CaseDocument, dispatch_uid="cases-webhook-document")


def _case_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    from dikom.cases.webhooks.actions import emit

    if created and not raw:
        emit(instance, "case.created")


def _task_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    from dikom.cases.webhooks.actions import api_url, emit

    if created and not raw:
        emit(
            instance.case,
            "task.created",
            {
                "task": {
                    "uuid": str(instance.uuid),
                    "name": instance.name,
                    "kind": instance.kind,
                    "url": api_url("cases-api:task-list", case_uuid=instance.case.uuid),
                }
            },
        )


def _document_saved(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    from dikom.cases.webhooks.actions import api_url, emit

    if created and not raw:
        emit(
            instance.case,
            "document.added",
            {
                "document": {
                    "uuid": str(instance.uuid),
                    "title": instance.title,
                    "kind": instance.kind,
                    "content_url": api_url(
                        "cases-api:document-content", case_uuid=instance.case.uuid, document_uuid=instance.uuid
                    ),
                }
            },
        )
