"""One POST of a webhook body through the SSRF guard of ``dikom.lib.safe_http``.

The caller's ``Policy`` (built from its own settings) says whether ``http://``
and private or loopback targets are allowed and how long every step may take;
link-local addresses such as the cloud metadata service are never allowed. The
connection goes to the checked address, redirects are not followed (3xx is a
failure), and at most ``MAX_RESPONSE_BYTES`` of the answer are read and thrown
away: the answer is not stored.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from dikom.lib import safe_http
from dikom.lib.safe_http import DeliveryError, Policy

__all__ = ["MAX_RESPONSE_BYTES", "DeliveryError", "Policy", "classify", "post"]

MAX_RESPONSE_BYTES = 64 * 1024


def post(url: str, body: bytes, headers: dict[str, str], policy: Policy) -> int:
    """POST ``body`` to ``url``; returns the HTTP status of a 2xx answer, raises DeliveryError otherwise."""
    try:
        target = safe_http.parse_url(url, policy)
    except ValidationError as exc:
        raise DeliveryError(" ".join(str(m) for m in exc.messages), retry=False) from exc
    address = safe_http.resolve(target, policy)
    timeout = policy.timeout_seconds
    connection = safe_http.connection_for(target, address, timeout)
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
    except safe_http.NETWORK_ERRORS as exc:
        raise safe_http.network_error(exc, timeout) from exc
    finally:
        connection.close()
    return classify(status)


def classify(status: int) -> int:
    """2xx delivered; 408, 429 and 5xx worth retrying; redirects and other answers final.

    Other 4xx will not change by sending the same again; an administrator can retry by hand.
    """
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise DeliveryError(
            _("The target answered with a redirect (HTTP %(status)d); redirects are not followed.")
            % {"status": status},
            retry=False,
            http_status=status,
        )
    retry = status in (408, 429) or status >= 500
    raise DeliveryError(_("The target answered HTTP %(status)d.") % {"status": status}, retry=retry, http_status=status)
