"""Browser origins of the public collection endpoints (their rate limits are in ``budget.py``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` in lower case for an http(s) URL or origin; None when it is none."""
    if not isinstance(value, str) or len(value) > 300 or any(ch.isspace() for ch in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    if parts.username or parts.password:
        return None
    origin = f"{parts.scheme}://{parts.hostname}"
    default_port = 443 if parts.scheme == "https" else 80
    if port is not None and port != default_port:
        origin += f":{port}"
    return origin


def request_origin(request: HttpRequest) -> tuple[bool, str | None]:
    """(whether the request names an origin, the normalised origin or None when unparsable).

    Browsers send ``Origin`` on POST and CORS requests and a ``Referer`` on
    image requests; a request without either is from a server.
    """
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        return True, normalise_origin(origin)
    if origin == "null":  # sandboxed frames, file:// pages: never an allowed origin
        return True, None
    referer = request.headers.get("Referer")
    if referer:
        return True, normalise_origin(referer)
    return False, None


def origin_allowed(allowed: list[str], request: HttpRequest, *, require: bool = False) -> bool:
    """True when the request names one of ``allowed`` or dikom's own origin, or names none (a server-side
    sender) and the site does not ``require`` one.

    dikom's own pages (the demo form) may always send: no other site can put a page on
    dikom's origin, and a browser names the page's true origin.
    """
    present, origin = request_origin(request)
    if not present:
        return not require
    if origin is None:
        return False
    return origin in set(allowed) or origin == normalise_origin(request.build_absolute_uri("/"))
