"""Who may write what: an API key of the owning city with the ``sensors:write`` scope."""

from __future__ import annotations

import base64
import binascii

from django.http import HttpRequest

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


def writer_for_request(request: HttpRequest) -> ApiKeyUser:
    """The key that may write, or NotAuthenticated (no or unknown key) / NotAllowed (scope missing)."""
    token = _token(request)
    if not token:
        raise NotAuthenticated
    api_key = authenticate_api_key(token)
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
    token = _token(request)
    if not token:
        return None
    api_key = authenticate_api_key(token)
    return None if api_key is None else int(ApiKeyUser(api_key).municipality.pk)
