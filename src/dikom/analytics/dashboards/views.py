"""Dashboard pages: entry, city overview, service detail, feedback comments, saved dashboards.

Views are thin: ``access`` decides who may (403 for a city without the
analyst or administrator role, 404 for another city's objects), ``queries``
reads the rollups, ``actions`` changes saved dashboards. Every table can be
downloaded with ``?export=csv|xlsx&table=<slug>`` and every page as a PDF with
``?export=pdf`` — from the same numbers the page shows.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_http_methods, require_POST

from dikom.analytics import metrics
from dikom.analytics.access import get_service
from dikom.analytics.dashboards import access, actions, charts, queries, reports
from dikom.analytics.dashboards.forms import DashboardForm, FilterForm, WidgetForm
from dikom.analytics.dashboards.pdf import pdf_response
from dikom.analytics.dashboards.periods import Period, buckets, display_label
from dikom.analytics.dashboards.tables import (
    DECIMAL,
    EXPORT_FORMATS,
    INT,
    PERCENT,
    ROW,
    TEXT,
    Column,
    Table,
    export_response,
    filename,
)
from dikom.analytics.models import EventType, Service, UsageEvent
from dikom.lib import formcache
from dikom.municipalities.models import Municipality
from dikom.web.modules import MODULES_BY_SLUG
from dikom.web.views import module as module_page

COMMENTS_PAGE_SIZE = 25


def index(request: HttpRequest) -> HttpResponse:
    """Anonymous: the module description. Staff: their city's overview, or a chooser; no access: 403."""
    if not request.user.is_authenticated:
        return module_page(request, "analytics")
    cities = access.analytics_municipalities(request.user)
    if len(cities) == 1:
        return redirect("analytics_dashboards:overview", slug=cities[0].slug)
    if not cities:
        return render(
            request, "analytics_dashboards/no_access.html", {"module": MODULES_BY_SLUG["analytics"]}, status=403
        )
    return render(request, "analytics_dashboards/index.html", {"cities": cities})


def _filters(request: HttpRequest) -> tuple[FilterForm, Period, str]:
    form = FilterForm(request.GET or None)
    return form, form.get_period(), form.get_channel()


def _query(request: HttpRequest, **changes: Any) -> str:
    """The current query string with ``changes`` applied (None removes a parameter)."""
    params: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k not in ("export", "table", "page")}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(params) if params else "?"


def _exports(request: HttpRequest, tables: dict[str, Table], name: str) -> HttpResponse | None:
    fmt = request.GET.get("export", "")
    if fmt in EXPORT_FORMATS:
        return export_response(tables, fmt, request.GET.get("table", ""), name)
    return None


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def _change(current: float | None, previous: float | None, comparable: bool = True) -> dict[str, Any]:
    """A figure with its previous value and the change in per cent (none for a period that reaches today)."""
    return {
        "current": current,
        "previous": previous,
        "change": queries.change(current, previous) if comparable else None,
    }


SORTABLE = (
    ("name", gettext_lazy("Service"), False),
    ("visits", gettext_lazy("Visits"), True),
    ("starts", gettext_lazy("Starts"), True),
    ("completions", gettext_lazy("Completions"), True),
    ("conversion", gettext_lazy("Conversion rate"), True),
    ("abandonment", gettext_lazy("Abandonment rate"), True),
    ("satisfaction", gettext_lazy("Satisfaction"), True),
)


@login_required
def overview(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_analytics_municipality(request.user, slug)
    form, period, channel = _filters(request)
    unsorted = queries.overview(municipality.pk, period, channel)
    comparable = not period.incomplete
    for row in unsorted:
        row.comparable = comparable
    rows, sort_key, descending = queries.sort_rows(unsorted, request.GET.get("sort", "-visits"))
    for row in rows:
        if row.service is None:
            row.name = _("Unassigned events")
    bucket_starts = buckets(period)
    table = Table(
        "dienste",
        _("Services"),
        [
            Column(_("Service"), TEXT),
            Column(_("Visits")),
            Column(_("Visits, previous period")),
            Column(_("Change in visits"), PERCENT),
            Column(_("Starts")),
            Column(_("Completions")),
            Column(_("Conversion rate"), PERCENT),
            Column(_("Abandonment rate"), PERCENT),
            Column(_("Satisfaction"), DECIMAL),
        ],
        [
            [
                r.name,
                r.visits,
                r.previous_visits,
                r.visits_change,
                r.starts,
                r.completions,
                r.conversion_rate,
                r.abandonment_rate,
                r.satisfaction,
            ]
            for r in rows
        ],
    )
    name = filename("nutzung", municipality.slug, period.since.isoformat(), period.until.isoformat())
    export = _exports(request, {table.slug: table}, name)
    if export is not None:
        return export
    totals = {
        key: _change(sum(getattr(r, key) for r in rows), sum(getattr(r, f"previous_{key}") for r in rows), comparable)
        for key in ("visits", "starts", "completions")
    }
    total_starts = totals["starts"]
    totals["conversion_rate"] = _change(
        round(totals["completions"]["current"] / total_starts["current"], 4) if total_starts["current"] else None,
        round(totals["completions"]["previous"] / total_starts["previous"], 4) if total_starts["previous"] else None,
        comparable,
    )
    for row in rows:
        values = [row.series.get(b, [0])[0] for b in bucket_starts]
        row.sparkline = charts.sparkline(  # type: ignore[attr-defined]
            values,
            _("Visits per %(unit)s: %(values)s")
            % {"unit": _unit(period.granularity), "values": ", ".join(map(str, values))},
        )
    headers = []
    for key, title, numeric in SORTABLE:
        active = key == sort_key
        next_sort = (key if descending else f"-{key}") if active else f"-{key}" if numeric else key
        headers.append(
            {
                "title": title,
                "numeric": numeric,
                "href": _query(request, sort=next_sort),
                "aria_sort": ("descending" if descending else "ascending") if active else None,
            }
        )
    context = {
        "municipality": municipality,
        "form": formcache.rendered(form),
        "period": period,
        "previous": period.previous(),
        "channel": channel,
        "rows": rows,
        "headers": headers,
        "table": table,
        "totals": totals,
        "drop_off": queries.biggest_drop_off(rows),
        "query": _query(request),
        "export_query": _query(request, table=table.slug),
        "dashboards_url": reverse("analytics_dashboards:dashboard_list", args=[municipality.slug]),
    }
    return render(request, "analytics_dashboards/overview.html", context)


def _unit(granularity: str) -> str:
    return {"week": _("week"), "month": _("month"), "quarter": _("quarter"), "year": _("year")}.get(
        granularity, _("day")
    )


def _monthly_figures(municipality: Municipality, service: Service, period: Period) -> list[dict[str, Any]]:
    """Processing time and media breaks of the service from the aggregated monthly figures (one query)."""
    try:
        from dikom.analytics.figures import service as figures
    except ImportError:  # pragma: no cover - the figures app is part of the platform; keep the page working without it
        return []
    values = figures.monthly_figures(
        municipality,
        service=service,
        months=(period.since, period.until),
        metrics=[figures.Metric.PROCESSING_TIME_DAYS, figures.Metric.MEDIA_BREAKS],
    )
    return [
        {
            "month": display_label(v.month, "month"),
            "metric": figures.Metric(v.metric).label,
            "value": v.value,
            "approximate": v.approximate,
        }
        for v in values
    ]


def _service_context(
    request: HttpRequest, municipality: Municipality, service: Service
) -> tuple[dict[str, Any], dict[str, Table]]:
    form, period, channel = _filters(request)
    previous = period.previous()
    rows = queries.rows_for(
        municipality.pk, Period(previous.since, period.until), service_id=service.pk, channel=channel
    )
    current_rows, previous_rows = queries.split(rows, period.since)
    summary = metrics.summarize(current_rows)
    before = metrics.summarize(previous_rows)
    points = queries.timeseries(municipality.pk, period, service_id=service.pk, channel=channel)
    tables = reports.summary_tables(summary, points, service.step_labels)
    comparable = not period.incomplete

    def compare(current: float | None, previous: float | None) -> dict[str, Any]:
        return _change(current, previous, comparable)

    kpis = [
        (_("Visits"), INT, compare(summary["visits"], before["visits"])),
        (_("Starts"), INT, compare(summary["starts"], before["starts"])),
        (_("Completions"), INT, compare(summary["completions"], before["completions"])),
        (_("Conversion rate"), PERCENT, compare(summary["conversion_rate"], before["conversion_rate"])),
        (_("Abandonment rate"), PERCENT, compare(summary["abandonment_rate"], before["abandonment_rate"])),
        (
            _("Average satisfaction"),
            DECIMAL,
            compare(summary["satisfaction"]["average"], before["satisfaction"]["average"]),
        ),
        (_("Feedbacks"), INT, compare(summary["feedback_count"], before["feedback_count"])),
        (_("Transmission errors"), INT, compare(summary["transmission_errors"], before["transmission_errors"])),
        (
            _("Median time to complete (minutes)"),
            DECIMAL,
            compare(
                _minutes(summary["completion_time"]["median_seconds"]),
                _minutes(before["completion_time"]["median_seconds"]),
            ),
        ),
        (
            _("Payment failure rate"),
            PERCENT,
            compare(summary["payment"]["failure_rate"], before["payment"]["failure_rate"]),
        ),
    ]
    kpi_table = Table(
        "kennzahlen",
        _("Key figures"),
        [
            Column(_("Key figure"), TEXT),
            Column(_("Period"), ROW),
            Column(_("Previous period"), ROW),
            Column(pgettext("per cent", "Change"), PERCENT),
        ],
        [[title, v["current"], v["previous"], v["change"]] for title, _kind, v in kpis],
        row_kinds=[kind for _title, kind, _v in kpis],
    )
    tables = {kpi_table.slug: kpi_table, **tables}
    labels = [p["label"] for p in points]
    charts_by_slug = {
        "zeitreihe": charts.line_chart(
            labels,
            [
                (_("Visits"), [p["visits"] for p in points]),
                (_("Starts"), [p["starts"] for p in points]),
                (_("Completions"), [p["completions"] for p in points]),
            ],
        ),
        "trichter": charts.bar_chart(
            [service.step_label(s["step_key"]) for s in summary["funnel"]], [s["viewed"] for s in summary["funnel"]]
        )
        if summary["funnel"]
        else None,
    }
    for slug_, column in (
        ("anmeldung", 2),
        ("bezahlung", 2),
        ("kanaele", 1),
        ("geraete", 1),
        ("zufriedenheit", 1),
        ("bearbeitungsdauer", 1),
    ):
        charts_by_slug[slug_] = reports.chart_for(tables[slug_], "bars", column)
    sections = [
        {"table": tables[s], "chart": charts_by_slug.get(s), "export_query": _query(request, table=s)}
        for s in (
            "zeitreihe",
            "trichter",
            "anmeldung",
            "bezahlung",
            "kanaele",
            "geraete",
            "zufriedenheit",
            "bearbeitungsdauer",
        )
    ]
    context = {
        "municipality": municipality,
        "service": service,
        "form": form,
        "period": period,
        "previous": previous,
        "channel": channel,
        "summary": summary,
        "kpis": kpis,
        "kpi_table": kpi_table,
        "kpi_export_query": _query(request, table=kpi_table.slug),
        "sections": sections,
        "monthly_figures": _monthly_figures(municipality, service, period),
        "query": _query(request),
        "title": service.name,
    }
    return context, tables


@login_required
def service_detail(request: HttpRequest, slug: str, service_uuid: Any) -> HttpResponse:
    municipality = access.get_analytics_municipality(request.user, slug)
    service = get_service(municipality, service_uuid)
    context, tables = _service_context(request, municipality, service)
    period = context["period"]
    name = filename("nutzung", municipality.slug, service.name, period.since.isoformat(), period.until.isoformat())
    if request.GET.get("export") == "pdf":
        sections = [{"table": context["kpi_table"], "chart": None}, *context["sections"]]
        return pdf_response(request, {**context, "sections": sections}, name)
    export = _exports(request, tables, name)
    if export is not None:
        return export
    return render(request, "analytics_dashboards/service_detail.html", context)


@login_required
def comments(request: HttpRequest, slug: str, service_uuid: Any) -> HttpResponse:
    """The scrubbed feedback comments of a service in the period, newest first, paginated.

    The one page that reads raw events: comments are free text and exist only
    there (never copied into rollups), so they also expire with the raw events.
    The query uses the (municipality, service, occurred_at) index and a LIMIT.
    """
    from dikom.analytics.rollups import day_bounds

    municipality = access.get_analytics_municipality(request.user, slug)
    service = get_service(municipality, service_uuid)
    form, period, _channel = _filters(request)
    start, _ = day_bounds(period.since)
    _start, end = day_bounds(period.until)
    events = (
        UsageEvent.objects.filter(
            municipality=municipality,
            service=service,
            occurred_at__gte=start,
            occurred_at__lt=end,
            type=EventType.FEEDBACK,
        )
        .exclude(comment="")
        .order_by("-occurred_at", "-pk")
        .only("occurred_at", "rating", "comment", "channel")
    )
    page = Paginator(events, COMMENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "municipality": municipality,
        "service": service,
        "form": form,
        "period": period,
        "page": page,
        "query": _query(request),
    }
    return render(request, "analytics_dashboards/comments.html", context)


# --- saved dashboards ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def dashboard_list(request: HttpRequest, slug: str) -> HttpResponse:
    municipality = access.get_analytics_municipality(request.user, slug)
    form = DashboardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        dashboard = actions.create_dashboard(municipality=municipality, owner=request.user, **form.cleaned_data)
        messages.success(request, _("Dashboard created. Add widgets to it."))
        return redirect("analytics_dashboards:dashboard_edit", slug=slug, dashboard_uuid=dashboard.uuid)
    dashboards = access.visible_dashboards(request.user, municipality).select_related("owner")
    return render(
        request,
        "analytics_dashboards/dashboard_list.html",
        {"municipality": municipality, "dashboards": dashboards, "form": form},
        status=400 if form.errors else 200,
    )


def _service_names(municipality: Municipality) -> dict[int | None, str]:
    names: dict[int | None, str] = dict(Service.objects.filter(municipality=municipality).values_list("pk", "name"))
    names[None] = _("Unassigned events")
    return names


@login_required
def dashboard_detail(request: HttpRequest, slug: str, dashboard_uuid: Any) -> HttpResponse:
    municipality = access.get_analytics_municipality(request.user, slug)
    dashboard = access.get_dashboard(request.user, municipality, dashboard_uuid)
    names = _service_names(municipality)
    rendered = [reports.render_widget(w, names) for w in dashboard.widgets.select_related("service")]
    tables = {}
    for index, item in enumerate(rendered, start=1):
        item.table.slug = f"widget-{index}"
        tables[item.table.slug] = item.table
    name = filename("dashboard", municipality.slug, dashboard.title)
    context = {
        "municipality": municipality,
        "dashboard": dashboard,
        "title": dashboard.title,
        "widgets": [{"item": item, "export_query": _query(request, table=item.table.slug)} for item in rendered],
        "can_edit": access.can_edit(request.user, dashboard),
    }
    if request.GET.get("export") == "pdf":
        sections = [{"table": item.table, "chart": item.chart, "period": item.period} for item in rendered]
        return pdf_response(request, {**context, "sections": sections, "period": None}, name)
    export = _exports(request, tables, name)
    if export is not None:
        return export
    return render(request, "analytics_dashboards/dashboard_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def dashboard_edit(request: HttpRequest, slug: str, dashboard_uuid: Any) -> HttpResponse:
    municipality = access.get_analytics_municipality(request.user, slug)
    dashboard = access.get_dashboard_for_edit(request.user, municipality, dashboard_uuid)
    form = DashboardForm(instance=dashboard)
    widget_form = WidgetForm(municipality=municipality)
    status = 200
    if request.method == "POST":
        if request.POST.get("part") == "widget":
            widget_form = WidgetForm(request.POST, municipality=municipality)
            if widget_form.is_valid():
                actions.add_widget(dashboard, actor=request.user, **widget_form.cleaned_data)
                messages.success(request, _("Widget added."))
                return redirect("analytics_dashboards:dashboard_edit", slug=slug, dashboard_uuid=dashboard.uuid)
        else:
            form = DashboardForm(request.POST, instance=copy(dashboard))
            if form.is_valid():
                actions.update_dashboard(dashboard, actor=request.user, **form.cleaned_data)
                messages.success(request, _("Dashboard saved."))
                return redirect("analytics_dashboards:dashboard_edit", slug=slug, dashboard_uuid=dashboard.uuid)
        status = 400
    context = {
        "municipality": municipality,
        "dashboard": dashboard,
        "form": form,
        "widget_form": widget_form,
        "widgets": list(dashboard.widgets.select_related("service")),
    }
    return render(request, "analytics_dashboards/dashboard_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def widget_edit(request: HttpRequest, slug: str, dashboard_uuid: Any, widget_id: int) -> HttpResponse:
    municipality = access.get_analytics_municipality(request.user, slug)
    dashboard = access.get_dashboard_for_edit(request.user, municipality, dashboard_uuid)
    widget = access.get_widget(dashboard, widget_id)
    # The form validates into a copy, so the action still sees the old values for the audit diff.
    form = WidgetForm(request.POST or None, instance=copy(widget), municipality=municipality)
    if request.method == "POST" and form.is_valid():
        actions.update_widget(widget, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Widget saved."))
        return redirect("analytics_dashboards:dashboard_edit", slug=slug, dashboard_uuid=dashboard.uuid)
    return render(
        request,
        "analytics_dashboards/widget_edit.html",
        {"municipality": municipality, "dashboard": dashboard, "widget": widget, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def widget_action(request: HttpRequest, slug: str, dashboard_uuid: Any, widget_id: int) -> HttpResponse:
    """Move a widget up or down, or delete it (buttons, no JavaScript)."""
    municipality = access.get_analytics_municipality(request.user, slug)
    dashboard = access.get_dashboard_for_edit(request.user, municipality, dashboard_uuid)
    widget = access.get_widget(dashboard, widget_id)
    operation = request.POST.get("operation")
    if operation in ("up", "down"):
        actions.move_widget(widget, actor=request.user, direction=operation)
    elif operation == "delete":
        actions.delete_widget(widget, actor=request.user)
        messages.success(request, _("Widget removed."))
    return redirect("analytics_dashboards:dashboard_edit", slug=slug, dashboard_uuid=dashboard.uuid)


@login_required
@require_POST
def dashboard_duplicate(request: HttpRequest, slug: str, dashboard_uuid: Any) -> HttpResponse:
    municipality = access.get_analytics_municipality(request.user, slug)
    dashboard = access.get_dashboard(request.user, municipality, dashboard_uuid)
    duplicate = actions.duplicate_dashboard(dashboard, actor=request.user)
    messages.success(request, _("Dashboard duplicated. The copy is private to you."))
    return redirect("analytics_dashboards:dashboard_edit", slug=slug, dashboard_uuid=duplicate.uuid)


@login_required
@require_POST
def dashboard_delete(request: HttpRequest, slug: str, dashboard_uuid: Any) -> HttpResponse:
    municipality = access.get_analytics_municipality(request.user, slug)
    dashboard = access.get_dashboard_for_edit(request.user, municipality, dashboard_uuid)
    actions.delete_dashboard(dashboard, actor=request.user)
    messages.success(request, _("Dashboard deleted."))
    return redirect("analytics_dashboards:dashboard_list", slug=slug)
