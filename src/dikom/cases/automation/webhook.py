"""The ``call_webhook`` action: one signed HTTPS POST, without letting a rule reach into our own network.

The hand-over's transport (``dikom.handover.transport``) has the same shape
but reads the hand-over's settings; a rule's target policy is configured on
its own (``DIKOM_AUTOMATION_*``), so this module applies the same rules with
those settings and reuses the hand-over's error type, status classification
and Standard-Webhooks signature:

- only ``https://`` (``http://`` only with ``DIKOM_AUTOMATION_ALLOW_HTTP``),
  no user name or password in the address;
- every address the host name resolves to must be public (private and
  loopback only with ``DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS``; link-local,
  multicast and unspecified never), and the connection goes to exactly the
  checked address;
- redirects are never followed; one timeout for every network operation;
  at most ``MAX_RESPONSE_BYTES`` of the answer are read and thrown away.

Every request carries ``webhook-id`` and ``Idempotency-Key`` with the same
stable value for one action of one rule for one event: a retry after a crash
sends the same key, so the receiver can drop the duplicate.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from dikom.handover import signing
from dikom.handover.transport import DeliveryError, Target, classify

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "dikom-automation/1"

__all__ = ["DeliveryError", "call", "parse_url"]


def parse_url(url: str) -> Target:
    """Check a webhook address without the network; raises ValidationError with a message for the form."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValidationError(gettext_lazy("Please enter a valid address."), code="invalid") from exc
    allowed = {"https", "http"} if settings.DIKOM_AUTOMATION_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed:
        raise ValidationError(gettext_lazy("The address must start with https://."), code="scheme")
    if not parts.hostname:
        raise ValidationError(gettext_lazy("The address has no host name."), code="host")
    if parts.username or parts.password:
        raise ValidationError(gettext_lazy("The address must not contain a user name or password."), code="credentials")
    if parts.fragment:
        raise ValidationError(gettext_lazy("The address must not contain a fragment (#…)."), code="fragment")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not address_allowed(literal):
        raise ValidationError(
            gettext_lazy("The address points to a private or reserved network, which is not allowed here."),
            code="private",
        )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=parts.scheme, host=parts.hostname, port=port or (443 if parts.scheme == "https" else 80), path=path
    )


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return False  # never: cloud metadata (169.254.169.254) and friends
    if address.is_global:
        return True
    if not settings.DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS:
        return False
    return address.is_loopback or (address.is_private and not address.is_reserved)


def _resolve(target: Target) -> str:
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryError(_("The host name could not be resolved."), retry=True) from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise DeliveryError(_("The host name could not be resolved."), retry=True)
    if not all(address_allowed(address) for address in addresses):
        raise DeliveryError(
            _("The target resolves to a private or reserved network address; nothing was sent."), retry=False
        )
    return str(addresses[0])


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def call(url: str, body: bytes, *, secret: str, idempotency_key: str) -> int:
    """POST ``body`` signed with ``secret``; returns the 2xx status, raises DeliveryError otherwise."""
    try:
        target = parse_url(url)
    except ValidationError as exc:
        raise DeliveryError(" ".join(str(m) for m in exc.messages), retry=False) from exc
    address = _resolve(target)
    timeout = settings.DIKOM_AUTOMATION_WEBHOOK_TIMEOUT_SECONDS
    timestamp = int(time.time())
    headers: dict[str, Any] = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Content-Length": str(len(body)),
        "webhook-id": idempotency_key,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature(secret, idempotency_key, timestamp, body),
        "Idempotency-Key": idempotency_key,
    }
    connection_class: Any = _PinnedTLS if target.scheme == "https" else _Pinned
    connection = connection_class(target.host, target.port, address=address, timeout=timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        status = response.status
        response.read(MAX_RESPONSE_BYTES)
    except TimeoutError as exc:
        text = ngettext("No answer within %(seconds)d second.", "No answer within %(seconds)d seconds.", timeout)
        raise DeliveryError(text % {"seconds": timeout}, retry=True) from exc
    except ssl.SSLError as exc:
        raise DeliveryError(
            _("TLS connection failed (%(reason)s).") % {"reason": exc.__class__.__name__}, retry=True
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(
            _("Connection failed (%(reason)s).") % {"reason": exc.__class__.__name__}, retry=True
        ) from exc
    finally:
        connection.close()
    return classify(status)
