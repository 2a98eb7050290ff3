"""One POST of a case event to a subscriber, through the SSRF guard of ``dikom.lib.safe_http``.

Only ``https://`` (``http://`` with ``DIKOM_CASE_WEBHOOK_ALLOW_HTTP``), every
address the host resolves to must be public (private and loopback ones with
``DIKOM_CASE_WEBHOOK_ALLOW_PRIVATE_TARGETS``; link-local such as the cloud
metadata service never), the connection goes to the checked address, redirects
are not followed, a timeout on every step, at most 64 KiB of the answer read.
"""

from __future__ import annotations

import http.client
import ssl

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dikom.lib import safe_http
from dikom.lib.safe_http import DeliveryError, Policy, Target

MAX_RESPONSE_BYTES = 64 * 1024
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
    current = policy()
    try:
        target = safe_http.parse_url(url, current)
    except ValidationError as exc:
        raise DeliveryError(" ".join(str(m) for m in exc.messages), retry=False) from exc
    address = safe_http.resolve(target, current)
    connection = safe_http.connection_for(target, address, current.timeout_seconds)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": current.user_agent,
                "Content-Length": str(len(body)),
            },
        )
        response = connection.getresponse()
        status = response.status
        response.read(MAX_RESPONSE_BYTES)
    except TimeoutError as exc:
        seconds = current.timeout_seconds
        text = ngettext("No answer within %(seconds)d second.", "No answer within %(seconds)d seconds.", seconds)
        raise DeliveryError(text % {"seconds": seconds}, retry=True) from exc
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
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise DeliveryError(
            _("The target answered with a redirect (HTTP %(status)d); redirects are not followed.")
            % {"status": status},
            retry=False,
            http_status=status,
        )
    # 4xx other than 408/429 will not change by sending the same again; the administrator can retry by hand.
    retry = status in (408, 429) or status >= 500
    raise DeliveryError(_("The target answered HTTP %(status)d.") % {"status": status}, retry=retry, http_status=status)
