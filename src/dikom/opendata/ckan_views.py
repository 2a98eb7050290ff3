"""CKAN's Action API (``/api/3/action/<name>`` and ``/api/action/<name>``).

Answers in CKAN's envelope ``{"help", "success", "result"}`` or
``{"help", "success": false, "error": {"__type", "message"}}`` with CKAN's
status codes, so that ``ckanapi`` and CKAN-based harvesters work unchanged.
Reads are public; writes need an API key of the publishing city with the
``opendata:write`` scope (header ``Authorization`` or ``X-CKAN-API-Key``,
with or without the ``Bearer``/``Api-Key`` keyword).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from dikom.accounts.service import ApiKeyUser, authenticate_api_key
from dikom.lib.replicas import reads_only_when
from dikom.opendata import access, actions, catalogue_search, search, service, vocab
from dikom.opendata.models import Dataset, Organization, Resource, Tag

CKAN_VERSION = "2.10.4"


class ActionError(Exception):
    status = 400
    kind = "Bad request"

    def __init__(self, message: str = "", fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def body(self) -> dict[str, Any]:
        if self.fields:
            return {"__type": self.kind, **self.fields}
        return {"__type": self.kind, "message": self.message}


class NotFound(ActionError):
    status = 404
    kind = "Not Found Error"


class NotAuthorized(ActionError):
    status = 403
    kind = "Authorization Error"


class Invalid(ActionError):
    status = 409
    kind = "Validation Error"


class SearchQueryFailed(ActionError):
    status = 409
    kind = "Search Query Error"


class Context:
    def __init__(self, request: HttpRequest, principal: Any, data: dict[str, Any], files: dict[str, UploadedFile]):
        self.request = request
        self.principal = principal
        self.data = data
        self.files = files

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def require(self, key: str) -> Any:
        value = self.data.get(key)
        if value in (None, ""):
            raise Invalid(fields={key: ["Missing value"]})
        return value

    def integer(self, key: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        value = self.data.get(key, default)
        if value in (None, ""):
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(fields={key: ["Invalid integer"]}) from None
        if number < low:
            raise Invalid(fields={key: [f"Must be a natural number ≥ {low}"]})
        return min(number, high) if high is not None else number

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, bool):
            return value
        return str(value).lower() in {"true", "1", "yes", "on"}


def _principal(request: HttpRequest) -> Any:
    header = request.META.get("HTTP_X_CKAN_API_KEY") or request.META.get("HTTP_AUTHORIZATION") or ""
    header = header.strip()
    if not header:
        return request.user
    keyword, _sep, rest = header.partition(" ")
    token = rest.strip() if keyword.lower() in ("bearer", "api-key", "apikey", "token") else header
    api_key = authenticate_api_key(token)
    if api_key is None:
        raise NotAuthorized("Unknown, revoked or expired API key.")
    return ApiKeyUser(api_key)


def _files(request: HttpRequest) -> dict[str, UploadedFile]:
    found: dict[str, UploadedFile] = {}
    for key in request.FILES:
        upload = request.FILES.get(key)
        if isinstance(upload, UploadedFile):
            found[key] = upload
    return found


def _parse(request: HttpRequest) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    if request.method == "GET":
        data: dict[str, Any] = {}
        for key in request.GET:
            values = request.GET.getlist(key)
            data[key] = values if key == "fq_list" else values[-1]
        return data, {}
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/form-data") or content_type.startswith("application/x-www-form-urlencoded"):
        return {key: request.POST.get(key) for key in request.POST}, _files(request)
    body = request.body
    if not body.strip():
        return {}, {}
    try:
        parsed = json.loads(body)
    except RecursionError:
        raise ActionError("JSON Error: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ActionError(f"JSON Error: {str(error)[:200]}") from None
    if not isinstance(parsed, dict):
        raise ActionError("JSON Error: Request data JSON decoded to a non-dict object")
    return parsed, {}


def _json_list(value: Any, key: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, list):
        items = value
    else:
        try:
            items = json.loads(value)
        except ValueError:
            if str(value).lstrip().startswith(("[", "{")):
                raise Invalid(fields={key: ["Must be a JSON list of field names"]}) from None
            items = [value]
        if isinstance(items, str):
            items = [items]
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise Invalid(fields={key: ["Must be a JSON list of field names"]})
    return items


def _readable(ctx: Context) -> Any:
    return access.visible_datasets(ctx.principal)


def _dataset(ctx: Context, key: str = "id") -> Dataset:
    value = ctx.get(key) or (ctx.get("name") if key == "id" else None)
    if not value or not isinstance(value, str):
        raise Invalid(fields={key: ["Missing value"]})
    dataset = service.find_dataset(_readable(ctx), value)
    if dataset is None:
        raise NotFound("Not found")
    return dataset


def _require_writer(ctx: Context, organization: Organization) -> None:
    if not isinstance(ctx.principal, ApiKeyUser):
        raise NotAuthorized("An API key of the publishing city is required.")
    if not access.can_write(ctx.principal, organization):
        raise NotAuthorized(f"Not authorised to change datasets of {organization.name}.")


def _invalid(error: actions.InvalidData) -> Invalid:
    return Invalid(fields=error.errors)


# --- read actions --------------------------------------------------------------------------------


def status_show(ctx: Context) -> Any:
    return {
        "site_title": "dikom Open Data",
        "site_description": "Offene Daten der Mitgliedskommunen",
        "site_url": service.site_url(),
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "de",
        "extensions": ["dikom", "dcat"],
    }


def site_read(ctx: Context) -> Any:
    return True


def package_list(ctx: Context) -> Any:
    limit = ctx.integer("limit", 100000, high=100000)
    offset = ctx.integer("offset", 0)
    names = Dataset.objects.filter(state=Dataset.State.PUBLISHED).order_by("name").values_list("name", flat=True)
    return list(names[offset : offset + limit])


def current_package_list_with_resources(ctx: Context) -> Any:
    limit = ctx.integer("limit", 10, high=service.MAX_ROWS)
    offset = ctx.integer("offset", ctx.integer("page", 1, low=1) * 0)
    if ctx.get("page") and not ctx.get("offset"):
        offset = (ctx.integer("page", 1, low=1) - 1) * limit
    datasets = (
        Dataset.objects.filter(state=Dataset.State.PUBLISHED)
        .select_related("organization")
        .prefetch_related("tags", "resources")
        .order_by("-updated_at", "id")[offset : offset + limit]
    )
    return [service.package_dict(d) for d in datasets]


def package_show(ctx: Context) -> Any:
    return service.package_dict(_dataset(ctx))


def package_search(ctx: Context) -> Any:
    rows = ctx.integer("rows", service.DEFAULT_ROWS, high=service.MAX_ROWS)
    start = ctx.integer("start", 0)
    fq_parts = [str(ctx.get("fq") or "")]
    fq_parts += [str(item) for item in (ctx.get("fq_list") or []) if isinstance(item, str)]
    for key in ("q", "fq", "sort"):
        if ctx.get(key) is not None and not isinstance(ctx.get(key), str):
            raise Invalid(fields={key: ["Must be a string"]})
    facet_fields = _json_list(ctx.get("facet.field"), "facet.field") if ctx.boolean("facet", True) else []
    queryset = Dataset.objects.filter(state=Dataset.State.PUBLISHED)
    if ctx.boolean("include_drafts") or ctx.boolean("include_private"):
        queryset = _readable(ctx)
    try:
        result = catalogue_search.search_datasets(
            queryset,
            q=str(ctx.get("q") or ""),
            fq=" ".join(part for part in fq_parts if part),
            sort=str(ctx.get("sort") or "score desc, metadata_modified desc"),
            rows=rows,
            start=start,
            facet_fields=facet_fields,
            facet_limit=ctx.integer("facet.limit", 50, low=-1),
            facet_mincount=ctx.integer("facet.mincount", 1),
        )
    except search.SearchQueryError as error:
        raise SearchQueryFailed(f"Search Query is invalid: {error}") from None
    return {
        "count": result.count,
        "sort": str(ctx.get("sort") or "score desc, metadata_modified desc"),
        "results": [service.package_dict(d) for d in result.datasets],
        "facets": result.facets,
        "search_facets": catalogue_search.search_facets(result.facets, result.organization_titles),
    }


def _package_counts() -> dict[int, int]:
    rows = Dataset.objects.filter(state=Dataset.State.PUBLISHED).values("organization").annotate(n=Count("pk"))
    return {row["organization"]: row["n"] for row in rows}


def organization_list(ctx: Context) -> Any:
    counts = _package_counts()
    orgs = list(Organization.objects.all())
    sort = str(ctx.get("sort") or "title asc")
    if sort.startswith("package_count"):
        orgs.sort(key=lambda o: -counts.get(o.pk, 0))
    elif sort.startswith("name"):
        orgs.sort(key=lambda o: o.name)
    offset = ctx.integer("offset", 0)
    limit = ctx.integer("limit", 1000, high=1000)
    orgs = orgs[offset : offset + limit]
    if ctx.boolean("all_fields"):
        return [service.organization_dict(o, package_count=counts.get(o.pk, 0)) for o in orgs]
    return [o.name for o in orgs]


def organization_show(ctx: Context) -> Any:
    value = ctx.get("id")
    if not isinstance(value, str) or not value:
        raise Invalid(fields={"id": ["Missing value"]})
    org = service.find_organization(value)
    if org is None:
        raise NotFound("Organization not found")
    datasets = Dataset.objects.filter(organization=org, state=Dataset.State.PUBLISHED)
    result = service.organization_dict(org, package_count=datasets.count())
    if ctx.boolean("include_datasets"):
        result["packages"] = [service.package_dict(d) for d in datasets.order_by("-updated_at")[:1000]]
    return result


def _theme_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for themes in Dataset.objects.filter(state=Dataset.State.PUBLISHED).values_list("themes", flat=True):
        for code in themes.split():
            counts[code] = counts.get(code, 0) + 1
    return counts


def group_list(ctx: Context) -> Any:
    counts = _theme_counts()
    codes = list(vocab.THEMES)
    if ctx.boolean("all_fields"):
        return [service.group_dict(code, package_count=counts.get(code, 0)) for code in codes]
    return [code.lower() for code in codes]


def group_show(ctx: Context) -> Any:
    value = ctx.get("id")
    if not isinstance(value, str) or not value:
        raise Invalid(fields={"id": ["Missing value"]})
    code = value.upper()
    if code not in vocab.THEMES:
        raise NotFound("Group not found")
    datasets = Dataset.objects.filter(state=Dataset.State.PUBLISHED, themes__contains=f" {code} ")
    result = service.group_dict(code, package_count=datasets.count())
    if ctx.boolean("include_datasets"):
        result["packages"] = [service.package_dict(d) for d in datasets.order_by("-updated_at")[:1000]]
    return result


def tag_list(ctx: Context) -> Any:
    tags = Tag.objects.filter(datasets__state=Dataset.State.PUBLISHED).distinct().order_by("name")
    query = ctx.get("query")
    if isinstance(query, str) and query:
        tags = tags.filter(name__icontains=query)
    if ctx.boolean("all_fields"):
        return [{"id": str(t.pk), "name": t.name, "display_name": t.name, "vocabulary_id": None} for t in tags]
    return list(tags.values_list("name", flat=True))


def license_list(ctx: Context) -> Any:
    return [
        {
            "id": lic.id,
            "title": lic.title,
            "url": lic.url,
            "od_conformance": "approved" if not lic.id.startswith("other-closed") else "not reviewed",
            "status": "active",
            "dcat_ap_de_iri": lic.iri,
        }
        for lic in vocab.licences().values()
    ]


def _resource(ctx: Context) -> Resource:
    value = ctx.get("id")
    if not isinstance(value, str) or not value:
        raise Invalid(fields={"id": ["Missing value"]})
    try:
        import uuid

        key = uuid.UUID(value)
    except ValueError:
        raise NotFound("Resource was not found.") from None
    resource = (
        Resource.objects.select_related("dataset__organization").filter(uuid=key, dataset__in=_readable(ctx)).first()
    )
    if resource is None:
        raise NotFound("Resource was not found.")
    return resource


def resource_show(ctx: Context) -> Any:
    return service.resource_dict(_resource(ctx))


# --- write actions -------------------------------------------------------------------------------


def _actor(ctx: Context) -> str:
    return str(ctx.principal)


def package_create(ctx: Context) -> Any:
    owner = ctx.get("owner_org")
    if not isinstance(owner, str) or not owner:
        raise Invalid(fields={"owner_org": ["An organization must be provided"]})
    org = service.find_organization(owner)
    if org is None:
        raise Invalid(fields={"owner_org": ["Organization does not exist"]})
    _require_writer(ctx, org)
    try:
        dataset = actions.create_dataset(org, ctx.data, actor=_actor(ctx))
    except actions.InvalidData as error:
        raise _invalid(error) from None
    return service.package_dict(dataset)


def _writable_dataset(ctx: Context) -> Dataset:
    dataset = _dataset(ctx)
    _require_writer(ctx, dataset.organization)
    return dataset


def _move(ctx: Context, dataset: Dataset) -> None:
    owner = ctx.get("owner_org")
    if owner and isinstance(owner, str):
        org = service.find_organization(owner)
        if org is None:
            raise Invalid(fields={"owner_org": ["Organization does not exist"]})
        if org.pk != dataset.organization_id:
            raise NotAuthorized("Datasets cannot be moved to another organisation.")


def package_update(ctx: Context) -> Any:
    dataset = _writable_dataset(ctx)
    _move(ctx, dataset)
    data = dict(ctx.data)
    data.setdefault("name", dataset.name)
    try:
        dataset = actions.update_dataset(dataset, data, actor=_actor(ctx))
    except actions.InvalidData as error:
        raise _invalid(error) from None
    return service.package_dict(dataset)


def package_patch(ctx: Context) -> Any:
    dataset = _writable_dataset(ctx)
    _move(ctx, dataset)
    data = {k: v for k, v in ctx.data.items() if k not in ("id", "owner_org")}
    try:
        dataset = actions.update_dataset(dataset, data, actor=_actor(ctx), partial=True)
    except actions.InvalidData as error:
        raise _invalid(error) from None
    return service.package_dict(dataset)


def package_delete(ctx: Context) -> Any:
    dataset = _writable_dataset(ctx)
    actions.set_state(dataset, Dataset.State.WITHDRAWN, actor=_actor(ctx))
    return None


def _upload(ctx: Context) -> tuple[Any, str]:
    upload = ctx.files.get("upload")
    if upload is None:
        return None, ""
    return upload, upload.name or "datei"


def resource_create(ctx: Context) -> Any:
    package_id = ctx.get("package_id")
    if not isinstance(package_id, str) or not package_id:
        raise Invalid(fields={"package_id": ["Missing value"]})
    dataset = service.find_dataset(_readable(ctx), package_id)
    if dataset is None:
        raise NotFound("Dataset not found")
    _require_writer(ctx, dataset.organization)
    upload, filename = _upload(ctx)
    try:
        resource = actions.create_resource(dataset, ctx.data, upload=upload, filename=filename, actor=_actor(ctx))
    except actions.InvalidData as error:
        raise _invalid(error) from None
    return service.resource_dict(resource)


def resource_update(ctx: Context) -> Any:
    resource = _resource(ctx)
    _require_writer(ctx, resource.dataset.organization)
    upload, filename = _upload(ctx)
    try:
        resource = actions.update_resource(
            resource, ctx.data, upload=upload, filename=filename, actor=_actor(ctx), partial=False
        )
    except actions.InvalidData as error:
        raise _invalid(error) from None
    return service.resource_dict(resource)


def resource_patch(ctx: Context) -> Any:
    resource = _resource(ctx)
    _require_writer(ctx, resource.dataset.organization)
    upload, filename = _upload(ctx)
    try:
        resource = actions.update_resource(resource, ctx.data, upload=upload, filename=filename, actor=_actor(ctx))
    except actions.InvalidData as error:
        raise _invalid(error) from None
    return service.resource_dict(resource)


def resource_delete(ctx: Context) -> Any:
    resource = _resource(ctx)
    _require_writer(ctx, resource.dataset.organization)
    actions.delete_resource(resource, actor=_actor(ctx))
    return None


ACTIONS: dict[str, Callable[[Context], Any]] = {
    fn.__name__: fn
    for fn in (
        status_show,
        site_read,
        package_list,
        current_package_list_with_resources,
        package_show,
        package_search,
        organization_list,
        organization_show,
        group_list,
        group_show,
        tag_list,
        license_list,
        resource_show,
        package_create,
        package_update,
        package_patch,
        package_delete,
        resource_create,
        resource_update,
        resource_patch,
        resource_delete,
    )
}
WRITE_ACTIONS = {name for name in ACTIONS if name.endswith(("_create", "_update", "_patch", "_delete"))}


def _envelope(request: HttpRequest, name: str, status: int, payload: dict[str, Any]) -> JsonResponse:
    body = {"help": f"{service.site_url()}/api/3/action/help_show?name={name}", **payload}
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _handler(name: str) -> tuple[Callable[[Context], Any] | None, bool]:
    """The action called ``name`` and whether it writes (the DataStore's live in ``ckan_datastore``)."""
    from dikom.opendata import ckan_datastore

    if name in ACTIONS:
        return ACTIONS[name], name in WRITE_ACTIONS
    return ckan_datastore.ACTIONS.get(name), name in ckan_datastore.WRITE_ACTIONS


# ckanapi posts read actions too: those may read a replica like a GET (dikom.lib.replicas).
@reads_only_when(lambda request, kwargs: not _handler(str(kwargs.get("name") or ""))[1])
@csrf_exempt
def action(request: HttpRequest, name: str) -> HttpResponse:
    handler, writes = _handler(name)
    if handler is None:
        return _envelope(
            request,
            name[:60],
            400,
            {"success": False, "error": {"__type": "Bad request", "message": f"Action name not known: {name[:60]}"}},
        )
    if request.method not in ("GET", "POST"):
        return _envelope(
            request, name, 405, {"success": False, "error": {"__type": "Bad request", "message": "GET or POST"}}
        )
    try:
        if writes and request.method != "POST":
            raise ActionError("Bad request - JSON Error: Invalid request. Please use POST method for your request")
        principal = _principal(request)
        data, files = _parse(request)
        result = handler(Context(request, principal, data, files))
    except ActionError as error:
        return _envelope(request, name, error.status, {"success": False, "error": error.body()})
    return _envelope(request, name, 200, {"success": True, "result": result})
