"""One-time hand-over of the result of an identity service's cross-site POST to the return view.

The session cookie is ``SameSite=Lax``: a browser sends it with a cross-site
top-level GET, but not with the cross-site POST of a SAML HTTP-POST binding
(or an OpenID Connect ``form_post``). The POST endpoint therefore cannot see
the sign-in attempt. The provider verifies the answer right there (for SAML
everything can be checked without the session: InResponseTo is derived from
the ``state`` that comes with the answer), and only the small *result* — the
identity, or the reason for a refusal — is parked in the cache under a random
one-time key, bound to the provider and that ``state``. The POST answers 303
to the generic return view, a same-site GET that carries the session cookie
again; it checks the state against the session, and the provider's
``complete()`` takes the result with :func:`take`, which deletes it.

Unverified answers (up to hundreds of kilobytes each) are never parked: an
anonymous POST can put at most :data:`MAX_RESULT_BYTES` into the cache, for
:data:`TTL_SECONDS`, and the ACS is rate-limited per client. The cache must be
shared by all server processes (``DIKOM_CACHE_URL``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

PREFIX = "dikom.authproviders.handoff:"
#: Seconds between the POST and the return view; a browser follows a 303 at once.
TTL_SECONDS = 120
#: Largest answer a provider reads from the POST (BundID responses are a few tens of kB).
MAX_ANSWER_BYTES = 256 * 1024
#: Largest parked result (an identity with its allow-listed attributes, or an error code).
MAX_RESULT_BYTES = 16 * 1024
#: Longest state accepted (SAML limits RelayState to 80 bytes; ours are 43 characters).
MAX_STATE_LENGTH = 200
QUERY_PARAMETER = "handoff"


def store(provider_key: str, state: str, result: dict[str, Any]) -> str | None:
    """Park the verified ``result`` (JSON-able) for the return view; None when it is too large or the state unusable."""
    if not state or len(state) > MAX_STATE_LENGTH:
        return None
    encoded = json.dumps(result, separators=(",", ":"))
    if len(encoded) > MAX_RESULT_BYTES:
        return None
    key = secrets.token_urlsafe(32)
    cache.set(PREFIX + key, {"provider": provider_key, "state": state, "result": encoded}, TTL_SECONDS)
    return key


def take(request: HttpRequest, provider_key: str, state: str) -> dict[str, Any] | None:
    """The result handed over to this return request (once), or None.

    It must have been parked for this provider together with this state.
    """
    key = request.GET.get(QUERY_PARAMETER, "")
    if not key or len(key) > 64:
        return None
    data: Any = cache.get(PREFIX + key)
    cache.delete(PREFIX + key)
    if not isinstance(data, dict) or data.get("provider") != provider_key:
        return None
    if not constant_time_compare(str(data.get("state", "")), state):
        return None
    try:
        result = json.loads(str(data.get("result", "")))
    except ValueError:
        return None
    return result if isinstance(result, dict) else None
