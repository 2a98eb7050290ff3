from datetime import timedelta

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult

from dikom.lib.mail import send_mail_task
from dikom.lib.tasks import retry_delay, retrying_task
from dikom.lib.testing import run_task_worker as run_worker

pytestmark = pytest.mark.django_db

CALLS: list[str] = []


@retrying_task(max_attempts=3, backoff_seconds=0)
def flaky(label: str, failures: int) -> str:
    CALLS.append(label)
    if len(CALLS) <= failures:
        raise RuntimeError(f"failure {len(CALLS)}")
    return f"done {label}"


def test_failing_task_is_retried_until_it_succeeds_and_failures_stay_visible():
    CALLS.clear()
    flaky.enqueue("x", 2)

    run_worker()

    assert CALLS == ["x", "x", "x"]
    statuses = list(DBTaskResult.objects.order_by("enqueued_at").values_list("status", flat=True))
    assert statuses == ["FAILED", "FAILED", "SUCCESSFUL"]
    failed = DBTaskResult.objects.filter(status="FAILED").order_by("enqueued_at").first()
    assert "RuntimeError" in failed.exception_class_path
    assert "RuntimeError: failure 1" in failed.traceback


def test_task_gives_up_after_max_attempts():
    CALLS.clear()
    flaky.enqueue("y", 10)

    run_worker()

    assert CALLS == ["y", "y", "y"]
    assert DBTaskResult.objects.filter(status="FAILED").count() == 3
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_backoff_doubles_and_is_capped():
    assert retry_delay(1, 30) == timedelta(seconds=30)
    assert retry_delay(3, 30) == timedelta(seconds=120)
    assert retry_delay(20, 30) == timedelta(hours=1)


def test_mail_task_sends_through_the_worker():
    send_mail_task.enqueue("Betreff", "Text", ["person@example.org"])
    assert mail.outbox == []

    run_worker()

    assert [m.subject for m in mail.outbox] == ["Betreff"]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
