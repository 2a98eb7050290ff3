"""The case webhooks' settings applied to the shared webhook transport (``dikom.lib.webhooks.transport``).

Only ``https://`` (``http://`` with ``DIKOM_CASE_WEBHOOK_ALLOW_HTTP``), every
address the host resolves to must be public (private and loopback ones with
``DIKOM_CASE_WEBHOOK_ALLOW_PRIVATE_TARGETS``; link-local such as the cloud
metadata service never), the connection goes to the checked address, redirects
are not followed, a timeout on every step, at most 64 KiB of the answer read.
"""

from __future__ import annotations

from django.conf import settings

from dikom.lib import safe_http
from dikom.lib.safe_http import Policy, Target
from dikom.lib.webhooks import transport

USER_AGENT = "dikom-case-webhooks/1"


def policy() -> Policy:
    return Policy(
        allow_http=settings.DIKOM_CASE_WEBHOOK_ALLOW_HTTP,
        allow_private=settings.DIKOM_CASE_WEBHOOK_ALLOW_PRIVATE_TARGETS,
        timeout_seconds=settings.DIKOM_CASE_WEBHOOK_TIMEOUT_SECONDS,
        user_agent=USER_AGENT,
    )


def check_url(url: str) -> Target:
    """Check a subscription's address without the network; raises ValidationError."""
    return safe_http.parse_url(url, policy())


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body``; the status of a 2xx answer, DeliveryError otherwise (``retry`` says whether to try again)."""
    return transport.post(url, body, headers, policy())
