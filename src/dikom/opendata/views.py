"""The public portal (search, dataset, organisation), downloads and the DCAT-AP.de documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_GET

from dikom.opendata import access, actions, catalogue_search, dcat, preview, search, service, vocab
from dikom.opendata.models import Dataset, DatastoreTable, Organization, Resource

PAGE_SIZE = 20
FILTER_PARAMS = ("organization", "groups", "tags", "res_format", "license_id", "frequency")


def _sort_choices() -> list[tuple[str, str]]:
    return [
        ("", _("Relevance")),
        ("metadata_modified desc", _("Last modified")),
        ("title_string asc", _("Title A–Z")),
        ("metadata_created desc", _("Newest")),
    ]


def _toggle(request: HttpRequest, name: str, value: str) -> str:
    """The query string with ``name=value`` added, or removed if present; back to page 1."""
    params = request.GET.copy()
    params.pop("seite", None)
    values = params.getlist(name)
    params.setlist(name, [v for v in values if v != value] if value in values else [*values, value])
    return "?" + params.urlencode()


def _with_page(request: HttpRequest, page: int) -> str:
    params = request.GET.copy()
    params["seite"] = str(page)
    return "?" + params.urlencode()


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    actions.ensure_organizations(access.publishing_municipalities(request.user))
    q = request.GET.get("q", "")[:200]
    sort = request.GET.get("sort", "")
    if sort not in {value for value, _label in _sort_choices()}:
        sort = ""
    chosen = {name: request.GET.getlist(name)[:5] for name in FILTER_PARAMS}
    clauses = [search.Clause(name, value=value[:100]) for name, values in chosen.items() for value in values]
    try:
        page_number = max(1, min(int(request.GET.get("seite", "1")), 10000))
    except ValueError:
        page_number = 1
    error = ""
    try:
        result = catalogue_search.search_datasets(
            Dataset.objects.filter(state=Dataset.State.PUBLISHED),
            q=" ".join(search.words(q)),
            sort=sort or "metadata_modified desc",
            rows=PAGE_SIZE,
            start=(page_number - 1) * PAGE_SIZE,
            facet_fields=FILTER_PARAMS,
            facet_limit=15,
            clauses=clauses,
        )
    except search.SearchQueryError:
        error = _("The search could not be understood. Please use plain words.")
        result = catalogue_search.SearchResult(count=0, datasets=[])
    facet_titles = {
        "organization": _("Organisation"),
        "groups": _("Theme"),
        "tags": _("Keyword"),
        "res_format": _("Format"),
        "license_id": _("Licence"),
        "frequency": _("Update frequency"),
    }
    facets = []
    titles = result.organization_titles or catalogue_search.organization_titles()
    for name in FILTER_PARAMS:
        items = []
        for key, count in result.facets.get(name, {}).items():
            items.append(
                {
                    "name": key,
                    "label": catalogue_search.facet_display_name(name, key, titles),
                    "count": count,
                    "active": key in chosen[name],
                    "url": _toggle(request, name, key),
                }
            )
        if items:
            facets.append({"field": name, "title": facet_titles[name], "items": items})
    last_page = max(1, -(-result.count // PAGE_SIZE))
    active = [
        {
            "field": name,
            "label": catalogue_search.facet_display_name(name, value, titles),
            "title": facet_titles[name],
            "url": _toggle(request, name, value),
        }
        for name, values in chosen.items()
        for value in values
    ]
    pages = {
        "previous": _with_page(request, page_number - 1) if page_number > 1 else "",
        "next": _with_page(request, page_number + 1) if page_number < last_page else "",
    }
    return render(
        request,
        "opendata/index.html",
        {
            "q": q,
            "sort": sort,
            "sort_choices": _sort_choices(),
            "result": result,
            "facets": facets,
            "active": active,
            "chosen": chosen,
            "error": error,
            "page": page_number,
            "last_page": last_page,
            "pages": pages,
            "organizations": Organization.objects.all(),
            "can_publish": request.user.is_authenticated and bool(access.writable_organizations(request.user)),
        },
    )


@require_GET
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_object_or_404(
        access.visible_datasets(request.user).select_related("organization").prefetch_related("tags", "resources"),
        name=name,
    )
    licence = vocab.licences().get(dataset.license_id)
    tables = {t.resource_id: t for t in DatastoreTable.objects.filter(resource__dataset=dataset)}
    resources = [
        (r, service.resource_download_url(r), preview.build(r), tables.get(r.pk)) for r in dataset.resources.all()
    ]
    return render(
        request,
        "opendata/dataset.html",
        {
            "dataset": dataset,
            "licence": licence,
            "themes": [(code, vocab.THEMES[code]) for code in dataset.theme_codes if code in vocab.THEMES],
            "frequency": vocab.FREQUENCIES.get(dataset.frequency, ""),
            "resources": resources,
            "has_map": any(p is not None and p.map is not None for _r, _u, p, _t in resources),
            "revisions": dataset.revisions.all()[:20],
            "can_edit": access.can_write(request.user, dataset.organization),
            "api_url": reverse("opendata:ckan_action_v3", kwargs={"name": "package_show"}) + f"?id={dataset.name}",
        },
    )


@require_GET
def organization_detail(request: HttpRequest, name: str) -> HttpResponse:
    org = get_object_or_404(Organization, name=name)
    datasets = Dataset.objects.filter(organization=org, state=Dataset.State.PUBLISHED).order_by("title")
    page = Paginator(datasets, PAGE_SIZE).get_page(request.GET.get("seite"))
    return render(request, "opendata/organization.html", {"organization": org, "page": page})


@require_GET
def download(request: HttpRequest, name: str, resource_id: str) -> HttpResponseBase:
    resource = get_object_or_404(
        Resource.objects.select_related("dataset"),
        uuid=resource_id,
        dataset__in=access.visible_datasets(request.user),
        dataset__name=name,
    )
    actions.count_download(resource)
    if not resource.upload:
        return HttpResponseRedirect(resource.url)
    response = FileResponse(
        resource.upload.open("rb"), as_attachment=True, filename=(resource.upload.name or "datei").rsplit("/", 1)[-1]
    )
    response["Content-Type"] = resource.media_type or "application/octet-stream"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def dataset_redirect(request: HttpRequest, id_or_name: str) -> HttpResponse:
    dataset = service.find_dataset(access.visible_datasets(request.user), id_or_name)
    if dataset is None:
        raise Http404
    return HttpResponseRedirect(reverse("opendata:dataset", kwargs={"name": dataset.name}))


def _catalog_modified(request: HttpRequest, extension: str) -> datetime | None:
    return Dataset.objects.aggregate(latest=Max("updated_at"))["latest"]


def _rdf_response(data: bytes, extension: str) -> HttpResponse:
    response = HttpResponse(data, content_type=f"{dcat.CONTENT_TYPES[extension]}; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@condition(last_modified_func=_catalog_modified)
def catalog(request: HttpRequest, extension: str) -> HttpResponse:
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 0
    graph, exists = dcat.catalog_graph(page, extension)
    if not exists:
        raise Http404
    return _rdf_response(dcat.serialise(graph, extension), extension)


def _dataset_modified(request: HttpRequest, name: str, extension: str) -> Any:
    return Dataset.objects.filter(name=name, state=Dataset.State.PUBLISHED).values_list("updated_at", flat=True).first()


@require_GET
@condition(last_modified_func=_dataset_modified)
def dataset_rdf(request: HttpRequest, name: str, extension: str) -> HttpResponse:
    dataset = get_object_or_404(
        Dataset.objects.select_related("organization").prefetch_related("tags", "resources"),
        name=name,
        state=Dataset.State.PUBLISHED,
    )
    return _rdf_response(dcat.serialise(dcat.dataset_graph(dataset), extension), extension)


class _Echo:
    """A file-like object whose ``write`` returns what it got (for streaming CSV)."""

    def write(self, value: str) -> str:
        return value


@require_GET
def datastore_dump(request: HttpRequest, resource_id: str, fmt: str = "csv") -> HttpResponseBase:
    """A DataStore table, or any query of it (``filters`` as JSON, ``q``, ``sort``), as CSV or JSON."""
    import json

    from django.http import StreamingHttpResponse

    from dikom.lib.spreadsheet_safety import SafeCsvWriter
    from dikom.opendata import datastore

    fmt = request.GET.get("format", fmt).lower()
    if fmt not in ("csv", "json"):
        raise Http404
    table = get_object_or_404(
        DatastoreTable.objects.select_related("resource")
        .exclude(db_table="")
        .exclude(state=DatastoreTable.State.FAILED),
        resource__uuid=resource_id,
        resource__dataset__in=access.visible_datasets(request.user),
    )
    try:
        filters = json.loads(request.GET["filters"]) if request.GET.get("filters") else None
        query: dict[str, Any] = {
            "filters": filters,
            "q": request.GET.get("q") or None,
            "sort": request.GET.get("sort") or None,
        }
        # Validate before the first byte is sent: errors become a 400, not a broken download.
        datastore.search_table(table, limit=1, include_total=False, **query)
    except (ValueError, datastore.DatastoreError) as error:
        message = error.message if isinstance(error, datastore.DatastoreError) else _("filters is not valid JSON.")
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    columns = [f["id"] for f in table.fields]
    name = f"{table.resource.uuid}.{fmt}"
    if fmt == "json":

        def json_chunks() -> Any:
            yield "["
            for index, record in enumerate(datastore.iterate_rows(table, **query)):
                yield ("," if index else "") + json.dumps(record, ensure_ascii=False)
            yield "]"

        response = StreamingHttpResponse(json_chunks(), content_type="application/json; charset=utf-8")
    else:
        writer = SafeCsvWriter(_Echo())

        def csv_chunks() -> Any:
            yield "\ufeff" + writer.writerow(["_id", *columns])
            for record in datastore.iterate_rows(table, **query):
                yield writer.writerow([record.get("_id"), *(record.get(c) for c in columns)])

        response = StreamingHttpResponse(csv_chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Access-Control-Allow-Origin"] = "*"
    return response
