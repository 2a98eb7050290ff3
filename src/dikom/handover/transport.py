"""Sending one webhook request without letting a target address reach into our own network.

The guard itself lives in ``dikom.lib.safe_http`` (shared with the open data
harvester); this module applies the hand-over's settings to it.

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
import ssl

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dikom.lib import safe_http
from dikom.lib.safe_http import DeliveryError, IPAddress, Policy, Target

__all__ = ["DeliveryError", "IPAddress", "Policy", "Target", "address_allowed", "parse_url", "post", "resolve"]

MAX_RESPONSE_BYTES = 64 * 1024
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
    policy = policy or handover_policy()
    try:
        target = parse_url(url, policy)
    except ValidationError as exc:
        raise DeliveryError(" ".join(str(m) for m in exc.messages), retry=False) from exc
    address = resolve(target, policy)
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
