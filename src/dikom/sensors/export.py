"""Readings of a city's datastreams as a download for its staff: CSV (German spreadsheet style) or JSON, streamed.

Constant memory whatever the number of rows: each datastream is read in
keyset pages of ``PAGE`` rows ordered by ``(phenomenon_time, id)`` (the index
``sensors_obs_ds_time``), so neither the database nor Python holds more than a
page, and no server-side cursor has to outlive the request's transaction.
Rows are encoded page by page and handed to a ``StreamingHttpResponse``.

Only datastreams of the given municipality are read: ``streams_info`` keeps
the ids that belong to the city (a foreign id yields nothing even if a caller
forgot to check it), and ``export_rows`` reads only the streams it returned.

CSV: ``;``-separated, UTF-8 with a byte order mark (Excel then reads the
umlauts), optionally with a decimal comma; text cells are made formula-safe
(``dikom.lib.spreadsheet_safety``). JSON: one object with the datastreams'
metadata and an array of readings.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from dikom.lib.spreadsheet_safety import csv_writer
from dikom.municipalities.models import Municipality
from dikom.sensors.models import Datastream, Observation

PAGE = 5000
CSV_HEADER = ["Datastream-ID", "Datastream", "Thing", "Messgröße", "Zeit", "Wert", "Einheit"]


@dataclass(frozen=True)
class StreamInfo:
    id: int
    name: str
    thing: str
    observed_property: str
    unit: str


@dataclass(frozen=True)
class Row:
    stream: StreamInfo
    time: dt.datetime
    value: Any  # float, text, or any JSON result


def streams_info(municipality: Municipality, datastream_ids: Iterable[int]) -> list[StreamInfo]:
    """The city's datastreams among ``datastream_ids`` (others are left out), ordered by thing and name."""
    rows = (
        Datastream.objects.filter(municipality=municipality, pk__in=list(datastream_ids))
        .order_by("thing__name", "name", "pk")
        .values_list("pk", "name", "thing__name", "observed_property__name", "unit_of_measurement")
    )
    out = []
    for pk, name, thing, prop, unit in rows:
        symbol = str((unit or {}).get("symbol", "")) if isinstance(unit, dict) else ""
        out.append(StreamInfo(pk, name, thing, prop, symbol))
    return out


def export_rows(
    municipality: Municipality, streams: Sequence[StreamInfo], start: dt.datetime, end: dt.datetime, page: int = PAGE
) -> Iterator[Row]:
    """Readings with ``start <= phenomenonTime < end``, datastream by datastream, oldest first."""
    for stream in streams:
        # ``stream`` comes from ``streams_info``, which checked the city. Filtering by the city here again made
        # PostgreSQL pick the municipality index and sort the city's whole period for every page (quadratic).
        base = Observation.objects.filter(
            datastream_id=stream.id, phenomenon_time__gte=start, phenomenon_time__lt=end
        ).order_by("phenomenon_time", "pk")
        after: tuple[dt.datetime, int] | None = None
        while True:
            query = base
            if after is not None:
                # The plain lower bound lets PostgreSQL range-scan the index and prune partitions; the OR
                # alone made every page scan from the period's start (36 s for 100 000 rows, see benchmarks.md).
                query = query.filter(phenomenon_time__gte=after[0]).filter(
                    Q(phenomenon_time__gt=after[0]) | Q(phenomenon_time=after[0], pk__gt=after[1])
                )
            chunk = list(query.values_list("pk", "phenomenon_time", "result_number", "result_string", "result")[:page])
            for _pk, time, number, text, result in chunk:
                value = number if number is not None else text if text is not None else result
                yield Row(stream, time, value)
            if len(chunk) < page:
                break
            after = (chunk[-1][1], chunk[-1][0])


def _local(time: dt.datetime, zone: Any = None) -> str:
    # The zone is looked up once per export: ``timezone.localtime`` per row cost a third of the export's time.
    return time.astimezone(zone or timezone.get_current_timezone()).isoformat(timespec="seconds")


def _finite(value: Any) -> Any:
    """A reading as the file can hold it: NaN and infinities (which JSON cannot express) become empty."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict | list):
        # Structured results are copied through JSON with non-finite numbers as null.
        return json.loads(json.dumps(value, default=str), parse_constant=lambda _name: None)
    return value


def csv_chunks(rows: Iterable[Row], decimal_comma: bool, page: int = PAGE) -> Iterator[bytes]:
    """The CSV file in pieces of about ``page`` rows; the first piece starts with the UTF-8 byte order mark."""
    zone = timezone.get_current_timezone()
    buffer = io.StringIO()
    writer = csv_writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    first = True
    for count, row in enumerate(rows, 1):
        value = _finite(row.value)
        if value is None:
            value = ""
        elif isinstance(value, float | int) and not isinstance(value, bool):
            # Positional notation (no 1e-05, which spreadsheets would read as text); shortest exact digits.
            text = format(Decimal(repr(value)), "f")
            value = text.replace(".", ",") if decimal_comma else text
        elif not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False)
        s = row.stream
        writer.writerow([s.id, s.name, s.thing, s.observed_property, _local(row.time, zone), value, s.unit])
        if count % page == 0:
            yield (("\ufeff" if first else "") + buffer.getvalue()).encode("utf-8")
            first = False
            buffer.seek(0)
            buffer.truncate()
    yield (("\ufeff" if first else "") + buffer.getvalue()).encode("utf-8")


def json_chunks(
    municipality: Municipality,
    streams: Sequence[StreamInfo],
    start: dt.datetime,
    end: dt.datetime,
    rows: Iterable[Row],
    page: int = PAGE,
) -> Iterator[bytes]:
    """The JSON document in pieces: metadata first, then the readings array page by page."""
    head = {
        "municipality": municipality.slug,
        "from": _local(start),
        "until": _local(end),
        "datastreams": [
            {"id": s.id, "name": s.name, "thing": s.thing, "observedProperty": s.observed_property, "unit": s.unit}
            for s in streams
        ],
    }
    zone = timezone.get_current_timezone()
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "readings": ['
    parts = [opening]
    separator = ""
    for count, row in enumerate(rows, 1):
        parts.append(
            separator
            + json.dumps(
                {"datastream": row.stream.id, "time": _local(row.time, zone), "result": _finite(row.value)},
                ensure_ascii=False,
                allow_nan=False,
            )
        )
        separator = ","
        if count % page == 0:
            yield "".join(parts).encode("utf-8")
            parts = []
    parts.append("]}")
    yield "".join(parts).encode("utf-8")
