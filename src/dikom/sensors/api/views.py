"""The SensorThings API 1.1 endpoint: one view that reads the resource path and dispatches.

Reads see published data (and the own city's with its key); writes need an API key of the owning city with ``sensors:write``
(``Authorization: Api-Key <key>``, ``Bearer <key>`` or HTTP Basic with the key as password).
Errors are problem+json with the STA fields ``code`` and ``message`` (and ``position`` for ``$filter``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import orjson
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from dikom.sensors import actions
from dikom.sensors.access import NotAllowed, NotAuthenticated, reader_city_id, writer_for_request
from dikom.sensors.entities import BY_PLURAL, TYPES, EntityType
from dikom.sensors.query import Options, QueryError, compile_filter, compile_orderby, parse_options
from dikom.sensors.serialize import OBSERVATION_COLUMNS, entity_json, observations_json, self_link
from dikom.sensors.visibility import filter_navigation, filter_visible, reader_city

DEFAULT_TOP = 100


class StaHttpError(Exception):
    def __init__(self, status: int, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.position = status, message, position


def _error(status: int, message: str, position: int | None = None) -> JsonResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}.get(status, "Error"),
        "status": status,
        "detail": message,
        "code": status,
        "message": message,
    }
    if position is not None:
        body["position"] = position
    response = JsonResponse(body, status=status, content_type="application/problem+json")
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="dikom SensorThings"'
    return response


_SEGMENT = re.compile(r"^([A-Za-z]+)(?:\((\d{1,18}|'\d{1,18}')\))?$")


class Target:
    """What a resource path names: a collection or an entity, maybe a property of it or its $ref."""

    def __init__(self) -> None:
        self.etype: EntityType | None = None
        self.queryset: models.QuerySet[Any] | None = None
        self.single = False
        self.prop: str | None = None
        self.raw_value = False
        self.ref = False
        self.parent: tuple[EntityType, Any, str] | None = None  # (type, object, nav name)
        self.found: Any = None  # the entity named by id, once loaded (a navigation from it needs no second query)


def resolve(path: str) -> Target:
    segments = [s for s in path.split("/") if s]
    target = Target()
    for index, seg in enumerate(segments):
        if seg == "$value" and target.prop:
            target.raw_value = True
            continue
        if seg == "$ref" and target.etype:
            target.ref = True
            continue
        match = _SEGMENT.match(seg)
        if not match or target.prop or target.ref:
            raise StaHttpError(404, f"Unknown path segment {seg!r}")
        name, key = match.group(1), match.group(2)
        pk = int(key.strip("'")) if key else None
        if target.etype is None:
            etype = BY_PLURAL.get(name)
            if etype is None:
                raise StaHttpError(404, f"Unknown entity set {name!r}")
            target.etype, target.queryset = etype, filter_visible(etype.name, etype.model.objects.all())
        elif target.single and name in target.etype.navs:
            parent_type = target.etype
            parent = target.found
            if parent is None and target.queryset is not None:
                parent = target.queryset.first()
            if parent is None:
                raise StaHttpError(404, "Not found")
            nav = parent_type.navs[name]
            target.etype = TYPES[nav.target]
            target.parent = (parent_type, parent, name)
            target.found = None
            if nav.many:
                target.queryset = filter_navigation(
                    parent_type.name, name, target.etype.name, getattr(parent, nav.orm).all()
                )
                target.single = False
            else:
                related_id = getattr(parent, f"{nav.orm}_id")
                target.queryset = filter_visible(target.etype.name, target.etype.model.objects.filter(pk=related_id))
                target.single = True
                target.found = target.queryset.first()
                if target.found is None:
                    raise StaHttpError(404, "Not found")
        elif target.single and (name in target.etype.props or name in target.etype.intervals or name == "id"):
            if pk is not None:
                raise StaHttpError(404, f"Unknown path segment {seg!r}")
            target.prop = name
            continue
        else:
            raise StaHttpError(404, f"Unknown path segment {seg!r}")
        if pk is not None:
            if target.single:
                raise StaHttpError(404, f"Unknown path segment {seg!r}")
            target.queryset = target.etype.model.objects.all() if target.queryset is None else target.queryset
            target.queryset = target.queryset.filter(pk=pk)
            target.single = True
            target.found = target.queryset.first()
            if target.found is None:
                raise StaHttpError(404, f"No {target.etype.name} with @iot.id {pk}")
        del index
    if target.etype is None:
        raise StaHttpError(404, "Not found")
    return target


def _base(request: HttpRequest, version: str) -> str:
    return request.build_absolute_uri(f"/sta/{version}/")


def _params(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET[k] for k in request.GET}


def _apply(etype: EntityType, qs: models.QuerySet[Any], options: Options) -> models.QuerySet[Any]:
    if options.filter:
        condition, distinct = compile_filter(etype, options.filter)
        qs = qs.filter(condition)
        if distinct:
            qs = qs.distinct()
    order = compile_orderby(etype, options.orderby) if options.orderby else []
    joined = _to_one_expansions(etype, options, "")
    if joined:
        qs = qs.select_related(*joined)
    return qs.order_by(*order, "pk")


def _to_one_expansions(etype: EntityType, options: Options, prefix: str) -> list[str]:
    """ORM paths of the expanded to-one relations (and theirs), loaded in the same query."""
    out = []
    for name, sub in (options.expand or {}).items():
        nav = etype.navs.get(name)
        if nav is None or nav.many:
            continue
        path = f"{prefix}{nav.orm}"
        out.append(path)
        out.extend(_to_one_expansions(TYPES[nav.target], sub, f"{path}__"))
    return out


def _serialize(etype: EntityType, obj: Any, base: str, options: Options) -> dict[str, Any]:
    out = entity_json(etype, obj, base, options.select)
    for name, sub in (options.expand or {}).items():
        nav = etype.navs.get(name)
        if nav is None:
            raise QueryError(f"{etype.name} has no navigation property {name!r}")
        target = TYPES[nav.target]
        if nav.many:
            qs = _apply(target, filter_navigation(etype.name, name, target.name, getattr(obj, nav.orm).all()), sub)
            top = sub.top if sub.top is not None else DEFAULT_TOP
            rows = list(qs[sub.skip : sub.skip + top + 1])
            out[name] = [_serialize(target, child, base, sub) for child in rows[:top]]
            if sub.count:
                out[f"{name}@iot.count"] = qs.count()
            if len(rows) > top:
                query = {"$top": top, "$skip": sub.skip + top}
                out[f"{name}@iot.nextLink"] = f"{self_link(base, etype, obj.pk)}/{name}?{urlencode(query)}"
        else:
            child = getattr(obj, nav.orm)
            out[name] = _serialize(target, child, base, sub)
    return out


def _collection(request: HttpRequest, etype: EntityType, qs: models.QuerySet[Any], base: str) -> dict[str, Any]:
    options = parse_options(_params(request))
    qs = _apply(etype, qs, options)
    top = options.top if options.top is not None else DEFAULT_TOP
    # plain Observations: their columns only, serialized without model instances
    plain = (
        etype.name == "Observation"
        and not (options.select or options.expand or options.result_format)
        and not qs.query.distinct
    )
    page = qs.values_list(*OBSERVATION_COLUMNS) if plain else qs
    rows = list(page[options.skip : options.skip + top + 1])
    body: dict[str, Any] = {}
    if options.count:
        body["@iot.count"] = qs.count()
    if len(rows) > top:
        params = _params(request) | {"$top": str(top), "$skip": str(options.skip + top)}
        body["@iot.nextLink"] = request.build_absolute_uri(request.path) + "?" + urlencode(params)
    rows = rows[:top]
    if options.result_format == "dataArray":
        if etype.name != "Observation":
            raise QueryError("$resultFormat=dataArray is for Observations")
        body["value"] = _data_array(rows, base, options)
    elif plain:
        body["value"] = observations_json(rows, base)
    else:
        body["value"] = [_serialize(etype, obj, base, options) for obj in rows]
    return body


def _data_array(rows: list[Any], base: str, options: Options) -> list[dict[str, Any]]:
    components = options.select or ["id", "phenomenonTime", "resultTime", "result"]
    groups: dict[int, list[list[Any]]] = {}
    for obs in rows:
        full = entity_json(TYPES["Observation"], obs, base, None)
        row = []
        for component in components:
            row.append(obs.pk if component in ("id", "@iot.id") else full.get(component))
        groups.setdefault(obs.datastream_id, []).append(row)
    return [
        {
            "Datastream@iot.navigationLink": self_link(base, TYPES["Datastream"], ds),
            "components": components,
            "dataArray@iot.count": len(data),
            "dataArray": data,
        }
        for ds, data in groups.items()
    ]


def _json(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def _root(request: HttpRequest, version: str) -> dict[str, Any]:
    base = _base(request, version)
    return {
        "value": [{"name": t.plural, "url": f"{base}{t.plural}"} for t in TYPES.values()],
        "serverSettings": {
            "conformance": [
                "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
                "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
            ]
        },
    }


@csrf_exempt
def sta(request: HttpRequest, version: str, path: str = "") -> HttpResponse:
    # Unpublished data is visible to its own city's keys only (``dikom.sensors.visibility``).
    token = reader_city.set(reader_city_id(request))
    try:
        return _dispatch(request, version, path)
    except StaHttpError as exc:
        return _error(exc.status, exc.message, exc.position)
    except QueryError as exc:
        return _error(400, exc.message, exc.position)
    except actions.StaError as exc:
        return _error(exc.status, exc.message)
    except NotAuthenticated:
        return _error(401, "Writing needs an API key of the city with the scope sensors:write.")
    except NotAllowed:
        return _error(403, "This API key lacks the scope sensors:write.")
    finally:
        reader_city.reset(token)


def _body(request: HttpRequest) -> Any:
    try:
        return orjson.loads(request.body)
    except orjson.JSONDecodeError as exc:
        raise StaHttpError(400, f"The body is not JSON: {exc}") from exc


def _dispatch(request: HttpRequest, version: str, path: str) -> HttpResponse:
    base = _base(request, version)
    method = request.method or "GET"
    if path.strip("/") == "":
        if method != "GET":
            return _error(405, "Method not allowed")
        return _json(_root(request, version))
    if path.strip("/") == "CreateObservations":
        if method != "POST":
            return _error(405, "Method not allowed")
        writer = writer_for_request(request)
        ids = actions.create_observations(_body(request), writer.municipality)
        return _json([self_link(base, TYPES["Observation"], pk) for pk in ids], status=201)
    if method == "POST" and (entity_set := BY_PLURAL.get(path.strip("/"))) is not None:
        # the commonest write (a sensor posting to /Observations): a top-level entity set needs no
        # resolving, and the visibility condition ``resolve`` would build only matters to reads
        return _post(request, entity_set, None, base)
    target = resolve(path)
    etype = target.etype
    if etype is None or target.queryset is None:
        raise StaHttpError(404, "Not found")
    if method == "GET":
        return _get(request, target, etype, base)
    writer = writer_for_request(request)
    municipality = writer.municipality
    if method == "POST":
        if target.single or target.prop or target.ref:
            return _error(405, "POST goes to a collection")
        return _post(request, etype, target.parent, base)
    if not target.single or target.prop or target.ref:
        return _error(405, "PATCH and DELETE go to one entity")
    obj = actions.owned(etype, municipality).filter(pk__in=target.queryset.values("pk")).first()
    if obj is None:
        raise StaHttpError(404, f"No {etype.name} of this city at this address")
    if method == "PATCH":
        data = _body(request)
        if request.content_type == "application/json-patch+json":
            data = actions.apply_json_patch(entity_json(etype, obj, base, None), data)
        actions.update_entity(etype, obj, data, municipality)
        return _json(entity_json(etype, obj, base, None))
    if method == "DELETE":
        actions.delete_entity(etype, obj)
        return HttpResponse(status=200)
    return _error(405, "Method not allowed")


def _post(
    request: HttpRequest, etype: EntityType, parent_nav: tuple[EntityType, Any, str] | None, base: str
) -> HttpResponse:
    """Create an entity in a collection (``parent_nav``: the entity and navigation it was reached by, if any)."""
    municipality = writer_for_request(request).municipality
    data = _body(request)
    if parent_nav is not None:
        parent_type, parent, nav_name = parent_nav
        nav = parent_type.navs[nav_name]
        if not isinstance(data, dict):
            raise StaHttpError(400, "The body must be a JSON object")
        reverse = etype.navs[nav.reverse]
        data = {**data, nav.reverse: [{"@iot.id": parent.pk}] if reverse.many else {"@iot.id": parent.pk}}
    obj = actions.create_entity(etype, data, municipality)
    response = _json(entity_json(etype, obj, base, None), status=201)
    response["Location"] = self_link(base, etype, obj.pk)
    return response


def _get(request: HttpRequest, target: Target, etype: EntityType, base: str) -> HttpResponse:
    if target.queryset is None:
        raise StaHttpError(404, "Not found")
    if target.ref:
        if target.single:
            obj = target.queryset.get()
            return _json({"@iot.selfLink": self_link(base, etype, obj.pk)})
        body = _collection(request, etype, target.queryset, base)
        body["value"] = [{"@iot.selfLink": v["@iot.selfLink"]} for v in body["value"]]
        return _json(body)
    if not target.single:
        return _json(_collection(request, etype, target.queryset, base))
    obj = target.queryset.get()
    options = parse_options(_params(request))
    if target.prop:
        full = entity_json(etype, obj, base, None)
        value = full.get("@iot.id" if target.prop == "id" else target.prop)
        if target.raw_value:
            text = value if isinstance(value, str) else orjson.dumps(value).decode()
            return HttpResponse(text, content_type="text/plain")
        return _json({target.prop: value})
    return _json(_serialize(etype, obj, base, options))
