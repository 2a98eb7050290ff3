"""Webhook: POST the ZIP to the e-file system's HTTPS endpoint.

Request: ``POST <DIKOM_EFILE_WEBHOOK_URL>`` with the ZIP as body
(``Content-Type: application/zip``) and the headers

- ``Idempotency-Key: <ProzessID>`` — the receiver must treat a repeated key as
  the same delivery (we retry with the same key and the same bytes);
- ``X-Dikom-Signature-256: sha256=<hex>`` — HMAC-SHA256 of the raw body with
  the shared secret ``DIKOM_EFILE_WEBHOOK_SECRET``;
- ``X-Xdomea-ProzessID``, ``X-Xdomea-Nachrichtentyp`` and a
  ``Content-Disposition`` with the container's file name.

Answers: 2xx ok (the ``Location`` header or a JSON ``reference``/``id`` is kept
as the external reference); 408, 425, 429, 5xx, timeouts and connection errors
are retried; every other answer (4xx, 3xx — redirects are not followed) is
permanent. Only https URLs are accepted: case files hold personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ssl
from urllib.parse import urlsplit

from django.conf import settings

from dikom.cases.efile.base import EfileConnector, TransferResult
from dikom.cases.efile.xdomea import ExportPackage
from dikom.lib.jsonparse import loads_limited

SIGNATURE_HEADER = "X-Dikom-Signature-256"
RETRYABLE_STATUSES = {408, 425, 429}
MAX_RESPONSE_BYTES = 64 * 1024


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookConnector(EfileConnector):
    key = "webhook"

    def __init__(
        self,
        url: str | None = None,
        secret: str | None = None,
        timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url if url is not None else getattr(settings, "DIKOM_EFILE_WEBHOOK_URL", None)
        self.secret = secret if secret is not None else getattr(settings, "DIKOM_EFILE_WEBHOOK_SECRET", None)
        self.timeout = float(timeout if timeout is not None else getattr(settings, "DIKOM_EFILE_TIMEOUT_SECONDS", 30))
        # The system trust store unless a caller (a test, a city CA) brings its own.
        self.ssl_context = ssl_context or ssl.create_default_context()

    def ablageort(self) -> str | None:
        return self.url or None

    def configuration_problems(self) -> list[str]:
        problems = []
        if not self.url:
            problems.append("DIKOM_EFILE_WEBHOOK_URL is not set")
        else:
            parts = urlsplit(self.url)
            if parts.scheme != "https" or not parts.hostname:
                problems.append(f"DIKOM_EFILE_WEBHOOK_URL must be an https:// URL, got {self.url!r}")
        if not self.secret:
            problems.append("DIKOM_EFILE_WEBHOOK_SECRET is not set")
        return problems

    def transfer(self, package: ExportPackage) -> TransferResult:
        problems = self.configuration_problems()
        if problems:
            return TransferResult.fail("; ".join(problems))
        assert self.url is not None and self.secret is not None  # noqa: S101 - checked above
        parts = urlsplit(self.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = package.content
        headers = {
            "Content-Type": "application/zip",
            "Content-Length": str(len(body)),
            "Content-Disposition": f'attachment; filename="{package.file_name}"',
            "Idempotency-Key": str(package.process_id),
            SIGNATURE_HEADER: sign(self.secret, body),
            "X-Xdomea-ProzessID": str(package.process_id),
            "X-Xdomea-Nachrichtentyp": package.message_type.value,
            "User-Agent": "dikom-efile",
        }
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=self.timeout, context=self.ssl_context
        )
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read(MAX_RESPONSE_BYTES)
        except ssl.SSLCertVerificationError as exc:
            return TransferResult.fail(f"the e-file system's TLS certificate was refused: {exc.verify_message}")
        except TimeoutError:
            return TransferResult.retry(f"no answer from the e-file system within {self.timeout:g} seconds")
        except (OSError, http.client.HTTPException) as exc:
            return TransferResult.retry(f"connection to the e-file system failed: {exc}")
        finally:
            connection.close()
        return self._result(response, payload, package)

    def _result(self, response: http.client.HTTPResponse, payload: bytes, package: ExportPackage) -> TransferResult:
        status = response.status
        if 200 <= status < 300:
            return TransferResult.success(self._reference(response, payload) or str(package.process_id))
        described = f"the e-file system answered {status} {response.reason}".strip()
        if status >= 500 or status in RETRYABLE_STATUSES:
            return TransferResult.retry(described)
        if 300 <= status < 400:
            return TransferResult.fail(f"{described}; redirects are not followed, configure the final URL")
        return TransferResult.fail(described)

    @staticmethod
    def _reference(response: http.client.HTTPResponse, payload: bytes) -> str:
        location = response.getheader("Location")
        if location:
            return location
        if "json" in (response.getheader("Content-Type") or ""):
            try:
                data = loads_limited(payload)
            except ValueError:
                return ""
            if isinstance(data, dict):
                for key in ("reference", "id"):
                    if data.get(key) not in (None, ""):
                        return str(data[key])
        return ""
