"""One-time hand-over of an identity service's cross-site POST answer to the return view.

The session cookie is ``SameSite=Lax``: a browser sends it with a cross-site
top-level GET, but not with the cross-site POST of a SAML HTTP-POST binding
(or an OpenID Connect ``form_post``). The POST endpoint therefore cannot see
the sign-in attempt. It parks the posted fields in the cache under a random
one-time key, bound to the provider and the ``state`` that came with them, and
answers 303 to the generic return view, a same-site GET that carries the
session cookie again. The provider's ``complete()`` takes the fields with
:func:`take`, which deletes them.

Nothing here is trusted: the provider still verifies what it takes (for SAML
the signature, InResponseTo, audience, …). The cache must be shared by all
server processes (``DIKOM_CACHE_URL``), as for the rate limits.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

PREFIX = "dikom.authproviders.handoff:"
#: Seconds between the POST and the return view; a browser follows a 303 at once.
TTL_SECONDS = 120
#: Largest answer accepted (all fields together); BundID responses are a few tens of kB.
MAX_BYTES = 256 * 1024
#: Longest state accepted (SAML limits RelayState to 80 bytes; ours are 43 characters).
MAX_STATE_LENGTH = 200
QUERY_PARAMETER = "handoff"


def store(provider_key: str, state: str, fields: dict[str, str]) -> str | None:
    """Park ``fields`` for the return view; None when they are too large or the state is unusable."""
    if not state or len(state) > MAX_STATE_LENGTH or sum(len(value) for value in fields.values()) > MAX_BYTES:
        return None
    key = secrets.token_urlsafe(32)
    cache.set(PREFIX + key, {"provider": provider_key, "state": state, "fields": fields}, TTL_SECONDS)
    return key


def take(request: HttpRequest, provider_key: str, state: str) -> dict[str, str] | None:
    """The fields handed over to this return request (once), or None.

    They must have been posted for this provider together with this state.
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
    fields = data.get("fields")
    return {str(name): str(value) for name, value in fields.items()} if isinstance(fields, dict) else None
