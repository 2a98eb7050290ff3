"""CKAN's DataStore actions: ``datastore_search`` (public), ``datastore_create``, ``datastore_upsert`` and
``datastore_delete`` (API key of the publishing city). Registered in ``ckan_views.ACTIONS``.

Parameters and result shapes as CKAN 2.10 has them, so ``ckanapi``'s
``action.datastore_search(resource_id=…, filters={…}, q=…, limit=…)`` works
unchanged; ``filters``, ``q``, ``fields`` and ``records`` may also arrive as
JSON text (GET requests).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from dikom.opendata import actions, datastore, service
from dikom.opendata.ckan_views import Context, Invalid, NotFound, _readable, _require_writer
from dikom.opendata.models import DatastoreTable, Resource


def _json_param(ctx: Context, key: str) -> Any:
    value = ctx.get(key)
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            raise Invalid(fields={key: ["Cannot parse JSON"]}) from None
    return value


def _resource(ctx: Context, key: str = "resource_id") -> Resource:
    import uuid

    value = ctx.get(key) or ctx.get("id")
    if not isinstance(value, str) or not value:
        raise Invalid(fields={key: ["Missing value"]})
    try:
        ident = uuid.UUID(value)
    except ValueError:
        raise NotFound(f'Resource "{value[:60]}" was not found.') from None
    resource = (
        Resource.objects.select_related("dataset__organization").filter(uuid=ident, dataset__in=_readable(ctx)).first()
    )
    if resource is None:
        raise NotFound(f'Resource "{value[:60]}" was not found.')
    return resource


def _table(resource: Resource) -> DatastoreTable:
    """The resource's table in place; while a new file is read, the previous table still answers."""
    table = DatastoreTable.objects.filter(resource=resource).first()
    if table is None or not table.db_table or table.state == DatastoreTable.State.FAILED:
        message = f'Resource "{resource.uuid}" was not found in the DataStore.'
        if table is not None and table.state == DatastoreTable.State.FAILED:
            message += f" {table.message}"
        elif table is not None:
            message += " It is still being read."
        raise NotFound(message)
    return table


def _fail(error: datastore.DatastoreError) -> Invalid:
    return Invalid(fields={error.field: [error.message]})


def datastore_search(ctx: Context) -> Any:
    resource = _resource(ctx)
    table = _table(resource)
    limit = ctx.integer("limit", datastore.DEFAULT_LIMIT, high=datastore.MAX_LIMIT)
    offset = ctx.integer("offset", 0)
    query = {
        "filters": _json_param(ctx, "filters"),
        "q": _json_param(ctx, "q"),
        "fields": _json_param(ctx, "fields"),
        "sort": ctx.get("sort"),
    }
    threshold = ctx.get("total_estimation_threshold")
    try:
        result = datastore.search_table(
            table,
            limit=limit,
            offset=offset,
            include_total=ctx.boolean("include_total", True),
            estimate_above=None if threshold in (None, "") else ctx.integer("total_estimation_threshold", 0),
            **query,
        )
    except datastore.DatastoreError as error:
        raise _fail(error) from None
    base = reverse("opendata:ckan_action_v3", kwargs={"name": "datastore_search"})
    params = {"resource_id": str(resource.uuid)}
    for key in ("filters", "q", "fields"):
        if query[key] not in (None, ""):
            params[key] = query[key] if isinstance(query[key], str) else json.dumps(query[key], ensure_ascii=False)
    if query["sort"]:
        params["sort"] = str(query["sort"])
    body: dict[str, Any] = {
        "resource_id": str(resource.uuid),
        "fields": result.fields,
        "records": result.records,
        "records_format": "objects",
        "limit": limit,
        "offset": offset,
        "include_total": result.total is not None,
        "_links": {
            "start": f"{base}?{urlencode(params)}",
            "next": f"{base}?{urlencode({**params, 'offset': offset + limit})}",
        },
    }
    for key in ("filters", "q", "sort"):
        if query[key] not in (None, ""):
            body[key] = query[key]
    if result.total is not None:
        body["total"] = result.total
        body["total_was_estimated"] = result.estimated
    return body


def _writable_resource(ctx: Context) -> Resource:
    resource = _resource(ctx)
    _require_writer(ctx, resource.dataset.organization)
    return resource


def datastore_create(ctx: Context) -> Any:
    new = _json_param(ctx, "resource")
    if isinstance(new, dict) and not ctx.get("resource_id"):
        dataset = service.find_dataset(_readable(ctx), str(new.get("package_id") or ""))
        if dataset is None:
            raise NotFound("Dataset not found")
        _require_writer(ctx, dataset.organization)
        data = {k: v for k, v in new.items() if k in ("name", "description", "format")}
        data.setdefault("format", "CSV")
        # The table is the data: its download is the DataStore dump, known once the resource exists.
        data["url"] = service.site_url() + "/"
        try:
            resource = actions.create_resource(dataset, data, actor=str(ctx.principal))
        except actions.InvalidData as error:
            raise Invalid(fields=error.errors) from None
        dump = service.site_url() + reverse("opendata:datastore_dump", kwargs={"resource_id": resource.uuid})
        Resource.objects.filter(pk=resource.pk).update(url=dump)
        resource.url = dump
    else:
        resource = _writable_resource(ctx)
    try:
        table = datastore.create_table(
            resource, _json_param(ctx, "fields"), _json_param(ctx, "records"), _json_param(ctx, "primary_key")
        )
    except datastore.DatastoreError as error:
        raise _fail(error) from None
    result: dict[str, Any] = {
        "resource_id": str(resource.uuid),
        "fields": table.fields,
        "method": "insert",
    }
    if table.primary_key:
        result["primary_key"] = table.primary_key
    return result


def datastore_upsert(ctx: Context) -> Any:
    resource = _writable_resource(ctx)
    table = _table(resource)
    method = str(ctx.get("method") or "upsert")
    records = _json_param(ctx, "records")
    try:
        datastore.upsert(table, records, method=method)
    except datastore.DatastoreError as error:
        raise _fail(error) from None
    return {"resource_id": str(resource.uuid), "method": method, "records": records}


def datastore_delete(ctx: Context) -> Any:
    resource = _writable_resource(ctx)
    table = _table(resource)
    filters = _json_param(ctx, "filters")
    try:
        datastore.delete_rows(table, filters)
    except datastore.DatastoreError as error:
        raise _fail(error) from None
    return {"resource_id": str(resource.uuid), "filters": filters or {}}


def datastore_info(ctx: Context) -> Any:
    resource = _resource(ctx)
    table = _table(resource)
    return {
        "meta": {"count": table.row_count, "id": str(resource.uuid)},
        "fields": [{"id": f["id"], "type": f["type"], "schema": {"native_type": f["type"]}} for f in table.fields],
    }


ACTIONS = {
    fn.__name__: fn for fn in (datastore_search, datastore_create, datastore_upsert, datastore_delete, datastore_info)
}
WRITE_ACTIONS = {"datastore_create", "datastore_upsert", "datastore_delete"}
