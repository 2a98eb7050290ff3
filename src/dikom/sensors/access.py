"""Who may write what: an API key of the owning city with the ``sensors:write`` scope."""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest

from dikom.accounts.models import ApiKey
from dikom.accounts.service import ApiKeyUser, authenticate_api_key
from dikom.sensors.scopes import SENSORS_WRITE


class NotAuthenticated(Exception):
    pass


class NotAllowed(Exception):
    pass


def _token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword, _sep, value = header.partition(" ")
    keyword = keyword.lower()
    if keyword in ("api-key", "bearer"):
        return value.strip()
    if keyword == "basic":
        # STA clients (frost-sta-client, QGIS) speak HTTP Basic: the password is the API key.
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return None


_UNSET = object()


def _api_key(request: HttpRequest) -> ApiKey | None:
    """The active key the request names, or None. Looked up once per request: the STA view asks for the
    reader before it asks for the writer, and both read the same header."""
    cached = getattr(request, "_dikom_sta_api_key", _UNSET)
    if cached is _UNSET:
        token = _token(request)
        cached = authenticate_api_key(token) if token else None
        setattr(request, "_dikom_sta_api_key", cached)  # noqa: B010  (HttpRequest declares no such attribute)
    return cached  # type: ignore[return-value]


def writer_for_request(request: HttpRequest) -> ApiKeyUser:
    """The key that may write, or NotAuthenticated (no or unknown key) / NotAllowed (scope missing)."""
    api_key = _api_key(request)
    if api_key is None:
        raise NotAuthenticated
    writer = ApiKeyUser(api_key)
    if not writer.has_scope(SENSORS_WRITE):
        raise NotAllowed
    return writer


def reader_city_id(request: HttpRequest) -> int | None:
    """The city whose unpublished data the request may read: that of a valid API key, else None (anonymous).

    An unknown or malformed key reads as anonymous: reads never fail on a key, they only see less.
    """
    api_key = _api_key(request)
    return None if api_key is None else int(api_key.municipality_id)
