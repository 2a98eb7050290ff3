"""Requests to addresses that people type in, without letting them reach into our own network (SSRF).

Webhook targets (hand-over, automation) and harvest sources (open data) are
addresses entered by administrators; without care they could point dikom at its
database, the cloud metadata service or an intranet. So:

- only ``https://`` (``http://`` only when the caller's ``Policy`` allows it), no
  user name or password in the address;
- the host name is resolved once, *every* address it resolves to must be public
  (private and loopback addresses only when the policy allows them; link-local,
  multicast, reserved and unspecified addresses never), and the connection goes
  to exactly the checked address, so a second DNS answer cannot swap in another;
- redirects are never followed by ``post``; ``fetch`` follows a few, checking
  every hop as above;
- every network operation has a timeout, and at most a given number of bytes of
  an answer are read.

Moved here from ``handover/transport.py`` (which keeps its names) so that the
open data harvester uses the same guard.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DeliveryError(Exception):
    """A request that did not succeed. ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.http_status = http_status


@dataclass(frozen=True)
class Policy:
    """Which targets a caller may reach and how long it waits."""

    allow_http: bool
    allow_private: bool
    timeout_seconds: float
    user_agent: str


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str, policy: Policy) -> Target:
    """Check a webhook address as far as possible without the network; raises ValidationError."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ValidationError(gettext_lazy("Please enter a valid address."), code="invalid") from exc
    allowed = {"https", "http"} if policy.allow_http else {"https"}
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
    if literal is not None and not address_allowed(literal, policy):
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


def address_allowed(address: IPAddress, policy: Policy) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return False  # never: cloud metadata (169.254.169.254) and friends
    if address.is_global:
        return True
    if not policy.allow_private:
        return False
    return address.is_loopback or (address.is_private and not address.is_reserved)


def resolve(target: Target, policy: Policy) -> str:
    """The one checked address to connect to; every address of the name must be allowed."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DeliveryError(_("The host name could not be resolved."), retry=True) from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise DeliveryError(_("The host name could not be resolved."), retry=True)
    if not all(address_allowed(address, policy) for address in addresses):
        raise DeliveryError(
            _("The target resolves to a private or reserved network address; nothing was sent."), retry=False
        )
    return str(addresses[0])


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked address, whatever DNS answers meanwhile."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address, with the certificate checked against the host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def connection_for(target: Target, address: str, timeout: float) -> Any:
    """An HTTP(S) connection to the checked ``address`` of ``target``."""
    connection_class: Any = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
    return connection_class(target.host, target.port, address=address, timeout=timeout)


@dataclass
class Response:
    url: str
    status: int
    content_type: str
    body: bytes


def fetch(
    url: str,
    policy: Policy,
    *,
    max_bytes: int,
    accept: str = "*/*",
    max_redirects: int = 3,
    deadline_seconds: float | None = None,
) -> Response:
    """GET ``url`` under ``policy``: every hop checked, at most ``max_bytes`` of the body (more is an error).

    Raises ``DeliveryError`` for an unsafe or unreachable address, a timeout, a
    non-2xx answer or an answer larger than ``max_bytes``.
    """
    deadline = time.monotonic() + (deadline_seconds or policy.timeout_seconds * 4)
    for _hop in range(max_redirects + 1):
        try:
            target = parse_url(url, policy)
        except ValidationError as exc:
            raise DeliveryError(" ".join(str(m) for m in exc.messages), retry=False) from exc
        address = resolve(target, policy)
        connection = connection_for(target, address, policy.timeout_seconds)
        try:
            connection.request(
                "GET",
                target.path,
                headers={"Accept": accept, "User-Agent": policy.user_agent, "Accept-Encoding": "identity"},
            )
            response = connection.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location") or "")
                continue
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise DeliveryError(_("The answer took too long."), retry=True)
                chunk = response.read(64 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise DeliveryError(
                        _("The answer is larger than %(n)d MB.") % {"n": max(1, max_bytes // (1024 * 1024))},
                        retry=False,
                    )
                chunks.append(chunk)
            if not 200 <= response.status < 300:
                raise DeliveryError(
                    _("The server answered with HTTP status %(status)d.") % {"status": response.status},
                    retry=response.status >= 500,
                    http_status=response.status,
                )
            return Response(url, response.status, response.getheader("Content-Type") or "", b"".join(chunks))
        except NETWORK_ERRORS as exc:
            raise network_error(exc, policy.timeout_seconds) from exc
        finally:
            connection.close()
    raise DeliveryError(_("Too many redirects."), retry=False)


# What a failed connection, TLS handshake, request or answer raises (socket.timeout is TimeoutError).
NETWORK_ERRORS = (OSError, http.client.HTTPException)


def network_error(exc: BaseException, timeout: float) -> DeliveryError:
    """The retryable DeliveryError for one of ``NETWORK_ERRORS``: a timeout, TLS, or another failure."""
    if isinstance(exc, TimeoutError):
        text = ngettext("No answer within %(seconds)d second.", "No answer within %(seconds)d seconds.", timeout)
        return DeliveryError(text % {"seconds": timeout}, retry=True)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(_("TLS connection failed (%(reason)s).") % {"reason": exc.__class__.__name__}, retry=True)
    return DeliveryError(_("Connection failed (%(reason)s).") % {"reason": exc.__class__.__name__}, retry=True)
