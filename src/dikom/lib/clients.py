"""Who is asking, as rate limits and throttles count it: the client's network address.

``REMOTE_ADDR`` is the address the server saw; behind a reverse proxy the server
must be told to put the client's address there (waitress: ``DIKOM_TRUSTED_PROXY``).
Headers the client writes itself (``X-Forwarded-For``) are never read: a sender
could otherwise pick a new identity per request. Callers hash the result before
they use it as a cache key, so no address is kept.
"""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest


def client_network(request: HttpRequest) -> str:
    """The client's address; IPv6 clients by their /64 network, which one household or server usually
    holds whole, and IPv4-mapped IPv6 addresses as the IPv4 address they are. "unknown" if unreadable."""
    raw = str(request.META.get("REMOTE_ADDR") or "")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)
