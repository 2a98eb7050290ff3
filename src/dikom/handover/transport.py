"""Sending one webhook request without letting a target address reach into our own network.

The guard itself lives in ``dikom.lib.safe_http`` (shared with the open data
harvester) and the POST in ``dikom.lib.webhooks.transport`` (shared with the case
webhooks and the automation); this module applies the hand-over's settings to them.

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

from django.conf import settings

from dikom.lib import safe_http
from dikom.lib.safe_http import DeliveryError, IPAddress, Policy, Target
from dikom.lib.webhooks import transport as webhook_transport
from dikom.lib.webhooks.transport import MAX_RESPONSE_BYTES

__all__ = [
    "MAX_RESPONSE_BYTES",
    "DeliveryError",
    "IPAddress",
    "Policy",
    "Target",
    "address_allowed",
    "parse_url",
    "post",
    "resolve",
]

USER_AGENT = "dikom-handover/1"


def handover_policy() -> Policy:
    return Policy(
        allow_http=settings.DIKOM_HANDOVER_ALLOW_HTTP,
        allow_private=settings.DIKOM_HANDOVER_ALLOW_PRIVATE_TARGETS,
        timeout_seconds=settings.DIKOM_HANDOVER_TIMEOUT_SECONDS,
        user_agent=USER_AGENT,
    )


def parse_url(url: str, policy: Policy | None = None) -> Target:
    """Check a webhook address as far as possible without the network; raises ValidationError."""
    return safe_http.parse_url(url, policy or handover_policy())


def address_allowed(address: IPAddress, policy: Policy | None = None) -> bool:
    return safe_http.address_allowed(address, policy or handover_policy())


def resolve(target: Target, policy: Policy | None = None) -> str:
    """The one checked address to connect to; every address of the name must be allowed."""
    return safe_http.resolve(target, policy or handover_policy())


def post(url: str, body: bytes, headers: dict[str, str], policy: Policy | None = None) -> int:
    """POST ``body`` to ``url``; returns the HTTP status of a 2xx answer, raises DeliveryError otherwise."""
    return webhook_transport.post(url, body, headers, policy or handover_policy())
