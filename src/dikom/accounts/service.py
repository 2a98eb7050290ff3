"""The small surface other apps use: API key authentication and the principal
a machine client acts as."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

import orjson
from django.db import connection
from django.db.models import Field
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


Converters = list[tuple[list[Any], Any]]


@dataclass(frozen=True)
class _KeyQuery:
    sql: str
    key_names: list[str]
    city_names: list[str]
    key_converters: Converters
    city_converters: Converters


_key_queries: dict[str, _KeyQuery] = {}


def _row_converters(fields: list[Field[Any, Any]]) -> Converters:
    """What the ORM applies to each column of a row (backend and field converters)."""
    result = []
    for field in fields:
        column = field.get_col(str(field.model._meta.db_table))
        result.append((connection.ops.get_db_converters(column) + field.get_db_converters(connection), column))
    return result


def _convert(values: tuple[Any, ...], converters: Converters) -> list[Any]:
    converted = list(values)
    for index, (functions, column) in enumerate(converters):
        for function in functions:
            converted[index] = function(converted[index], column, connection)
    return converted


def _key_query() -> _KeyQuery:
    """The statement reading a key and its municipality, built once per database vendor."""
    query = _key_queries.get(connection.vendor)
    if query is None:
        key_fields = list(ApiKey._meta.concrete_fields)
        city_fields = list(Municipality._meta.concrete_fields)
        quote = connection.ops.quote_name
        columns = [f"k.{quote(str(f.column))}" for f in key_fields] + [f"m.{quote(str(f.column))}" for f in city_fields]
        query = _key_queries[connection.vendor] = _KeyQuery(
            sql=(
                f"SELECT {', '.join(columns)} FROM {quote(ApiKey._meta.db_table)} k "  # noqa: S608 - model names only
                f"JOIN {quote(Municipality._meta.db_table)} m ON m.id = k.municipality_id WHERE k.prefix = %s"
            ),
            key_names=[f.attname for f in key_fields],
            city_names=[f.attname for f in city_fields],
            key_converters=_row_converters(key_fields),
            city_converters=_row_converters(city_fields),
        )
    return query


def _key_by_prefix(prefix: str) -> ApiKey | None:
    """The key with ``prefix`` and its municipality, in one statement.

    Written out instead of ``select_related(...).first()``: building that
    query costs about 1.7 ms of CPU per request, the statement itself 0.1 ms
    (measured, see ``docs/benchmarks.md``), and every API request makes it.
    Nothing is cached, so a revoked key is refused by the very next request.
    """
    query = _key_query()
    with connection.cursor() as cursor:
        cursor.execute(query.sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(query.key_names)
    api_key = ApiKey.from_db(connection.alias, query.key_names, _convert(row[:split], query.key_converters))
    municipality = Municipality.from_db(
        connection.alias, query.city_names, _convert(row[split:], query.city_converters)
    )
    ApiKey._meta.get_field("municipality").set_cached_value(api_key, municipality)
    return api_key


def authenticate_api_key(token: str) -> ApiKey | None:
    """The active key for ``token`` (its municipality loaded), or None. Records the last use (once a minute at most)."""
    parts = split_key(token)
    if parts is None or len(token) > 200:
        return None
    prefix, secret = parts
    api_key = _key_by_prefix(prefix)
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, hash_secret(secret)):
        return None
    if not api_key.is_active:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


class KeyGrant(NamedTuple):
    """What an active key grants: to act for its municipality within its scopes."""

    prefix: str
    municipality_id: int
    scopes: frozenset[str]


_grant_queries: dict[str, str] = {}


def _grant_query() -> str:
    query = _grant_queries.get(connection.vendor)
    if query is None:
        table = connection.ops.quote_name(ApiKey._meta.db_table)
        query = _grant_queries[connection.vendor] = (
            "SELECT secret_hash, scopes, municipality_id, id, last_used_at IS NULL OR last_used_at < %s "  # noqa: S608
            f"FROM {table} WHERE prefix = %s AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > %s)"
        )
    return query


def grant_of_api_key(token: str) -> KeyGrant | None:
    """What the active key ``token`` grants, or None: ``authenticate_api_key`` without the model instances.

    The ingestion fast path (``dikom.analytics.api.fastpath``) asks this for
    every event a form system sends. The same rules as ``authenticate_api_key``
    (revoked and expired keys are refused, nothing is cached, the last use is
    recorded once a minute at most), in one statement that reads four columns
    and builds no model: about half the CPU of ``authenticate_api_key``
    (``benchmarks/profile_ingest.py --key-lookups``; ``docs/benchmarks.md``).
    """
    parts = split_key(token)
    if parts is None or len(token) > 200:
        return None
    prefix, secret = parts
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(_grant_query(), [adapt(now - LAST_USED_RESOLUTION), prefix, adapt(now)])
        row = cursor.fetchone()
    if row is None:
        return None
    secret_hash, scopes, municipality_id, pk, stale = row
    if not hmac.compare_digest(secret_hash, hash_secret(secret)):
        return None
    if stale:
        ApiKey.objects.filter(pk=pk).update(last_used_at=now)
    if isinstance(scopes, (str, bytes)):
        scopes = orjson.loads(scopes)
    return KeyGrant(prefix, municipality_id, frozenset(scopes or ()))


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
