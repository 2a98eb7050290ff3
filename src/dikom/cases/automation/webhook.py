"""The ``call_webhook`` action: one signed HTTPS POST, without letting a rule reach into our own network.

The request goes through the shared webhook transport (``dikom.lib.webhooks``)
with the automation's own target policy (``DIKOM_AUTOMATION_*``) and the same
Standard-Webhooks signature as the hand-over and the case webhooks:

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

from django.conf import settings

from dikom.lib import safe_http
from dikom.lib.safe_http import DeliveryError, Policy, Target
from dikom.lib.webhooks import signing, transport

USER_AGENT = "dikom-automation/1"

__all__ = ["DeliveryError", "call", "parse_url"]


def policy() -> Policy:
    return Policy(
        allow_http=settings.DIKOM_AUTOMATION_ALLOW_HTTP,
        allow_private=settings.DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS,
        timeout_seconds=settings.DIKOM_AUTOMATION_WEBHOOK_TIMEOUT_SECONDS,
        user_agent=USER_AGENT,
    )


def parse_url(url: str) -> Target:
    """Check a webhook address without the network; raises ValidationError with a message for the form."""
    return safe_http.parse_url(url, policy())


def call(url: str, body: bytes, *, secret: str, idempotency_key: str) -> int:
    """POST ``body`` signed with ``secret``; returns the 2xx status, raises DeliveryError otherwise."""
    headers = {**signing.headers(secret, idempotency_key, body), "Idempotency-Key": idempotency_key}
    return transport.post(url, body, headers, policy())
