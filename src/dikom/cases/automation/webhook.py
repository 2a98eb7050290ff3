"""The ``call_webhook`` action: one signed HTTPS POST, without letting a rule reach into our own network.

The request goes through the hand-over's transport (``dikom.handover.transport``)
with the automation's own target policy (``DIKOM_AUTOMATION_*``) and the same
Standard-Webhooks signature:

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

import time

from django.conf import settings

from dikom.handover import signing, transport
from dikom.handover.transport import DeliveryError, Target

USER_AGENT = "dikom-automation/1"

__all__ = ["DeliveryError", "call", "parse_url"]


def policy() -> transport.Policy:
    return transport.Policy(
        allow_http=settings.DIKOM_AUTOMATION_ALLOW_HTTP,
        allow_private=settings.DIKOM_AUTOMATION_ALLOW_PRIVATE_TARGETS,
        timeout_seconds=settings.DIKOM_AUTOMATION_WEBHOOK_TIMEOUT_SECONDS,
        user_agent=USER_AGENT,
    )


def parse_url(url: str) -> Target:
    """Check a webhook address without the network; raises ValidationError with a message for the form."""
    return transport.parse_url(url, policy())


def call(url: str, body: bytes, *, secret: str, idempotency_key: str) -> int:
    """POST ``body`` signed with ``secret``; returns the 2xx status, raises DeliveryError otherwise."""
    timestamp = int(time.time())
    headers = {
        "webhook-id": idempotency_key,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature(secret, idempotency_key, timestamp, body),
        "Idempotency-Key": idempotency_key,
    }
    return transport.post(url, body, headers, policy())
