"""Signatures of case webhooks: the Standard Webhooks scheme (the same as the hand-over's).

Signed is ``"<webhook-id>.<webhook-timestamp>.<body>"`` with HMAC-SHA256 and the
key that follows ``whsec_`` (base64); the header is ``webhook-signature:
v1,<base64>``. Receivers check the signature and that the timestamp is recent
(``docs/case-api.md`` has the recipe), so a captured request cannot be replayed
later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format marker, not a secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")
