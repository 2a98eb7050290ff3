"""E-file connectors: file drop into a real folder, webhook against a real HTTPS server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import hmac
import ipaddress
import json
import os
import queue
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured

from dikom.cases.efile import registry, service, xdomea
from dikom.cases.efile.base import TransferStatus
from dikom.cases.efile.contrib.filedrop import FileDropConnector
from dikom.cases.efile.contrib.webhook import WebhookConnector
from dikom.cases.tests.test_efile_xdomea import CREATED, build, realistic_case_file, require_xsds

SECRET = "s3cret-shared-with-the-dms"


@pytest.fixture
def package() -> xdomea.ExportPackage:
    return build()


# --- file drop ----------------------------------------------------------------------------


def test_file_drop_writes_the_container_under_its_spec_name(tmp_path: Path, package: xdomea.ExportPackage) -> None:
    result = FileDropConnector(tmp_path).transfer(package)

    assert result.status is TransferStatus.OK
    target = tmp_path / package.file_name
    assert result.external_reference == str(target)
    assert target.read_bytes() == package.content
    assert os.listdir(tmp_path) == [package.file_name]  # no temporary file left behind
    entries = xdomea.read_package(target.read_bytes())
    assert package.xml_name in entries


def test_file_drop_is_idempotent_by_process_id_and_never_overwrites(
    tmp_path: Path, package: xdomea.ExportPackage
) -> None:
    connector = FileDropConnector(tmp_path)
    assert connector.transfer(package).ok
    first_bytes = (tmp_path / package.file_name).read_bytes()

    # Same ProzessID, different bytes (rebuilt later): the delivered package stays as it is.
    rebuilt = build(created_at=CREATED + dt.timedelta(hours=1))
    assert rebuilt.process_id == package.process_id
    assert rebuilt.content != package.content
    again = connector.transfer(rebuilt)

    assert again.ok
    assert "already delivered" in again.message
    assert (tmp_path / package.file_name).read_bytes() == first_bytes
    assert os.listdir(tmp_path) == [package.file_name]


def test_file_drop_counts_a_package_the_dms_renamed_while_importing(
    tmp_path: Path, package: xdomea.ExportPackage
) -> None:
    (tmp_path / f"{package.process_id}_FVDaten.SGOAblegen.0605.importing.zip").write_bytes(package.content)
    result = FileDropConnector(tmp_path).transfer(package)
    assert result.ok
    assert not (tmp_path / package.file_name).exists()


def test_concurrent_drops_of_one_package_leave_exactly_one_complete_file(
    tmp_path: Path, package: xdomea.ExportPackage
) -> None:
    connector = FileDropConnector(tmp_path)
    barrier = threading.Barrier(6)
    results = []

    def deliver() -> None:
        barrier.wait()
        results.append(connector.transfer(package))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [result.status for result in results] == [TransferStatus.OK] * 6
    assert os.listdir(tmp_path) == [package.file_name]
    assert (tmp_path / package.file_name).read_bytes() == package.content


def test_a_failed_write_leaves_no_partial_package(
    tmp_path: Path, package: xdomea.ExportPackage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk fills up while the package is synced: nothing may appear under the final name.
    def full_disk(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    result = FileDropConnector(tmp_path).transfer(package)

    assert result.status is TransferStatus.RETRYABLE
    assert "No space left on device" in result.message
    assert os.listdir(tmp_path) == []


def test_file_drop_without_hard_links_falls_back_to_replace(
    tmp_path: Path, package: xdomea.ExportPackage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some SMB mounts refuse link(); the package must still arrive whole.
    def no_links(source: object, target: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    assert FileDropConnector(tmp_path).transfer(package).ok
    assert (tmp_path / package.file_name).read_bytes() == package.content
    assert os.listdir(tmp_path) == [package.file_name]


def test_file_drop_configuration_problems(tmp_path: Path, package: xdomea.ExportPackage, settings: object) -> None:
    settings.DIKOM_EFILE_DROP_DIR = ""  # type: ignore[attr-defined]
    unset = FileDropConnector().transfer(package)
    assert unset.status is TransferStatus.PERMANENT
    assert unset.message == "DIKOM_EFILE_DROP_DIR is not set"

    unmounted = FileDropConnector(tmp_path / "share").transfer(package)
    assert unmounted.status is TransferStatus.RETRYABLE
    assert "does not exist or is not mounted" in unmounted.message


# --- webhook: a real HTTPS receiver on 127.0.0.1 -------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_valid: bool


@dataclass
class Receiver:
    url: str
    client_context: ssl.SSLContext
    answers: queue.Queue[tuple[int, dict[str, str], bytes]] = field(default_factory=queue.Queue)
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.answers.put((status, headers or {}, body))


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dms.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "dms.pem", directory / "dms.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    cert_path, key_path = self_signed_certificate(tmp_path)
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            box = state["receiver"]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, self.headers.get("X-Dikom-Signature-256", ""))
            box.requests.append(Received(self.path, dict(self.headers.items()), body, valid))
            status, headers, payload = box.answers.get_nowait() if not box.answers.empty() else (200, {}, b"")
            if status == 0:  # "hang": answer only when the test releases us
                box.release.wait()
                return
            if not valid:
                status, headers, payload = 401, {}, b"bad signature"
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    box = Receiver(
        url=f"https://127.0.0.1:{server.server_address[1]}/xdomea/eingang?mandant=fulda",
        client_context=ssl.create_default_context(cafile=str(cert_path)),
    )
    state["receiver"] = box
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        box.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def connector_for(box: Receiver, **kwargs: object) -> WebhookConnector:
    options: dict[str, object] = {"url": box.url, "secret": SECRET, "timeout": 10, "ssl_context": box.client_context}
    options.update(kwargs)
    return WebhookConnector(**options)  # type: ignore[arg-type]


def test_webhook_delivers_the_signed_zip(receiver: Receiver, package: xdomea.ExportPackage) -> None:
    receiver.answer(201, {"Content-Type": "application/json"}, json.dumps({"reference": "DMS-4711"}).encode())

    result = connector_for(receiver).transfer(package)

    assert result.status is TransferStatus.OK
    assert result.external_reference == "DMS-4711"
    [request] = receiver.requests
    assert request.signature_valid
    assert request.path == "/xdomea/eingang?mandant=fulda"
    assert request.body == package.content
    assert request.headers["Content-Type"] == "application/zip"
    assert request.headers["Idempotency-Key"] == str(package.process_id)
    assert request.headers["X-Xdomea-Nachrichtentyp"] == "0605"
    assert package.file_name in request.headers["Content-Disposition"]
    assert package.xml_name in xdomea.read_package(request.body)


def test_webhook_server_error_is_retryable_and_the_retry_is_the_same_delivery(
    receiver: Receiver, package: xdomea.ExportPackage
) -> None:
    receiver.answer(503)
    receiver.answer(200, {"Location": "https://dms.example/akten/123"})
    connector = connector_for(receiver)

    with pytest.raises(service.RetryableTransferError) as raised:
        service.transfer_or_raise(package, connector=connector)
    assert raised.value.result.status is TransferStatus.RETRYABLE
    assert "503" in raised.value.result.message

    second = service.transfer_or_raise(package, connector=connector)
    assert second.ok
    assert second.external_reference == "https://dms.example/akten/123"
    first_request, second_request = receiver.requests
    assert first_request.headers["Idempotency-Key"] == second_request.headers["Idempotency-Key"]
    assert first_request.body == second_request.body
    assert first_request.signature_valid
    assert second_request.signature_valid


def test_webhook_client_error_is_permanent(receiver: Receiver, package: xdomea.ExportPackage) -> None:
    receiver.answer(400, {"Content-Type": "text/plain"}, b"Aktenplan 022.31 unbekannt")
    result = service.transfer_or_raise(package, connector=connector_for(receiver))
    assert result.status is TransferStatus.PERMANENT
    assert "400" in result.message


def test_webhook_too_many_requests_is_retryable(receiver: Receiver, package: xdomea.ExportPackage) -> None:
    receiver.answer(429)
    assert connector_for(receiver).transfer(package).status is TransferStatus.RETRYABLE


def test_webhook_wrong_secret_is_refused_by_the_receiver(receiver: Receiver, package: xdomea.ExportPackage) -> None:
    result = connector_for(receiver, secret="not-the-shared-secret").transfer(package)
    assert result.status is TransferStatus.PERMANENT
    assert not receiver.requests[0].signature_valid


def test_webhook_does_not_follow_redirects(receiver: Receiver, package: xdomea.ExportPackage) -> None:
    receiver.answer(307, {"Location": receiver.url.replace("/xdomea/eingang", "/anderswo")})
    result = connector_for(receiver).transfer(package)
    assert result.status is TransferStatus.PERMANENT
    assert "redirects are not followed" in result.message
    assert [request.path for request in receiver.requests] == ["/xdomea/eingang?mandant=fulda"]


def test_webhook_timeout_is_retryable(receiver: Receiver, package: xdomea.ExportPackage) -> None:
    receiver.answer(0)  # the receiver never answers
    result = connector_for(receiver, timeout=0.5).transfer(package)
    receiver.release.set()
    assert result.status is TransferStatus.RETRYABLE
    assert "no answer" in result.message


def test_webhook_refuses_an_untrusted_certificate(receiver: Receiver, package: xdomea.ExportPackage) -> None:
    result = WebhookConnector(url=receiver.url, secret=SECRET, timeout=10).transfer(package)
    assert result.status is TransferStatus.PERMANENT
    assert "certificate" in result.message
    assert receiver.requests == []


def test_webhook_connection_refused_is_retryable(package: xdomea.ExportPackage) -> None:
    # Bind a port, then close it: nothing listens there any more.
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    result = WebhookConnector(url=f"https://127.0.0.1:{port}/", secret=SECRET, timeout=5).transfer(package)
    assert result.status is TransferStatus.RETRYABLE


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [
        ("http://127.0.0.1:9/eingang", SECRET, "must be an https:// URL"),
        ("", SECRET, "DIKOM_EFILE_WEBHOOK_URL is not set"),
        ("https://dms.example/eingang", "", "DIKOM_EFILE_WEBHOOK_SECRET is not set"),
    ],
)
def test_webhook_configuration_problems_are_permanent(
    url: str, secret: str, problem: str, package: xdomea.ExportPackage
) -> None:
    result = WebhookConnector(url=url, secret=secret).transfer(package)
    assert result.status is TransferStatus.PERMANENT
    assert problem in result.message


def test_webhook_reads_its_settings(settings: object) -> None:
    settings.DIKOM_EFILE_WEBHOOK_URL = "https://dms.fulda.example/xdomea"  # type: ignore[attr-defined]
    settings.DIKOM_EFILE_WEBHOOK_SECRET = SECRET  # type: ignore[attr-defined]
    settings.DIKOM_EFILE_TIMEOUT_SECONDS = 7  # type: ignore[attr-defined]
    connector = WebhookConnector()
    assert connector.configuration_problems() == []
    assert connector.timeout == 7
    assert connector.ablageort() == "https://dms.fulda.example/xdomea"


# --- registry and service --------------------------------------------------------------------


def test_registry_picks_the_configured_connector(tmp_path: Path, settings: object) -> None:
    settings.DIKOM_EFILE_CONNECTOR = ""  # type: ignore[attr-defined]
    assert registry.get_connector() is None
    assert not service.is_enabled()

    settings.DIKOM_EFILE_CONNECTOR = "filedrop"  # type: ignore[attr-defined]
    settings.DIKOM_EFILE_DROP_DIR = str(tmp_path)  # type: ignore[attr-defined]
    connector = registry.get_connector()
    assert isinstance(connector, FileDropConnector)
    assert connector.directory == tmp_path
    assert service.is_enabled()

    settings.DIKOM_EFILE_CONNECTOR = "carrier-pigeon"  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured, match="unknown e-file connector 'carrier-pigeon'"):
        registry.get_connector()


def test_transfer_without_a_connector_is_permanent(package: xdomea.ExportPackage, settings: object) -> None:
    settings.DIKOM_EFILE_CONNECTOR = ""  # type: ignore[attr-defined]
    result = service.transfer(package)
    assert result.status is TransferStatus.PERMANENT
    assert "DIKOM_EFILE_CONNECTOR" in result.message


def test_export_and_transfer_through_the_configured_file_drop(tmp_path: Path, settings: object) -> None:
    require_xsds()
    settings.DIKOM_EFILE_CONNECTOR = "filedrop"  # type: ignore[attr-defined]
    settings.DIKOM_EFILE_DROP_DIR = str(tmp_path)  # type: ignore[attr-defined]
    case_file = realistic_case_file()

    package = service.export_case_file(case_file, created_at=CREATED)
    result = service.transfer(package)

    assert result.ok
    delivered = (tmp_path / package.file_name).read_bytes()
    entries = xdomea.read_package(delivered)
    assert xdomea.validate(entries[package.xml_name]) == []
    assert f"<xdomea:Ablageort>{tmp_path}</xdomea:Ablageort>".encode() in entries[package.xml_name]
    assert f"<xdomea:FachverfahrenObjektID>{case_file.uuid}<".encode() in entries[package.xml_name]
    # closing the same case again later (a retry after a crash) delivers nothing new
    assert service.transfer(service.export_case_file(case_file)).message.startswith("already delivered")
