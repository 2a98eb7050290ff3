"""The small surface other apps use: API key authentication and the principal
a machine client acts as."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

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


_key_queries: dict[tuple[str, bool], _KeyQuery] = {}


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


def _key_query(with_municipality: bool) -> _KeyQuery:
    """The statement reading a key (with its municipality), built once per database vendor."""
    query = _key_queries.get((connection.vendor, with_municipality))
    if query is None:
        key_fields = list(ApiKey._meta.concrete_fields)
        city_fields = list(Municipality._meta.concrete_fields) if with_municipality else []
        quote = connection.ops.quote_name
        columns = [f"k.{quote(str(f.column))}" for f in key_fields] + [f"m.{quote(str(f.column))}" for f in city_fields]
        join = f"JOIN {quote(Municipality._meta.db_table)} m ON m.id = k.municipality_id " if with_municipality else ""
        query = _key_queries[connection.vendor, with_municipality] = _KeyQuery(
            sql=(
                f"SELECT {', '.join(columns)} FROM {quote(ApiKey._meta.db_table)} k "  # noqa: S608 - model names only
                f"{join}WHERE k.prefix = %s"
            ),
            key_names=[f.attname for f in key_fields],
            city_names=[f.attname for f in city_fields],
            key_converters=_row_converters(key_fields),
            city_converters=_row_converters(city_fields),
        )
    return query


def _key_by_prefix(prefix: str, with_municipality: bool = True) -> ApiKey | None:
    """The key with ``prefix`` (and its municipality), in one statement.

    Written out instead of ``select_related(...).first()``: building that
    query costs about 1.7 ms of CPU per request, the statement itself 0.1 ms
    (measured, see ``docs/benchmarks.md``), and every API request makes it.
    Nothing is cached, so a revoked key is refused by the very next request.
    Without the municipality (the ingestion fast path needs only its id) the
    lookup costs about a third less CPU.
    """
    query = _key_query(with_municipality)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(query.key_names)
    api_key = ApiKey.from_db(connection.alias, query.key_names, _convert(row[:split], query.key_converters))
    if with_municipality:
        municipality = Municipality.from_db(
            connection.alias, query.city_names, _convert(row[split:], query.city_converters)
        )
        ApiKey._meta.get_field("municipality").set_cached_value(api_key, municipality)
    return api_key


def authenticate_api_key(token: str, *, with_municipality: bool = True) -> ApiKey | None:
    """The active key for ``token``, or None. Records the last use (once a minute at most).

    ``with_municipality=False``: the key's municipality is not loaded (only ``municipality_id``).
    """
    parts = split_key(token)
    if parts is None or len(token) > 200:
        return None
    prefix, secret = parts
    api_key = _key_by_prefix(prefix, with_municipality)
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
