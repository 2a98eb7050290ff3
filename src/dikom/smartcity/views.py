"""The citizen smart-city app at ``/stadt/<city>/``: thin views, server-rendered, no JavaScript needed.

Permission checks live in ``access.py``, state changes in ``actions.py``,
forms in ``forms.py``; the watering need in ``need.py`` and the bins' fill
levels in ``bins.py``. Every map has a list beside it with the same content.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.lib.spreadsheet_safety import csv_writer
from dikom.municipalities.models import Municipality
from dikom.sensors import service as sensors
from dikom.smartcity import access, actions, treemap
from dikom.smartcity.bins import fills_for
from dikom.smartcity.forms import ConstructionSiteForm, WateringForm
from dikom.smartcity.mapping import HEIGHT, WIDTH, project
from dikom.smartcity.models import Adoption, ConstructionSite, CriticalAlertOptIn, LitterBin, Tree, Watering
from dikom.smartcity.need import LEVEL_LABELS, Level, needs_for
from dikom.web.branding import brand_for

TREES_PER_PAGE = 50
READING_DAYS = 14


def _context(city: Municipality, **extra: Any) -> dict[str, Any]:
    return {"city": city, "brand": brand_for(city.brand_colour), **extra}


def index(request: HttpRequest) -> HttpResponse:
    counts = dict(Tree.objects.values("municipality").annotate(n=Count("pk")).values_list("municipality", "n"))
    cities = [
        {"city": m, "trees": counts.get(m.pk, 0), "brand": brand_for(m.brand_colour)}
        for m in Municipality.objects.order_by("name")
    ]
    return render(request, "smartcity/index.html", {"cities": cities})


def city_home(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    treemap.ensure_levels(municipality)
    counts = dict(
        Tree.objects.filter(municipality=municipality)
        .values("need_level")
        .annotate(n=Count("pk"))
        .values_list("need_level", "n")
    )
    today = timezone.localdate()
    return render(
        request,
        "smartcity/city.html",
        _context(
            municipality,
            tree_count=sum(counts.values()),
            tally=[(level, LEVEL_LABELS[level], counts.get(level.value, 0)) for level in Level],
            sites_today=ConstructionSite.objects.filter(
                municipality=municipality, starts_on__lte=today, ends_on__gte=today
            ).count(),
            bin_count=LitterBin.objects.filter(municipality=municipality).count(),
            can_manage=access.can_manage(request.user, municipality),
        ),
    )


@dataclass(frozen=True)
class _StoredNeed:
    level: Level


def tree_list(request: HttpRequest, city: str) -> HttpResponse:
    """Trees most urgent first, paged in the database (the stored need); the map beside it is SVG or clusters."""
    municipality = access.get_city(city)
    treemap.ensure_levels(municipality)
    trees, filters = _filtered_trees(request, municipality)
    paginator = Paginator(
        _annotated(request, trees).order_by(treemap.URGENCY, "street", "number", "pk"), TREES_PER_PAGE
    )
    total = paginator.count
    page: Any = paginator.get_page(request.GET.get("seite"))
    key = (
        None
        if filters["only_mine"]
        else f"smartcity:overview:{municipality.pk}:{filters['level']}:{filters['species']}:{total}"
    )
    view = treemap.overview(trees, total, key)
    for tree in page.object_list:
        tree.need = _StoredNeed(Level(tree.need_level))
    query = request.GET.copy()
    query.pop("seite", None)
    return render(
        request,
        "smartcity/tree_list.html",
        _context(
            municipality,
            tab="trees",
            page=page,
            points=project(view.marks),
            map_width=WIDTH,
            map_height=HEIGHT,
            levels=[(lv.value, LEVEL_LABELS[lv]) for lv in Level],
            species_choices=sorted(
                Tree.objects.filter(municipality=municipality)
                .order_by("species")
                .values_list("species", flat=True)
                .distinct()
            ),
            query=query.urlencode(),
            total=total,
            map_data=reverse("smartcity:tree_map_data", args=[municipality.slug]),
            map_extent=view.extent,
            map_initial=view.initial,
            map_tiles=settings.DIKOM_MAP_TILE_URL,
            map_filters=query.urlencode(),
            **filters,
        ),
    )


def _filtered_trees(request: HttpRequest, municipality: Municipality) -> tuple[Any, dict[str, Any]]:
    """The city's trees with the list's filters (need, species, mine), without per-row annotations.

    Counting, clustering and the map's extent run on this plain query; only the
    list's page gets the "adopted" annotations (``_annotated``).
    """
    trees: Any = Tree.objects.filter(municipality=municipality)
    species = request.GET.get("art", "")
    if species:
        trees = trees.filter(species=species)
    only_mine = request.GET.get("meine") == "1" and request.user.is_authenticated
    if only_mine:
        trees = trees.filter(pk__in=Adoption.objects.filter(user_id=request.user.pk or 0).values("tree"))
    level = request.GET.get("bedarf", "")
    if level in Level.__members__.values():
        trees = trees.filter(need_level=level)
    else:
        level = ""
    return trees, {"level": level, "species": species, "only_mine": only_mine}


def _annotated(request: HttpRequest, trees: Any) -> Any:
    if request.user.is_authenticated:
        trees = trees.annotate(mine=Exists(Adoption.objects.filter(tree=OuterRef("pk"), user_id=request.user.pk or 0)))
    return trees.annotate(adopted=Exists(Adoption.objects.filter(tree=OuterRef("pk"))))


def tree_map_data(request: HttpRequest, city: str) -> JsonResponse:
    """The Leaflet map's data for a bounding box and zoom: clusters, or single trees when zoomed in."""
    municipality = access.get_city(city)
    try:
        box, zoom = treemap.parse_box(request.GET.get("bbox", ""), request.GET.get("zoom", ""))
    except treemap.BadRequest as error:
        return JsonResponse({"detail": error.message}, status=400)
    treemap.ensure_levels(municipality)
    trees, _filters = _filtered_trees(request, municipality)
    response = JsonResponse(treemap.clusters(municipality, trees, box, zoom))
    response["Cache-Control"] = "private, max-age=60"
    return response


def _probe_series(tree: Tree) -> list[dict[str, Any]]:
    if not tree.sensor_thing_id:
        return []
    probes = sensors.soil_tension_datastreams([tree.sensor_thing_id]).get(tree.sensor_thing_id, [])
    ids = sensors.published_datastreams(probes)  # what the city withholds is not shown to the public
    now = timezone.now()
    series = []
    for datastream in sensors.datastreams_of(tree.municipality).filter(pk__in=ids).order_by("name"):
        rows = list(sensors.observations_between(datastream, now - dt.timedelta(days=READING_DAYS), now))
        values = [(o.phenomenon_time, o.result_number) for o in rows if o.result_number is not None]
        series.append({"name": datastream.name, "readings": values[::-1][:12], "chart": _chart(values)})
    return series


def _chart(values: list[tuple[dt.datetime, float]]) -> dict[str, Any] | None:
    """Polyline points for an SVG chart of water tension (0–150 cbar over the shown days)."""
    if len(values) < 2:
        return None
    width, height, top = 600, 200, 150.0
    start, end = values[0][0], values[-1][0]
    span = max((end - start).total_seconds(), 1.0)

    def y(v: float) -> float:
        return round(height - min(v, top) / top * height, 1)

    points = " ".join(f"{round((t - start).total_seconds() / span * width, 1)},{y(v)}" for t, v in values)
    return {"points": points, "width": width, "height": height, "good": y(33), "moderate": y(80)}


def tree_detail(request: HttpRequest, city: str, tree: uuid.UUID) -> HttpResponse:
    municipality = access.get_city(city)
    obj = access.get_tree(municipality, tree)
    need = needs_for([obj])[obj.pk]
    adoption = Adoption.objects.filter(tree=obj, user_id=request.user.pk or 0).first()
    adopted = adoption is not None
    form = WateringForm(initial={"request_key": uuid.uuid4()})
    return render(
        request,
        "smartcity/tree_detail.html",
        _context(
            municipality,
            tab="trees",
            tree=obj,
            need=need,
            adopted=adopted,
            alert_on=adoption is not None and adoption.notify_critical,
            global_alert=request.user.is_authenticated
            and CriticalAlertOptIn.objects.filter(user_id=request.user.pk).exists(),
            adopters=obj.adoptions.count(),
            form=form,
            series=_probe_series(obj),
            waterings=list(obj.waterings.only("litres", "watered_at")[:20]),
        ),
    )


def _tree_url(tree: Tree) -> str:
    return reverse("smartcity:tree", args=[tree.municipality.slug, tree.uuid])


@login_required
@require_POST
def adopt(request: HttpRequest, city: str, tree: uuid.UUID) -> HttpResponse:
    municipality = access.get_city(city)
    obj = access.get_tree(municipality, tree)
    if request.POST.get("aufgeben"):
        actions.give_up_tree(obj, request.user)
        messages.success(request, _("You no longer sponsor this tree."))
    else:
        actions.adopt_tree(obj, request.user)
        messages.success(request, _("Thank you! You now sponsor this tree."))
    return redirect(_tree_url(obj))


@login_required
def water(request: HttpRequest, city: str, tree: uuid.UUID) -> HttpResponse:
    municipality = access.get_city(city)
    obj = access.get_tree(municipality, tree)
    if request.method != "POST":
        return redirect(_tree_url(obj) + "#giessen")
    form = WateringForm(request.POST)
    if form.is_valid():
        try:
            recorded = actions.record_watering(
                obj,
                request.user,
                form.cleaned_data["litres"],
                form.cleaned_data["watered_at"],
                form.cleaned_data["request_key"],
            )
        except actions.Refused as exc:
            form.add_error(None, str(exc))
        else:
            if recorded.created:
                messages.success(request, _("Thank you! Your watering has been logged."))
            else:
                messages.info(request, _("This watering had already been logged."))
            return redirect(_tree_url(obj))
    need = needs_for([obj])[obj.pk]
    return render(
        request,
        "smartcity/tree_detail.html",
        _context(
            municipality,
            tab="trees",
            tree=obj,
            need=need,
            adopted=Adoption.objects.filter(tree=obj, user_id=request.user.pk or 0).exists(),
            adopters=obj.adoptions.count(),
            form=form,
            series=_probe_series(obj),
            waterings=list(obj.waterings.only("litres", "watered_at")[:20]),
        ),
        status=400,
    )


def watering_log(request: HttpRequest, city: str) -> HttpResponse:
    """The public, anonymous log: when, which tree, how many litres — never who."""
    municipality = access.get_city(city)
    rows = Watering.objects.filter(tree__municipality=municipality).select_related("tree")
    page = Paginator(
        rows.only("litres", "watered_at", "tree__number", "tree__species", "tree__street", "tree__uuid"), 50
    )
    return render(
        request,
        "smartcity/watering_log.html",
        _context(municipality, tab="log", page=page.get_page(request.GET.get("seite"))),
    )


def watering_log_csv(request: HttpRequest, city: str) -> HttpResponse:
    """Open data: the anonymous watering log as CSV (columns documented in docs/smartcity.md)."""
    municipality = access.get_city(city)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="giessprotokoll-{municipality.slug}.csv"'
    writer = csv_writer(response)  # street names come from staff: no formulas in spreadsheets
    # The day only: the time of a watering at a known tree could tell a neighbour who waters it and when.
    writer.writerow(["watered_on", "tree_number", "species", "street", "longitude", "latitude", "litres"])
    rows = (
        Watering.objects.filter(tree__municipality=municipality)
        .order_by("watered_at", "pk")
        .values_list(
            "watered_at", "tree__number", "tree__species", "tree__street", "tree__longitude", "tree__latitude", "litres"
        )
    )
    for when, *rest in rows.iterator():
        writer.writerow([timezone.localtime(when).date().isoformat(), *rest])
    return response


@login_required
def my_trees(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    user: Any = request.user
    trees: list[Any] = list(Tree.objects.filter(municipality=municipality, adoptions__user=user))
    needs = needs_for(trees)
    for tree in trees:
        tree.need = needs[tree.pk]
    mine = Watering.objects.filter(tree__municipality=municipality, user=user).select_related("tree")[:20]
    return render(
        request,
        "smartcity/my_trees.html",
        _context(
            municipality,
            tab="mine",
            trees=trees,
            waterings=mine,
            global_alert=CriticalAlertOptIn.objects.filter(user_id=user.pk).exists(),
        ),
    )


def construction_sites(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    today = timezone.localdate()
    sites = list(ConstructionSite.objects.filter(municipality=municipality, ends_on__gte=today))
    current = [s for s in sites if s.starts_on <= today]
    upcoming = [s for s in sites if s.starts_on > today]
    return render(
        request,
        "smartcity/construction_sites.html",
        _context(
            municipality,
            tab="sites",
            current=current,
            upcoming=upcoming,
            points=project(sites),
            map_width=WIDTH,
            map_height=HEIGHT,
            today=today,
            can_manage=access.can_manage(request.user, municipality),
        ),
    )


@login_required
def construction_site_new(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return render(request, "web/error.html", {"status": 403}, status=403)
    form = ConstructionSiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.create_construction_site(municipality, **form.cleaned_data)
        messages.success(request, _("The construction site has been published."))
        return redirect("smartcity:sites", municipality.slug)
    return render(
        request,
        "smartcity/construction_site_form.html",
        _context(municipality, tab="sites", form=form),
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def construction_site_delete(request: HttpRequest, city: str, site: uuid.UUID) -> HttpResponse:
    municipality = access.get_city(city)
    obj = access.get_site_for_staff(request.user, municipality, site)
    actions.delete_construction_site(obj)
    messages.success(request, _("The construction site has been removed."))
    return redirect("smartcity:sites", municipality.slug)


def litter_bins(request: HttpRequest, city: str) -> HttpResponse:
    municipality = access.get_city(city)
    bins: list[Any] = list(LitterBin.objects.filter(municipality=municipality))
    fills = fills_for(bins)
    for bin_ in bins:
        bin_.fill = fills.get(bin_.pk)
    # Fullest first; bins without a fresh reading last.
    bins.sort(key=lambda b: (b.fill is None, -(b.fill.percent if b.fill else 0), b.street, b.name))
    return render(
        request,
        "smartcity/litter_bins.html",
        _context(
            municipality,
            bins=bins,
            points=project(bins),
            map_width=WIDTH,
            map_height=HEIGHT,
            can_manage=access.can_manage(request.user, municipality),
        ),
    )


@login_required
def publication(request: HttpRequest, city: str) -> HttpResponse:
    """City staff choose which Things and Datastreams the SensorThings API shows to the public."""
    municipality = access.get_city(city)
    if not access.can_manage(request.user, municipality):
        return render(request, "web/error.html", {"status": 403}, status=403)
    if request.method == "POST":

        def ids(name: str) -> set[int]:
            return {int(v) for v in request.POST.getlist(name) if v.isdigit() and len(v) < 19}

        changed = sensors.set_publication(municipality, ids("thing"), ids("datastream"))
        messages.success(request, _("Publication saved (%(count)s changes).") % {"count": changed})
        return redirect("smartcity:publication", municipality.slug)
    return render(
        request,
        "smartcity/publication.html",
        _context(municipality, things=sensors.things_for_publication(municipality)),
    )
