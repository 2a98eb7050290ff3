"""Case events reach a real receiver on 127.0.0.1: signed, retried while it is down, nothing lost, one city only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from dikom.cases.models import WebhookDelivery, WebhookSubscription
from dikom.cases.tests.conftest import new_case
from dikom.cases.webhooks import actions as webhooks
from dikom.lib.testing import free_port, run_task_worker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("api_cache", "api_media")]

ALL_EVENTS = [e.value for e in WebhookSubscription.Event]


class Receiver:
    """A specialist procedure's webhook endpoint: checks each signature as docs/case-api.md tells receivers to."""

    def __init__(self, port: int, statuses: list[int]) -> None:
        self.port = port
        self.statuses = statuses
        self.secret = ""
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append({"headers": headers, "body": body, "valid": receiver.verify(headers, body)})
                status = receiver.statuses[min(len(receiver.received), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 300
        return fresh and any(
            part.split(",", 1)[0] == "v1" and hmac.compare_digest(part.split(",", 1)[1], expected)
            for part in headers.get("webhook-signature", "").split()
        )

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def local_webhooks(settings: Any) -> Any:
    settings.DIKOM_CASE_WEBHOOK_ALLOW_HTTP = True
    settings.DIKOM_CASE_WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.DIKOM_CASE_WEBHOOK_BACKOFF_SECONDS = 0
    settings.DIKOM_CASE_WEBHOOK_MAX_ATTEMPTS = 5
    return settings


@pytest.fixture
def receivers() -> Iterator[Any]:
    started: list[Receiver] = []

    def start(statuses: list[int], port: int | None = None) -> Receiver:
        receiver = Receiver(port or free_port(), statuses)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def subscribe(city: Any, owner: Any, url: str, events: list[str] = ALL_EVENTS) -> Any:
    return webhooks.create_subscription(municipality=city, actor=owner, name="Fachverfahren", url=url, events=events)


def test_case_events_are_delivered_signed_and_only_to_the_own_city(
    local_webhooks: Any, receivers: Any, city_a: Any, city_b: Any, owner: Any, outsider: Any,
    unit_a: Any, unit_b: Any, django_capture_on_commit_callbacks: Any, procedure_a: Any,
) -> None:  # fmt: skip
    fulda = receivers([204])
    fulda.secret = subscribe(city_a, owner, f"http://127.0.0.1:{fulda.port}/hook").secret
    giessen = receivers([204])
    giessen.secret = subscribe(city_b, outsider, f"http://127.0.0.1:{giessen.port}/hook", ["case.created"]).secret

    with django_capture_on_commit_callbacks(execute=True):
        case = new_case(city_a, unit_a)
    run_task_worker()
    types = [e["type"] for e in fulda.events()]
    assert types[0] == "case.created" and "task.created" in types
    assert giessen.received == []  # Gießen hears nothing of Fulda's cases
    assert all(r["valid"] for r in fulda.received)
    created = fulda.events()[0]
    assert created["format"] == "dikom.case-event/1"
    assert created["municipality"]["ags"] == city_a.ags
    assert created["case"]["uuid"] == str(case.uuid) and created["case"]["url"].endswith(f"/api/v1/cases/{case.uuid}/")
    assert "answers" not in json.dumps(created)  # thin: the receiver fetches the case with its key
    assert fulda.received[0]["headers"]["x-dikom-event"] == "case.created"

    # The procedure decides through the API: status change, document (the letter) and decision follow.
    task = case.tasks.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            procedure_a.post(f"/api/v1/cases/{case.uuid}/tasks/{task.uuid}/complete/", {}, format="json").status_code
            == 200
        )
        assert (
            procedure_a.post(f"/api/v1/cases/{case.uuid}/decision/", {"outcome": "approved"}, format="json").status_code
            == 201
        )
    run_task_worker()
    later = [e for e in fulda.events() if e["type"] in {"case.status_changed", "decision.made", "document.added"}]
    assert {e["type"] for e in later} == {"case.status_changed", "decision.made", "document.added"}
    status = next(e for e in later if e["type"] == "case.status_changed")
    assert status["data"]["status"] == {"from": "open", "to": "decided"}
    decision = next(e for e in later if e["type"] == "decision.made")
    assert decision["data"]["decision"]["outcome"] == "approved"
    # The letter's event points at its content: the procedure fetches it with its key, byte for byte.
    letter = next(e for e in later if e["type"] == "document.added")["data"]["document"]
    assert letter["kind"] == "letter" and letter["uuid"] == decision["data"]["decision"]["letter"]
    fetched = procedure_a.get(urlsplit(letter["content_url"]).path)
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content).startswith(b"%PDF-")
    assert WebhookDelivery.objects.filter(municipality=city_a).exclude(status="delivered").count() == 0
    assert not WebhookDelivery.objects.filter(municipality=city_b).exists()

    with django_capture_on_commit_callbacks(execute=True):
        other = new_case(city_b, unit_b)
    run_task_worker()
    assert [e["case"]["uuid"] for e in giessen.events()] == [str(other.uuid)]


def test_a_receiver_that_is_down_loses_nothing(
    local_webhooks: Any, receivers: Any, city_a: Any, owner: Any, unit_a: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    # Given a subscription whose receiver is not running
    port = free_port()
    secret = subscribe(city_a, owner, f"http://127.0.0.1:{port}/hook", ["case.created"]).secret
    with django_capture_on_commit_callbacks(execute=True):
        case = new_case(city_a, unit_a)
    delivery = WebhookDelivery.objects.get(event="case.created")
    with translation.override("en"):
        assert webhooks.attempt_delivery(delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and "Connection failed" in delivery.last_error
        # a second failure: still waiting, nothing lost
        assert webhooks.attempt_delivery(delivery.pk) == "retrying"

    # When it comes up, the queued retry delivers the same message
    receiver = receivers([503, 200], port=port)
    receiver.secret = secret
    run_task_worker()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 4 and delivery.last_http_status == 200
    assert len(receiver.received) == 2 and all(r["valid"] for r in receiver.received)
    assert {r["headers"]["webhook-id"] for r in receiver.received} == {str(delivery.uuid)}
    assert receiver.events()[0]["case"]["uuid"] == str(case.uuid)


def test_give_up_after_the_last_attempt_and_retry_by_hand(
    local_webhooks: Any, receivers: Any, city_a: Any, owner: Any, unit_a: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    local_webhooks.DIKOM_CASE_WEBHOOK_MAX_ATTEMPTS = 2
    receiver = receivers([500, 500, 204])
    receiver.secret = subscribe(city_a, owner, f"http://127.0.0.1:{receiver.port}/", ["case.created"]).secret
    with django_capture_on_commit_callbacks(execute=True):
        new_case(city_a, unit_a)
    run_task_worker()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 2 and delivery.last_http_status == 500
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.retry_now(delivery, actor=owner)
    run_task_worker()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.received) == 3


def test_unsafe_addresses_are_refused(settings: Any, city_a: Any, owner: Any) -> None:
    with pytest.raises(ValidationError):
        subscribe(city_a, owner, "http://example.org/hook")  # plain http
    settings.DIKOM_CASE_WEBHOOK_ALLOW_HTTP = True
    for url in ["http://127.0.0.1:9/", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/"]:
        with pytest.raises(ValidationError):
            subscribe(city_a, owner, url)
    with pytest.raises(ValidationError):
        subscribe(city_a, owner, "https://example.org/hook", ["case.deleted"])
    assert not WebhookSubscription.objects.exists()


def test_city_admin_page_subscribes_and_shows_the_delivery_log(
    client: Any, login: Any, owner: Any, colleague: Any, outsider: Any, city_a: Any, unit_a: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from dikom.lib.langcheck import foreign_text

    page = f"/vorgaenge/{city_a.slug}/webhooks/"
    login(client, owner)
    german = client.get(page).content.decode()
    assert "Vorgangs-Webhooks von Fulda" in german and foreign_text(german, "de") == []
    assert page in client.get(f"/vorgaenge/{city_a.slug}/").content.decode()  # linked from the inbox
    refused = client.post(page, {"name": "FV", "url": "http://example.org/", "events": ["case.created"]})
    assert refused.status_code == 400 and not WebhookSubscription.objects.exists()
    created = client.post(page, {"name": "Fachverfahren Wohngeld", "url": "https://fv.example.org/hook",
                                 "events": ["case.created", "decision.made"]})  # fmt: skip
    assert created.status_code == 201
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in created.content.decode()  # shown once
    assert subscription.secret not in client.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        new_case(city_a, unit_a)
    log = client.get(page).content.decode()
    assert "case.created" in log and "Fachverfahren Wohngeld" in log
    assert client.post(f"{page}{subscription.uuid}/aktiv/", {"active": "0"}).status_code == 302
    subscription.refresh_from_db()
    assert not subscription.active
    for other in (outsider, colleague):
        client.logout()
        login(client, other)
        assert client.get(page).status_code == 404
    inbox = client.get(f"/vorgaenge/{city_a.slug}/")  # the caseworker's inbox: no link to the webhooks
    assert inbox.status_code == 200 and page not in inbox.content.decode()


def test_a_procedure_subscribes_itself_through_the_api(
    local_webhooks: Any, receivers: Any, city_a: Any, city_b: Any, unit_a: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    from dikom.cases.scopes import CASES_READ, WEBHOOKS_MANAGE
    from dikom.cases.tests.conftest import client_for, key

    procedure = client_for(key(city_a, CASES_READ, WEBHOOKS_MANAGE))
    receiver = receivers([204])
    bad = procedure.post("/api/v1/cases/webhooks/", {"name": "FV", "url": "ftp://x", "events": ["case.created"]},
                         format="json")  # fmt: skip
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "url"
    unknown = procedure.post("/api/v1/cases/webhooks/", {"name": "FV", "url": "https://fv.example.org/",
                             "events": ["case.deleted"]}, format="json")  # fmt: skip
    assert unknown.status_code == 400
    created = procedure.post(
        "/api/v1/cases/webhooks/",
        {"name": "Fachverfahren", "url": f"http://127.0.0.1:{receiver.port}/hook", "events": ["case.created"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    receiver.secret = created.json()["secret"]
    uuid = created.json()["uuid"]
    listed = procedure.get("/api/v1/cases/webhooks/").json()["results"]
    assert [s["uuid"] for s in listed] == [uuid] and "secret" not in listed[0]

    with django_capture_on_commit_callbacks(execute=True):
        new_case(city_a, unit_a)
    run_task_worker()
    assert [r["valid"] for r in receiver.received] == [True]
    [delivery] = procedure.get(f"/api/v1/cases/webhooks/{uuid}/deliveries/").json()["results"]
    assert delivery["status"] == "delivered" and delivery["event"] == "case.created"
    assert delivery["webhook_id"] == receiver.received[0]["headers"]["webhook-id"]

    # Another city's key, or one without the scope, reaches nothing of it.
    other = client_for(key(city_b, WEBHOOKS_MANAGE))
    assert other.get("/api/v1/cases/webhooks/").json()["results"] == []
    assert other.delete(f"/api/v1/cases/webhooks/{uuid}/").status_code == 404
    assert client_for(key(city_a, CASES_READ)).get("/api/v1/cases/webhooks/").status_code == 403
    assert procedure.delete(f"/api/v1/cases/webhooks/{uuid}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


def test_the_clock_requeues_deliveries_a_crashed_worker_left(
    local_webhooks: Any, receivers: Any, city_a: Any, owner: Any, unit_a: Any
) -> None:
    from dikom.lib import periodic

    receiver = receivers([204])
    receiver.secret = subscribe(city_a, owner, f"http://127.0.0.1:{receiver.port}/", ["case.created"]).secret
    new_case(city_a, unit_a)  # committed, but the worker never got the task (on-commit callbacks not run)
    assert WebhookDelivery.objects.get().status == "pending"
    periodic.enqueue(periodic.JOBS["cases.webhooks"])
    run_task_worker()
    assert WebhookDelivery.objects.get().status == "delivered" and len(receiver.received) == 1
