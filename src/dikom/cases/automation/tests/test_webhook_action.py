"""The call_webhook action against a real HTTP server on 127.0.0.1: signed, last, idempotent across retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from dikom.cases.automation.models import RuleExecution
from dikom.cases.automation.tests.conftest import submit
from dikom.cases.models import Case
from dikom.lib.testing import run_task_worker

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Receiver:
    statuses: list[int]
    url: str = ""
    secret: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def signature_ok(self, headers: dict[str, str], body: bytes) -> bool:
        # The Standard Webhooks recipe, written out independently of dikom's code.
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return any(hmac.compare_digest(expected, offered) for offered in headers["webhook-signature"].split())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(statuses=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses[min(len(state.received), len(state.statuses)) - 1]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook?source=dikom"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_targets(settings: Any) -> None:
    settings.DIKOM_AUTOMATION_ALLOW_HTTP = True
    settings.DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS = True


def test_webhook_is_signed_called_last_and_retried_with_the_same_key(
    local_targets: None, receiver: Receiver, adoption: Any, ordnungsamt: Any, make_rule: Any
) -> None:
    # Given a receiver that fails once with 503 and then accepts
    receiver.statuses = [503, 204]
    rule = make_rule(
        name="Fachverfahren informieren",
        actions=[
            {"type": "call_webhook", "url": receiver.url},
            {"type": "assign_to_unit", "unit": "Ordnungsamt"},
        ],
    )
    receiver.secret = rule.webhook_secret
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()

    # Then the first attempt changed nothing (the assignment ran before the webhook and was rolled back)
    [first] = receiver.received
    assert case.tasks.get().org_unit.name == "Bürgerbüro"
    failed = RuleExecution.objects.get(rule=rule, case=case)
    assert failed.outcome == "failed" and not failed.final and "503" in failed.error
    # The webhook was called after the assignment: the payload shows the case as the other actions left it
    assert json.loads(first[1])["case"]["reference"] == case.reference

    # When the retry runs
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path="dikom.cases.tasks.run_rules", status="READY").update(
        run_after=timezone.now()
    )
    run_task_worker()

    # Then the second call carried the same idempotency key and body, correctly signed, and the rule is done
    second = receiver.received[1]
    assert len(receiver.received) == 2
    for headers, body in receiver.received:
        assert receiver.signature_ok(headers, body)
        assert headers["content-type"] == "application/json"
    assert first[0]["webhook-id"] == second[0]["webhook-id"] == second[0]["idempotency-key"]
    assert first[1] == second[1]
    document = json.loads(second[1])
    assert document["format"] == "dikom.automation/1" and document["trigger"] == "submitted"
    assert document["rule"] == {"uuid": str(rule.uuid), "name": "Fachverfahren informieren"}
    assert document["municipality"]["slug"] == "fulda"
    assert "answers" not in document  # no personal data unless the rule asks for it
    assert case.tasks.get().org_unit == ordnungsamt
    done = RuleExecution.objects.get(rule=rule, case=case, final=True)
    assert done.outcome == "done" and done.attempt == 2
    assert [row["type"] for row in done.actions_performed] == ["call_webhook", "assign_to_unit"]
    assert case.events.get(kind="webhook_called").data == {"event_id": first[0]["webhook-id"]}


def test_private_targets_are_refused_without_the_setting(
    settings: Any, receiver: Receiver, adoption: Any, make_rule: Any
) -> None:
    settings.DIKOM_AUTOMATION_ALLOW_HTTP = True
    settings.DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS = True
    rule = make_rule(actions=[{"type": "call_webhook", "url": receiver.url, "include_answers": True}])
    # The setting is switched off after the rule was saved: the call is refused at run time, for good
    settings.DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS = False
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()

    assert receiver.received == []
    execution = RuleExecution.objects.get(rule=rule, case=case)
    assert execution.outcome == "failed" and execution.final
    assert "private or reserved" in execution.error


def test_the_form_check_refuses_http_and_private_addresses(settings: Any, make_rule: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        make_rule(actions=[{"type": "call_webhook", "url": "http://example.org/hook"}])
    assert "https://" in str(caught.value.message_dict["actions"])
    with pytest.raises(ValidationError) as caught:
        make_rule(actions=[{"type": "call_webhook", "url": "https://169.254.169.254/latest"}])
    assert "private or reserved" in str(caught.value.message_dict["actions"])
