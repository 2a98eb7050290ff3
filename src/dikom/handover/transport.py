"""Sending one webhook request without letting a target address reach into our own network.

A webhook address is typed in by a municipality administrator; without care it
could point dikom at its database, the cloud metadata service or an intranet
(server-side request forgery). So:

- only ``https://`` (``http://`` only with ``DIKOM_HANDOVER_ALLOW_HTTP``), no
  user name or password in the address;
- the host name is resolved once, *every* address it resolves to must be public
  (private and loopback addresses only with
  ``DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS``; link-local, multicast, reserved and
  unspecified addresses never), and the connection goes to exactly the checked
  address, so a second DNS answer cannot swap in another one;
- redirects are never followed (3xx counts as a failure);
- every network operation has a timeout, and at most ``MAX_RESPONSE_BYTES`` of
  the answer are read (and then thrown away: the answer is not stored).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "dikom-handover/1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DeliveryError(Exception):
    """An attempt that did not deliver. ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.http_status = http_status


@dataclass(frozen=True)
class Policy:
    """Which targets a caller may reach and how long it waits (hand-over and automation differ only here)."""

    allow_http: bool
    allow_private: bool
    timeout_seconds: float
    user_agent: str


def handover_policy() -> Policy:
    return Policy(
        allow_http=settings.DIKOM_HANDOVER_ALLOW_HTTP,
        allow_private=settings.DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS,
        timeout_seconds=settings.DIKOM_HANDOVER_TIMEOUT_SECONDS,
        user_agent=USER_AGENT,
    )


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str, policy: Policy | None = None) -> Target:
    """Check a webhook address as far as possible without the network; raises ValidationError."""
    policy = policy or handover_policy()
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


def address_allowed(address: IPAddress, policy: Policy | None = None) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return False  # never: cloud metadata (169.254.169.254) and friends
    if address.is_global:
        return True
    if not (policy or handover_policy()).allow_private:
        return False
    return address.is_loopback or (address.is_private and not address.is_reserved)


def resolve(target: Target, policy: Policy | None = None) -> str:
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


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a checked address, whatever DNS answers meanwhile."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address, with the certificate checked against the host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: dict[str, str], policy: Policy | None = None) -> int:
    """POST ``body`` to ``url``; returns the HTTP status of a 2xx answer, raises DeliveryError otherwise."""
    policy = policy or handover_policy()
    try:
        target = parse_url(url, policy)
    except ValidationError as exc:
        raise DeliveryError(" ".join(str(m) for m in exc.messages), retry=False) from exc
    address = resolve(target, policy)
    timeout = policy.timeout_seconds
    connection_class: Any = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, address=address, timeout=timeout)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": policy.user_agent,
                "Content-Length": str(len(body)),
            },
        )
        response = connection.getresponse()
        status = response.status
        response.read(MAX_RESPONSE_BYTES)  # read a bounded part so the peer is not reset mid-answer
    except TimeoutError as exc:  # socket.timeout is TimeoutError
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


def classify(status: int) -> int:
    """2xx delivered; 408, 429 and 5xx worth retrying; redirects and other answers final."""
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise DeliveryError(
            _("The target answered with a redirect (HTTP %(status)d); redirects are not followed.")
            % {"status": status},
            retry=False,
            http_status=status,
        )
    retry = status in (408, 429) or 500 <= status < 600
    raise DeliveryError(_("The target answered HTTP %(status)d.") % {"status": status}, retry=retry, http_status=status)
