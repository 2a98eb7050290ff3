"""A submitted application reaches a real webhook receiver: retries on 503, signed, the documented payload."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from dikom.handover.models import Delivery
from dikom.handover.tests.conftest import PDF, make_target, queued_attempts
from dikom.lib.testing import english_client, run_task_worker

pytestmark = pytest.mark.django_db


def test_two_503_then_accepted_ends_delivered_after_three_signed_attempts(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    # Given a webhook target whose receiver fails twice with 503, then accepts
    receiver = receivers([503, 503, 204])
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url).secret

    # When a citizen submits and the worker runs the queued attempts
    application = submit(adoption)
    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 0
    run_task_worker()

    # Then the delivery is delivered after three attempts, each one correctly signed
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED
    assert delivery.attempts == 3
    assert delivery.last_http_status == 204
    assert delivery.last_error == "" and delivery.next_attempt_at is None
    assert delivery.delivered_at is not None
    assert len(receiver.received) == 3
    assert all(request.signature_ok for request in receiver.received)
    # the same webhook-id every time (receivers de-duplicate by it), the same document every time
    assert {request.headers["webhook-id"] for request in receiver.received} == {str(delivery.uuid)}
    assert len({request.body for request in receiver.received}) == 1
    request = receiver.received[-1]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-timestamp"].isdigit()
    assert request.headers["webhook-signature"].startswith("v1,")


def test_payload_carries_the_documented_fields_and_the_file(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    receiver = receivers([200])
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url).secret
    application = submit(adoption)
    run_task_worker()

    document = receiver.received[0].json
    delivery = Delivery.objects.get(application=application)
    assert document["format"] == "dikom.handover/1"
    assert document["type"] == "application.submitted"
    assert document["delivery_id"] == str(delivery.uuid)
    assert document["municipality"] == {"ags": "06631009", "name": "Fulda", "slug": "fulda"}
    app = document["application"]
    assert app["uuid"] == str(application.uuid)
    assert app["reference"] == application.reference
    assert app["submitted_at"] == application.submission_data["submitted_at"]
    assert app["service"] == {"slug": adoption.definition.slug, "title": "Familienzuschuss", "version": 1}
    assert app["answers"]["person"]["name"] == "Erika Muster"
    assert app["answers"]["bank"]["iban"]
    assert app["fee_lines"] == [] and app["fee_total_cents"] == 0 and app["payment_reference"] == ""
    assert app["auth_method"] == application.auth_method and app["trust_level"] == application.trust_level
    attachments = document["attachments"]
    assert attachments["mode"] == "inline" and attachments["total_bytes"] == len(PDF)
    [file] = attachments["files"]
    assert file["name"] == "nachweis.pdf" and file["content_type"] == "application/pdf"
    assert file["field"] == "bank.nachweis" and file["size"] == len(PDF)
    assert base64.b64decode(file["content_base64"]) == PDF
    assert file["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert "path" not in file  # where dikom keeps the file is none of the receiver's business


def test_files_over_the_limit_go_as_metadata_only(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    local_targets.DIKOM_HANDOVER_MAX_ATTACHMENT_BYTES = len(PDF) - 1
    receiver = receivers([200])
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url).secret
    submit(adoption)
    run_task_worker()

    attachments = receiver.received[0].json["attachments"]
    assert attachments["mode"] == "metadata"
    assert attachments["files"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert "content_base64" not in attachments["files"][0]


def test_waiting_retry_is_visible_in_the_row_the_queue_and_the_page(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any, login: Any
) -> None:
    # Given a real backoff of two minutes and a receiver that is down
    local_targets.DIKOM_HANDOVER_BACKOFF_SECONDS = 120
    receiver = receivers([503])
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url).secret
    application = submit(adoption)

    # When the first attempt fails
    run_task_worker()

    # Then the row says when the next attempt comes, and that attempt is queued for then (not earlier)
    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.attempts == 1 and delivery.last_http_status == 503
    assert delivery.last_error == "Das Ziel hat mit HTTP 503 geantwortet."  # stored in German
    assert (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() >= 120
    queued = queued_attempts().get(status="READY")
    assert queued.run_after == delivery.next_attempt_at
    assert len(receiver.received) == 1

    page = login(english_client(), owner).get("/uebergabe/fulda/?status=retrying")
    html = page.content.decode()
    assert page.status_code == 200
    assert application.reference in html and "retrying" in html and "Das Ziel hat mit HTTP 503 geantwortet." in html


def test_gives_up_after_the_configured_attempts(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    local_targets.DIKOM_HANDOVER_MAX_ATTEMPTS = 3
    receiver = receivers([500])
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url).secret
    application = submit(adoption)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 3 and len(receiver.received) == 3
    assert delivery.next_attempt_at is None and delivery.last_http_status == 500


def test_429_is_retried(local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any) -> None:
    receiver = receivers([429, 200])
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url).secret
    application = submit(adoption, with_file=False)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2
    assert receiver.received[0].json["attachments"] == {"mode": "metadata", "total_bytes": 0, "files": []}


def test_a_receiver_that_does_not_answer_times_out_and_is_retried(
    local_targets: Any, receivers: Any, submit: Any, adoption: Any, owner: Any
) -> None:
    local_targets.DIKOM_HANDOVER_TIMEOUT_SECONDS = 1
    local_targets.DIKOM_HANDOVER_BACKOFF_SECONDS = 600
    receiver = receivers([200], hang=True)
    receiver.secret = make_target(adoption.municipality, owner, url=receiver.url).secret
    application = submit(adoption, with_file=False)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.last_error == "Keine Antwort innerhalb von 1 Sekunde."
    assert delivery.last_http_status is None


def test_a_refused_connection_is_retried(local_targets: Any, submit: Any, adoption: Any, owner: Any) -> None:
    import socket

    with socket.socket() as probe:  # a port on which nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    local_targets.DIKOM_HANDOVER_BACKOFF_SECONDS = 600
    make_target(adoption.municipality, owner, url=f"http://127.0.0.1:{port}/")
    application = submit(adoption, with_file=False)
    run_task_worker()

    delivery = Delivery.objects.get(application=application)
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.last_error == "Verbindung fehlgeschlagen (ConnectionRefusedError)."
