"""The small surface other apps use: API key authentication and the principal
a machine client acts as."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.utils import timezone

from dikom.accounts.models import ApiKey
from dikom.municipalities.models import Municipality

KEY_PREFIX = "dk"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_key(token: str) -> tuple[str, str] | None:
    """``dk_<prefix>_<secret>`` → (prefix, secret), or None if malformed."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def authenticate_api_key(token: str) -> ApiKey | None:
    """The active key for ``token``, or None. Records the last use (once a minute at most)."""
    parts = split_key(token)
    if parts is None or len(token) > 200:
        return None
    prefix, secret = parts
    api_key = ApiKey.objects.select_related("municipality").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, hash_secret(secret)):
        return None
    if not api_key.is_active:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


class ApiKeyUser:
    """The principal of a request authenticated with an API key.

    It is not a person: it holds no roles, only the key's municipality and scopes.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.municipality: Municipality = api_key.municipality
        self.scopes: frozenset[str] = frozenset(api_key.scopes)

    def get_username(self) -> str:
        return f"api-key:{self.api_key.prefix}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def __str__(self) -> str:
        return self.get_username()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ApiKeyUser) and other.api_key.pk == self.api_key.pk

    def __hash__(self) -> int:
        return hash(("api-key", self.api_key.pk))
