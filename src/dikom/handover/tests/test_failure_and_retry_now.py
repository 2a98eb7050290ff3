"""A 4xx answer fails at once, shows its error on the deliveries page, and "try again now" delivers it."""

from __future__ import annotations

from typing import Any

import pytest

from dikom.audit.models import AuditEvent
from dikom.handover.models import Delivery
from dikom.handover.tests.conftest import make_target
from dikom.lib.testing import english_client, run_task_worker

pytestmark = pytest.mark.django_db


def test_400_fails_without_retry_then_retry_now_delivers(
    local_targets: Any,
    receivers: Any,
    submit: Any,
    adoption: Any,
    owner: Any,
    colleague: Any,
    login: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given a receiver that refuses the first request with 400 and accepts later ones
    receiver = receivers([400, 200])
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url, name="Sozialamt").secret
    application = submit(adoption)

    # When the worker runs
    run_task_worker()

    # Then the delivery failed after one attempt, with no retry queued
    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 1 and len(receiver.received) == 1
    assert delivery.last_http_status == 400 and delivery.next_attempt_at is None
    run_task_worker()
    assert len(receiver.received) == 1

    # and a caseworker sees it with its error and a button to try again
    client = login(english_client(), colleague)
    page = client.get("/uebergabe/fulda/")
    html = page.content.decode()
    assert page.status_code == 200
    assert application.reference in html and "Sozialamt" in html and "Familienzuschuss" in html
    assert "failed" in html and "Das Ziel hat mit HTTP 400 geantwortet." in html  # stored in German
    retry_url = f"/uebergabe/fulda/zustellungen/{delivery.uuid}/erneut/"
    assert f'action="{retry_url}"' in html

    # When they press it
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(retry_url)
    assert response.status_code == 302 and response["Location"] == "/uebergabe/fulda/"
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 0
    run_task_worker()

    # Then it is delivered, and the retry is in the audit log under the caseworker's name
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 1
    assert len(receiver.received) == 2 and all(r.signature_ok for r in receiver.received)
    assert {r.headers["webhook-id"] for r in receiver.received} == {str(delivery.uuid)}
    event = AuditEvent.objects.get(action="handover.delivery.retry")
    assert event.actor_label == "colleague" and event.municipality_id == adoption.municipality.pk
    assert event.changes == {"status": ["failed", "pending"], "attempts_before": 1}
    html = client.get("/uebergabe/fulda/?status=delivered").content.decode()
    assert application.reference in html and "delivered" in html
    assert retry_url not in html  # nothing left to retry


def test_retry_now_of_a_delivered_delivery_is_refused_politely(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any, login: Any
) -> None:
    receiver = receivers([200])
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url).secret
    application = submit(adoption, with_file=False)
    run_task_worker()
    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.DELIVERED

    client = login(english_client(), owner)
    response = client.post(f"/uebergabe/fulda/zustellungen/{delivery.uuid}/erneut/", follow=True)
    assert response.status_code == 200
    assert "Only failed or waiting deliveries can be retried." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 1
    assert not AuditEvent.objects.filter(action="handover.delivery.retry").exists()


def test_retry_now_needs_post(local_targets: Any, submit: Any, adoption: Any, owner: Any, login: Any) -> None:
    make_target(adoption.municipality, owner, url="http://127.0.0.1:9/")
    delivery = Delivery.objects.get(application=submit(adoption, with_file=False))
    client = login(english_client(), owner)
    assert client.get(f"/uebergabe/fulda/zustellungen/{delivery.uuid}/erneut/").status_code == 405


def test_deactivated_target_fails_pending_deliveries_without_sending(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    from dikom.handover import actions

    receiver = receivers([200])
    created = make_target(adoption.municipality, owner, url=receiver.url)
    application = submit(adoption, with_file=False)
    actions.set_target_active(created.target, actor=owner, active=False)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.last_error == "Das Ziel ist deaktiviert; es wurde nichts gesendet."
    assert receiver.received == []
