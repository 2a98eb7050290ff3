"""Storing many Observations of one Datastream at once: ``CreateObservations`` and the MQTT listener's batches.

Rows are checked in plain Python (the same rules as ``POST /Observations``:
ISO 8601 times and intervals, objects for ``parameters``, FeaturesOfInterest of
the writing city) and written without a model instance per row: on PostgreSQL
the ids are taken from the table's sequence in one statement and the rows go
in with ``COPY`` (into the partitioned table, which routes each row to its
month), elsewhere with one ``bulk_create``.

Idempotent like the MQTT listener always was: a row with the Datastream,
``phenomenonTime`` and ``result`` of a stored Observation (or of an earlier
row of the same batch) is not stored again; its place in the answer is the
stored Observation's id. The check runs after the Datastream's row is locked
(``SELECT … FOR UPDATE``, which widening the Datastream's time span needs
anyway), so two requests carrying the same readings cannot both store them.

Every new Observation carries its Datastream's municipality and is
announced over MQTT after the commit (``actions.announce``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import DataError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dikom.sensors import models as m

#: The columns written per row, in this order (``id`` first on PostgreSQL).
COLUMNS = (
    "municipality_id",
    "datastream_id",
    "feature_of_interest_id",
    "phenomenon_time",
    "phenomenon_time_end",
    "result_time",
    "result",
    "result_number",
    "result_string",
    "result_quality",
    "valid_time_start",
    "valid_time_end",
    "parameters",
)
#: Properties a row may carry (the dataArray components, and the keys of a published Observation).
PROPERTIES = frozenset(
    {"phenomenonTime", "resultTime", "result", "resultQuality", "validTime", "parameters", "FeatureOfInterest/id"}
)


class RowError(ValueError):
    """A row that breaks the rules; the message says which rule, for the API's 400 answer."""


def parse_time(value: Any, name: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            parsed: dt.datetime | None = dt.datetime.fromisoformat(value) if len(value) > 10 else None
        except ValueError:
            parsed = parse_datetime(value.replace("Z", "+00:00"))
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise RowError(f"{name} is not an ISO 8601 time: {value!r}")


def parse_interval(value: Any, name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    if value is None:
        return None, None
    if not isinstance(value, str):
        raise RowError(f"{name} is not a time or interval")
    start, slash, end = value.partition("/")
    return parse_time(start, name), (parse_time(end, name) if slash else None)


@dataclass(slots=True)
class Row:
    phenomenon_time: dt.datetime
    phenomenon_time_end: dt.datetime | None
    result_time: dt.datetime | None
    result: Any
    result_quality: Any
    valid_time_start: dt.datetime | None
    valid_time_end: dt.datetime | None
    parameters: dict[str, Any] | None
    feature_id: int | None
    #: False when phenomenonTime was left out (the server's now): such a row is never taken for a repeat.
    timed: bool = True


def row_from(values: dict[str, Any], now: dt.datetime) -> Row:
    """One Observation's properties (a dataArray row zipped with its components, or a published JSON object)."""
    if len(values) == 2 and "result" in values:  # what sensors publish most: a time and a result
        when = values.get("phenomenonTime")
        if isinstance(when, str) and "/" not in when:
            return Row(parse_time(when, "phenomenonTime"), None, None, values["result"], None, None, None, None, None)
    if "result" not in values:
        raise RowError("Observation misses result")
    start, end = parse_interval(values.get("phenomenonTime"), "phenomenonTime")
    result_time = values.get("resultTime")
    valid_start, valid_end = parse_interval(values.get("validTime"), "validTime")
    parameters = values.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise RowError("parameters must be an object")
    feature = values.get("FeatureOfInterest/id")
    if feature is not None and (not isinstance(feature, int) or isinstance(feature, bool)):
        raise RowError("FeatureOfInterest/id must be an integer @iot.id")
    return Row(
        phenomenon_time=start or now,
        phenomenon_time_end=end,
        result_time=None if result_time is None else parse_time(result_time, "resultTime"),
        result=values["result"],
        result_quality=values.get("resultQuality"),
        valid_time_start=valid_start,
        valid_time_end=valid_end,
        parameters=parameters,
        feature_id=feature,
        timed=start is not None,
    )


def rows_from_data_array(components: list[str], data: list[Any]) -> list[Row]:
    now = timezone.now()
    width = len(components)
    if components == ["phenomenonTime", "result"]:  # what loggers send most: checked without a dict per row
        return [_time_and_result(index, values, now) for index, values in enumerate(data)]
    rows = []
    for index, values in enumerate(data):
        if not isinstance(values, list) or len(values) != width:
            raise RowError(f"dataArray row {index} does not have one value per component")
        try:
            rows.append(row_from(dict(zip(components, values, strict=True)), now))
        except RowError as exc:
            raise RowError(f"dataArray row {index}: {exc}") from exc
    return rows


def _time_and_result(index: int, values: Any, now: dt.datetime) -> Row:
    if not isinstance(values, list) or len(values) != 2:
        raise RowError(f"dataArray row {index} does not have one value per component")
    when, result = values
    start: dt.datetime | None
    end: dt.datetime | None
    try:
        if isinstance(when, str) and "/" not in when:
            start, end = parse_time(when, "phenomenonTime"), None
        else:
            start, end = parse_interval(when, "phenomenonTime")
    except RowError as exc:
        raise RowError(f"dataArray row {index}: {exc}") from exc
    return Row(start or now, end, None, result, None, None, None, None, None, start is not None)


def _number(result: Any) -> float | None:
    if not isinstance(result, (int, float)) or isinstance(result, bool):
        return None
    try:
        return float(result)
    except OverflowError:  # an integer beyond a double: kept in the JSON result only
        return None


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _key(result: Any) -> float | bytes:
    """A reading's result as a comparable key (1 and 1.0 are the same reading, as in JSON): a number as
    itself, anything else as its JSON with sorted keys."""
    number = _number(result)
    if number is not None:
        return number
    return orjson.dumps(result, option=orjson.OPT_SORT_KEYS)


def _stored(datastream_id: int, rows: list[Row]) -> dict[tuple[dt.datetime, float | bytes], int]:
    """Stored Observations of the Datastream at the rows' phenomenonTimes: (time, result key) → id."""
    times = sorted({row.phenomenon_time for row in rows if row.timed})
    if not times:
        return {}
    found: dict[tuple[dt.datetime, float | bytes], int] = {}
    if connection.vendor == "postgresql":
        # one index probe per time; the bounds let PostgreSQL skip the other months' partitions
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, phenomenon_time, result FROM {m.Observation._meta.db_table} "  # noqa: S608
                "WHERE datastream_id = %s AND phenomenon_time >= %s AND phenomenon_time <= %s "
                "AND phenomenon_time = ANY(%s::timestamptz[]) ORDER BY id",
                # the times as one text literal: psycopg adapts a list of 10 000 datetimes slowly
                [datastream_id, times[0], times[-1], "{" + ",".join(t.isoformat() for t in times) + "}"],
            )
            stored = [
                (pk, when, orjson.loads(result) if isinstance(result, str) else result)
                for pk, when, result in cursor.fetchall()
            ]
    else:
        stored = []
        for start in range(0, len(times), 500):
            chunk = m.Observation.objects.filter(
                datastream_id=datastream_id, phenomenon_time__in=times[start : start + 500]
            )
            stored += chunk.values_list("pk", "phenomenon_time", "result")
        stored.sort(key=lambda item: item[0])
    for pk, when, result in stored:
        found.setdefault((when, _key(result)), pk)
    return found


def store_rows(
    datastream: m.Datastream, rows: list[Row], features: dict[int | None, int]
) -> tuple[list[int], list[Row], list[int]]:
    """Store ``rows`` of ``datastream`` (locked by the caller, in its transaction); returns one id per row (a
    duplicate's is the stored one's), the new rows and their ids. ``features`` maps each row's
    ``feature_id`` (None: the Datastream's default feature) to the FeatureOfInterest id to store."""
    if not rows:
        return [], [], []
    known = _stored(datastream.pk, rows)
    ids: list[int] = []
    new: list[Row] = []
    pending: dict[tuple[dt.datetime, float | bytes], int] = {}  # key → index in ``new``
    for row in rows:
        if not row.timed:
            ids.append(-1 - len(new))
            new.append(row)
            continue
        key = (row.phenomenon_time, _key(row.result))
        if key in known:
            ids.append(known[key])
        elif key in pending:
            ids.append(-1 - pending[key])
        else:
            pending[key] = len(new)
            ids.append(-1 - len(new))
            new.append(row)
    new_ids = _insert(datastream, new, features)
    return [pk if pk >= 0 else new_ids[-1 - pk] for pk in ids], new, new_ids


def _values(datastream: m.Datastream, row: Row, features: dict[int | None, int]) -> tuple[Any, ...]:
    result = row.result
    return (
        datastream.municipality_id,
        datastream.pk,
        features[row.feature_id],
        row.phenomenon_time,
        row.phenomenon_time_end,
        row.result_time,
        result,
        _number(result),
        result if isinstance(result, str) else None,
        row.result_quality,
        row.valid_time_start,
        row.valid_time_end,
        row.parameters,
    )


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> str:
    """A value in COPY's text format (backslash, tab and line ends escaped)."""
    return value.translate(_ESCAPES)


def _copy_time(value: dt.datetime | None) -> str:
    return "\\N" if value is None else value.isoformat()


def _copy_json(value: Any) -> str:
    return "\\N" if value is None else _text(orjson.dumps(value).decode())


def _copy_line(pk: int, prefix: str, row: Row, features: dict[int | None, int]) -> str:
    result = row.result
    number = _number(result)
    return "\t".join(
        (
            str(pk),
            prefix,
            str(features[row.feature_id]),
            row.phenomenon_time.isoformat(),
            _copy_time(row.phenomenon_time_end),
            _copy_time(row.result_time),
            _copy_json(result),
            "\\N" if number is None else repr(number),
            _text(result) if isinstance(result, str) else "\\N",
            _copy_json(row.result_quality),
            _copy_time(row.valid_time_start),
            _copy_time(row.valid_time_end),
            _copy_json(row.parameters),
        )
    )


def _insert(datastream: m.Datastream, rows: list[Row], features: dict[int | None, int]) -> list[int]:
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [m.Observation(**dict(zip(COLUMNS, _values(datastream, row, features), strict=True))) for row in rows]
        return [obj.pk for obj in m.Observation.objects.bulk_create(objects, batch_size=1000)]
    import psycopg

    table = m.Observation._meta.db_table
    prefix = f"{datastream.municipality_id}\t{datastream.pk}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        ids = sorted(pk for (pk,) in cursor.fetchall())
        lines = [_copy_line(pk, prefix, row, features) for pk, row in zip(ids, rows, strict=True)]
        try:
            with (
                transaction.atomic(),
                cursor.cursor.copy(f"COPY {table} (id, {', '.join(COLUMNS)}) FROM STDIN") as copy,
            ):
                copy.write("\n".join(lines) + "\n")
        except (
            DataError,
            psycopg.DataError,
        ) as exc:  # e.g. a NUL character, which PostgreSQL's text and jsonb cannot hold
            raise RowError(f"A value cannot be stored: {str(exc).splitlines()[0]}") from exc
    return ids
