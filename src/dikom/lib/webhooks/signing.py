"""Webhook signatures in the style of the Standard Webhooks specification (every outgoing webhook of dikom).

The signed content is ``"<webhook-id>.<webhook-timestamp>.<body>"``; the
signature is HMAC-SHA256 with the key that follows ``whsec_`` (base64), sent
as ``webhook-signature: v1,<base64 signature>``. Receivers can therefore use
any Standard Webhooks library, or the few lines in ``docs/handover.md`` and
``docs/case-api.md``, and check that the timestamp is recent so that a captured
request cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format marker, not a secret)
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The value of the ``webhook-signature`` header for one request."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` (now unless given) and ``webhook-signature`` for one request."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature(secret, msg_id, stamp, body),
    }


def verify(secret: str, msg_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """Whether one of the space-separated signatures in ``header`` matches (what receivers do)."""
    expected = signature(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
