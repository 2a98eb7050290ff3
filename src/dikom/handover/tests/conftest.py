"""A submitted application through the real portal, and a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.accounts.models import User
from dikom.handover import actions
from dikom.handover.models import DeliveryTarget
from dikom.municipalities.models import Municipality
from dikom.portal.models import Application
from dikom.portal.tests.conftest import FAMILY, VALID_IBAN, release_and_adopt

PDF = b"%PDF-1.4\n%handover test\n"


def queued_attempts() -> Any:
    """The hand-over's own background tasks (the portal queues others)."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path="dikom.handover.tasks.deliver")


@pytest.fixture
def adoption(city_a: Municipality, city_b: Municipality) -> Any:
    return release_and_adopt(json.loads(json.dumps(FAMILY)), city_a)


@pytest.fixture
def local_targets(settings: Any) -> Any:
    """Webhook targets on http://127.0.0.1 (the test receiver), first retry at once."""
    settings.DIKOM_HANDOVER_ALLOW_HTTP = True
    settings.DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS = True
    settings.DIKOM_HANDOVER_BACKOFF_SECONDS = 0
    return settings


@pytest.fixture
def submit(django_capture_on_commit_callbacks: Any) -> Callable[..., Application]:
    """Fill in and submit the family grant through the portal, as a citizen does (on-commit hooks run)."""

    def submit(adoption: Any, *, with_file: bool = True) -> Application:
        client = Client()
        city = adoption.municipality.slug
        response = client.post(f"/portal/{city}/dienst/{adoption.definition.slug}/starten/")
        assert response.status_code == 302
        application = Application.objects.latest("created_at")
        base = f"/portal/{city}/antrag/{application.uuid}"
        person = {"f-name": "Erika Muster", "f-email": "erika@example.org", "f-plz": "36037", "f-hat_kinder": "no"}
        assert client.post(f"{base}/schritt/1/", {**person, "action": "next"}).status_code == 302
        bank: dict[str, Any] = {"f-iban": VALID_IBAN, "action": "next"}
        if with_file:
            bank["f-nachweis"] = SimpleUploadedFile("nachweis.pdf", PDF, content_type="application/pdf")
        assert client.post(f"{base}/schritt/3/", bank).status_code == 302
        application.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(
                f"{base}/zusammenfassung/", {"submission_key": application.submission_key, "action": "submit"}
            )
        assert done.status_code == 302
        application.refresh_from_db()
        # submitted (case processing, when installed, may already have taken it over)
        assert application.status != Application.Status.DRAFT and application.reference
        return application

    return submit


def make_target(municipality: Municipality, actor: User, **kwargs: Any) -> actions.CreatedTarget:
    kwargs.setdefault("name", "Fachverfahren")
    kwargs.setdefault("kind", DeliveryTarget.Kind.WEBHOOK)
    return actions.create_target(municipality=municipality, actor=actor, **kwargs)


# --- the receiver -------------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers with the scripted statuses in turn (the last one repeats) and checks every signature."""

    statuses: list[int]
    extra_headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        # The recipe of docs/handover.md, written out independently of dikom's own code.
        if not self.secret.startswith("whsec_"):
            return False
        key = base64.b64decode(self.secret[len("whsec_") :])
        signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        offered = [part.split(",", 1) for part in headers.get("webhook-signature", "").split()]
        return any(version == "v1" and hmac.compare_digest(sig, expected) for version, sig in offered)

    def next_status(self) -> int:
        index = min(len(self.received) - 1, len(self.statuses) - 1)
        return self.statuses[index]


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {key.lower(): value for key, value in self.headers.items()}
        receiver.received.append(Received(headers, body, receiver.verify(headers, body)))
        if receiver.hang:
            receiver.release.wait(10)
            return
        status = receiver.next_status()
        self.send_response(status)
        for key, value in receiver.extra_headers.items():
            self.send_header(key, value)
        answer = b'{"ok": true}'
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Start receivers on 127.0.0.1 (random ports); all are stopped after the test."""
    started: list[tuple[ThreadingHTTPServer, Receiver]] = []

    def start(statuses: list[int], **kwargs: Any) -> Receiver:
        receiver = Receiver(statuses=statuses, **kwargs)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.receiver = server_receiver = receiver  # type: ignore[attr-defined]
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/eingang?quelle=dikom"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append((server, server_receiver))
        return receiver

    yield start
    for server, receiver in started:
        receiver.release.set()
        server.shutdown()
        server.server_close()
