"""The only code that changes SensorThings data: create (with deep insert), update, delete, bulk observations."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dikom.lib.rows import fetch_one
from dikom.municipalities.models import Municipality
from dikom.sensors import bulk
from dikom.sensors import geometry as geo
from dikom.sensors import models as m
from dikom.sensors.entities import MUNICIPALITY_PATH, TYPES, EntityType

MAX_DEEP_INSERT = 10_000
TIME_SPAN_FIELDS = ("phenomenon_time_start", "phenomenon_time_end", "result_time_start", "result_time_end")


class StaError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _time(value: Any, name: str) -> dt.datetime:
    parsed = parse_datetime(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    if parsed is None:
        raise StaError(f"{name} is not an ISO 8601 time: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _interval(value: Any, name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    if value is None:
        return None, None
    if not isinstance(value, str):
        raise StaError(f"{name} is not a time or interval")
    start, slash, end = value.partition("/")
    return _time(start, name), (_time(end, name) if slash else None)


def owned(etype: EntityType, municipality: Municipality) -> models.QuerySet[Any]:
    return etype.model.objects.filter(**{MUNICIPALITY_PATH[etype.name]: municipality})


def _existing(etype: EntityType, ref: Any, municipality: Municipality) -> Any:
    pk = ref.get("@iot.id") if isinstance(ref, dict) else None
    if isinstance(pk, str) and pk.isdigit():
        pk = int(pk)
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise StaError(f"A link to a {etype.name} needs an @iot.id")
    # a link names its target by primary key in the writer's city: the same row as
    # ``owned(etype, municipality).filter(pk=pk).first()``, without building that query on every write
    in_range = 0 < pk < 2**63  # no row has another id (and the databases refuse integers past 64 bits)
    obj = (
        fetch_one(etype.model, id=pk, **{f"{MUNICIPALITY_PATH[etype.name]}_id": municipality.pk}) if in_range else None
    )
    if obj is None:
        raise StaError(f"No {etype.name} with @iot.id {pk} of this city", 400)
    return obj


def _is_ref(data: Any) -> bool:
    return isinstance(data, dict) and "@iot.id" in data


def _set_props(etype: EntityType, obj: Any, data: dict[str, Any], *, creating: bool) -> None:
    known = set(etype.props) | set(etype.intervals) | set(etype.navs) | {"@iot.id", "@iot.selfLink", "id"}
    unknown = [k for k in data if k not in known and not k.endswith("@iot.navigationLink")]
    if unknown:
        raise StaError(f"Unknown properties of {etype.name}: {', '.join(sorted(unknown))}")
    if creating:
        missing = [p for p in etype.required if data.get(p) is None and not (p == "result" and "result" in data)]
        if missing:
            raise StaError(f"{etype.name} misses {', '.join(missing)}")
    for name, field in etype.props.items():
        if name not in data:
            continue
        value = data[name]
        if name in ("resultTime", "time"):
            value = None if value is None else _time(value, name)
        elif name in ("name", "description", "encodingType", "definition", "observationType"):
            if not isinstance(value, str):
                raise StaError(f"{name} must be a string")
        elif name == "metadata":
            value = value if isinstance(value, str) else str(value)
        elif name in ("properties", "parameters") and value is not None and not isinstance(value, dict):
            raise StaError(f"{name} must be an object")
        elif name == "unitOfMeasurement" and not isinstance(value, dict):
            raise StaError("unitOfMeasurement must be an object")
        setattr(obj, field, value)
    for name, (start, end) in etype.intervals.items():
        if name in data:
            first, last = _interval(data[name], name)
            setattr(obj, start, first)
            setattr(obj, end, last)
    if etype.geometry and etype.geometry in data:
        _set_geometry(etype, obj, data[etype.geometry])
    if etype.name == "Observation" and "result" in data:
        result = data["result"]
        obj.result_number = float(result) if isinstance(result, (int, float)) and not isinstance(result, bool) else None
        obj.result_string = result if isinstance(result, str) else None


def _set_geometry(etype: EntityType, obj: Any, value: Any) -> None:
    geometry = geo.geometry_of(value)
    if geometry is None:
        raise StaError(f"{etype.geometry} must be GeoJSON")
    try:
        geo.validate(geometry)
        obj.min_x, obj.min_y, obj.max_x, obj.max_y = geo.bbox(geometry)
    except (geo.GeometryError, TypeError, ValueError, KeyError) as exc:
        raise StaError(f"{etype.geometry} has malformed coordinates") from exc


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_DEEP_INSERT
        self.observations: list[int] = []

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise StaError("Too many entities in one request")


def _create(etype: EntityType, data: Any, municipality: Municipality, budget: _Budget) -> Any:
    if not isinstance(data, dict):
        raise StaError(f"A {etype.name} must be a JSON object")
    if _is_ref(data):
        return _existing(etype, data, municipality)
    budget.spend()
    obj: Any = etype.model()
    if etype.name != "Observation":  # an Observation's is its Datastream's, set below
        obj.municipality = municipality
    _set_props(etype, obj, data, creating=True)
    # to-one links first (the row needs them)
    for name, nav in etype.navs.items():
        if nav.many:
            continue
        if name in data:
            setattr(obj, nav.orm, _create(TYPES[nav.target], data[name], municipality, budget))
        elif name in etype.required_navs:
            raise StaError(f"{etype.name} misses its {name}")
    if etype.name == "Observation":
        if obj.phenomenon_time is None:
            obj.phenomenon_time = timezone.now()
        if obj.feature_of_interest_id is None:
            obj.feature_of_interest_id = feature_id_for_datastream(obj.datastream)
        obj.municipality_id = obj.datastream.municipality_id
    obj.save()
    if etype.name == "Observation":
        budget.observations.append(obj.pk)
        extend_datastream_times(obj.datastream, [obj])
    # to-many links after
    for name, nav in etype.navs.items():
        if not nav.many or name not in data:
            continue
        items = data[name]
        if not isinstance(items, list):
            raise StaError(f"{name} must be a list")
        target = TYPES[nav.target]
        reverse = target.navs[nav.reverse]
        for item in items:
            if reverse.many or _is_ref(item):
                child = _create(target, item, municipality, budget)
                getattr(obj, nav.orm).add(child) if reverse.many else _relink(child, reverse.orm, obj)
            else:
                if not isinstance(item, dict):
                    raise StaError(f"A {target.name} must be a JSON object")
                _create(target, {**item, nav.reverse: {"@iot.id": obj.pk}}, municipality, budget)
    if etype.name == "Datastream" and data.get("Observations"):
        # its Observations widened the stored span through their own copy of the row
        obj.refresh_from_db(fields=[*TIME_SPAN_FIELDS])
    if etype.name == "Thing" and data.get("Locations"):
        _record_history(obj)
    if etype.name == "Location" and data.get("Things"):
        for thing in obj.things.all():
            _record_history(thing)
    return obj


def extend_datastream_times(datastream: m.Datastream, observations: list[m.Observation]) -> None:
    """Widen the Datastream's phenomenonTime and resultTime (spec: the span of its Observations) by new ones.

    One ``UPDATE`` that changes the row only where a bound moves (the row lock it takes orders concurrent
    writers as the ``SELECT ... FOR UPDATE`` of the bulk path does); ``datastream`` gets the new span.
    Deleting Observations does not narrow them again.
    """
    bounds = {
        "phenomenon_time_start": ("<", min(o.phenomenon_time for o in observations)),
        "phenomenon_time_end": (">", max(o.phenomenon_time_end or o.phenomenon_time for o in observations)),
    }
    results = [o.result_time for o in observations if o.result_time is not None]
    if results:
        bounds["result_time_start"] = ("<", min(results))
        bounds["result_time_end"] = (">", max(results))
    qn = connection.ops.quote_name
    sets, moves, set_params, move_params = [], [], [], []
    for column, (direction, value) in bounds.items():
        moved = f"({qn(column)} IS NULL OR %s {direction} {qn(column)})"
        sets.append(f"{qn(column)} = CASE WHEN {moved} THEN %s ELSE {qn(column)} END")
        moves.append(moved)
        db_value = connection.ops.adapt_datetimefield_value(value)
        set_params += [db_value, db_value]
        move_params.append(db_value)
    names = list(bounds)
    sql = (
        f"UPDATE {qn(m.Datastream._meta.db_table)} SET {', '.join(sets)} "  # noqa: S608  (names from the model)
        f"WHERE id = %s AND ({' OR '.join(moves)}) RETURNING {', '.join(qn(n) for n in names)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, datastream.pk, *move_params])
        row = cursor.fetchone()
    if row is None:
        return  # no bound moved
    field = m.Datastream._meta.get_field("phenomenon_time_start")
    converters = connection.ops.get_db_converters(field.get_col(m.Datastream._meta.db_table))
    for name, value in zip(names, row, strict=True):
        for converter in converters:
            value = converter(value, field, connection)
        setattr(datastream, name, value)


def _widen_times(
    datastream: m.Datastream, row: m.Datastream, starts: list[Any], ends: list[Any], results: list[Any]
) -> None:
    """``row``: the Datastream as locked in this transaction; ``datastream`` (the caller's copy) gets the new span."""
    changed = {
        "phenomenon_time_start": min([*starts, *filter(None, [row.phenomenon_time_start])]),
        "phenomenon_time_end": max([*ends, *filter(None, [row.phenomenon_time_end])]),
    }
    if results:
        changed["result_time_start"] = min([*results, *filter(None, [row.result_time_start])])
        changed["result_time_end"] = max([*results, *filter(None, [row.result_time_end])])
    changed = {name: value for name, value in changed.items() if getattr(row, name) != value}
    if changed:
        m.Datastream.objects.filter(pk=row.pk).update(**changed)
    for name, value in changed.items():
        setattr(datastream, name, value)
        setattr(row, name, value)


def _relink(child: Any, field: str, parent: Any) -> None:
    setattr(child, field, parent)
    child.save()


def _record_history(thing: m.Thing) -> None:
    history = m.HistoricalLocation.objects.create(
        municipality_id=thing.municipality_id, thing=thing, time=timezone.now()
    )
    history.locations.set(thing.locations.all())


_feature_queries: dict[str, str] = {}


def _feature_query() -> str:
    """The Thing's first Location and the feature generated from it, in one statement (written out: building
    the equivalent ORM queries cost more CPU than running them, on every single-Observation POST)."""
    query = _feature_queries.get(connection.vendor)
    if query is None:
        qn = connection.ops.quote_name
        links = qn(m.Location.things.through._meta.db_table)
        features = qn(m.FeatureOfInterest._meta.db_table)
        query = _feature_queries[connection.vendor] = (
            f"SELECT l.location_id, (SELECT MIN(f.id) FROM {features} f WHERE f.source_location_id = l.location_id) "  # noqa: S608
            f"FROM {links} l WHERE l.thing_id = %s ORDER BY l.location_id LIMIT 1"
        )
    return query


def feature_id_for_datastream(datastream: m.Datastream) -> int:
    """The feature generated from the Thing's (first) Location, as the spec asks when an Observation names none;
    created on first use."""
    with connection.cursor() as cursor:
        cursor.execute(_feature_query(), [datastream.thing_id])
        row = cursor.fetchone()
    if row is None:
        raise StaError("The Observation names no FeatureOfInterest and its Thing has no Location")
    location_id, feature_id = row
    if feature_id is not None:
        return int(feature_id)
    location = m.Location.objects.get(pk=location_id)
    feature = m.FeatureOfInterest.objects.create(
        municipality_id=location.municipality_id,
        name=location.name,
        description=location.description,
        encoding_type=location.encoding_type,
        feature=location.location,
        min_x=location.min_x,
        min_y=location.min_y,
        max_x=location.max_x,
        max_y=location.max_y,
        source_location=location,
    )
    return int(feature.pk)


@transaction.atomic
def create_entity(etype: EntityType, data: Any, municipality: Municipality) -> Any:
    if _is_ref(data):
        raise StaError("POST creates an entity; this body only names an existing one")
    budget = _Budget()
    obj = _create(etype, data, municipality, budget)
    announce(budget.observations)
    return obj


def announce(observation_ids: list[int]) -> None:
    """Publish new observations over MQTT once they are committed (when a broker is configured)."""
    if not observation_ids or not settings.DIKOM_STA_MQTT_URL:
        return
    from dikom.sensors.tasks import publish_observations

    for start in range(0, len(observation_ids), 1000):
        transaction.on_commit(functools.partial(publish_observations.enqueue, observation_ids[start : start + 1000]))


@transaction.atomic
def update_entity(etype: EntityType, obj: Any, data: Any, municipality: Municipality) -> Any:
    if not isinstance(data, dict):
        raise StaError("PATCH needs a JSON object")
    if "@iot.id" in data and data["@iot.id"] != obj.pk:
        raise StaError("@iot.id cannot be changed")
    _set_props(etype, obj, data, creating=False)
    for name, nav in etype.navs.items():
        if name not in data:
            continue
        target = TYPES[nav.target]
        if nav.many:
            if not isinstance(data[name], list) or not all(_is_ref(i) for i in data[name]):
                raise StaError(f"{name} takes a list of @iot.id references")
            related = [_existing(target, ref, municipality) for ref in data[name]]
            if target.navs[nav.reverse].many:
                getattr(obj, nav.orm).set(related)
            else:
                for child in related:
                    _relink(child, target.navs[nav.reverse].orm, obj)
        else:
            setattr(obj, nav.orm, _existing(target, data[name], municipality))
    obj.save()
    if etype.name == "Thing" and "Locations" in data:
        _record_history(obj)
    return obj


def apply_json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 ``add``/``replace``/``remove`` on the entity's JSON (what frost-sta-client sends)."""
    if not isinstance(operations, list):
        raise StaError("A JSON Patch is a list of operations")
    changed: dict[str, Any] = {}
    for op in operations:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove") or "path" not in op:
            raise StaError("Supported JSON Patch operations: add, replace, remove")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in str(op["path"]).split("/")[1:]]
        if not parts:
            raise StaError("A JSON Patch path names a property")
        top = parts[0]
        value = changed.get(top, document.get(top))
        if len(parts) == 1:
            changed[top] = None if op["op"] == "remove" else op.get("value")
            continue
        container = dict(value or {}) if isinstance(value, dict) or value is None else None
        if container is None:
            raise StaError(f"{top} is not an object")
        cursor = container
        for part in parts[1:-1]:
            cursor[part] = dict(cursor.get(part) or {})
            cursor = cursor[part]
        if op["op"] == "remove":
            cursor.pop(parts[-1], None)
        else:
            cursor[parts[-1]] = op.get("value")
        changed[top] = container
    return changed


@transaction.atomic
def delete_entity(etype: EntityType, obj: Any) -> None:
    """Delete with the spec's cascade: a Location takes its HistoricalLocations along; the foreign keys do the rest."""
    if etype.name == "Location":
        m.HistoricalLocation.objects.filter(locations=obj).delete()
    obj.delete()


@transaction.atomic
def create_observations(body: Any, municipality: Municipality) -> list[int]:
    """``CreateObservations``: one ``dataArray`` per Datastream; returns one id per row, in order.

    A row that repeats a stored reading (same Datastream, phenomenonTime and result) is not stored again;
    its id is the stored Observation's (``dikom.sensors.bulk``).
    """
    if not isinstance(body, list):
        raise StaError("CreateObservations takes a list of Datastream blocks")
    ids: list[int] = []
    created: list[int] = []
    total = 0
    for block in body:
        if not isinstance(block, dict):
            raise StaError("Each block is a JSON object")
        datastream = _existing(TYPES["Datastream"], block.get("Datastream"), municipality)
        components = block.get("components")
        rows = block.get("dataArray")
        if not isinstance(components, list) or not isinstance(rows, list):
            raise StaError("Each block needs components and dataArray")
        if unknown := [c for c in components if c not in bulk.PROPERTIES and c != "id"]:
            raise StaError(f"Unknown components: {unknown}")
        if "result" not in components:
            raise StaError("components must include result")
        total += len(rows)
        if total > 100_000:
            raise StaError("At most 100000 observations per request")
        try:
            parsed = bulk.rows_from_data_array(components, rows)
        except bulk.RowError as exc:
            raise StaError(str(exc)) from exc
        block_ids, new_ids = store_observation_rows(datastream, parsed, municipality)
        ids += block_ids
        created += new_ids
    announce(created)
    return ids


def store_observation_rows(
    datastream: m.Datastream, rows: list[bulk.Row], municipality: Municipality
) -> tuple[list[int], list[int]]:
    """Store parsed rows of ``datastream`` (of ``municipality``) in the caller's transaction; returns one id per
    row and the ids of the new ones. Locks the Datastream (its time span widens), so duplicates are found reliably.
    The caller announces the new ones (``announce``)."""
    locked = m.Datastream.objects.select_for_update().get(pk=datastream.pk)
    features: dict[int | None, int] = {}
    for fid in {row.feature_id for row in rows}:
        if fid is None:
            features[None] = feature_id_for_datastream(locked)
        else:
            features[fid] = _existing(TYPES["FeatureOfInterest"], {"@iot.id": fid}, municipality).pk
    try:
        ids, new_rows, new_ids = bulk.store_rows(locked, rows, features)
    except bulk.RowError as exc:
        raise StaError(str(exc)) from exc
    if new_rows:
        _widen_times(
            datastream,
            locked,
            [row.phenomenon_time for row in new_rows],
            [row.phenomenon_time_end or row.phenomenon_time for row in new_rows],
            [row.result_time for row in new_rows if row.result_time is not None],
        )
    return ids, new_ids


@transaction.atomic
def set_publication(municipality: Municipality, things: set[int], datastreams: set[int]) -> int:
    """Publish exactly the given Things and Datastreams of ``municipality`` and withdraw the rest; returns changes."""
    changed = 0
    for model, chosen in ((m.Thing, things), (m.Datastream, datastreams)):
        rows = model.objects.filter(municipality=municipality)
        changed += rows.filter(pk__in=chosen, published=False).update(published=True)
        changed += rows.exclude(pk__in=chosen).filter(published=True).update(published=False)
    return changed
