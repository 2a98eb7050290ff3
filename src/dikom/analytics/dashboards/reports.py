"""Tables (and their charts) built from rollup figures: used by the service detail page and the widgets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from dikom.analytics import metrics
from dikom.analytics.dashboards import charts, queries
from dikom.analytics.dashboards.models import Breakdown, ChartKind, Metric, Widget
from dikom.analytics.dashboards.periods import Period, bucket_start, buckets, display_label, preset_range
from dikom.analytics.dashboards.tables import DECIMAL, INT, PERCENT, SECONDS, TEXT, Column, Table
from dikom.analytics.models import AuthMethod, Channel, DeviceClass, PaymentMethod, resolve_step_label

LABELS: dict[str, str] = {}


def label(key: str) -> str:
    """People's name of a method, channel or device class key."""
    for choices in (AuthMethod, PaymentMethod, Channel, DeviceClass):
        if key in choices.values:
            return str(choices(key).label)
    if key == "unknown":
        return _("Unknown")
    return key


# --- tables of a summary (see metrics.summarize) -------------------------------------------------


def timeseries_table(points: list[dict[str, Any]]) -> Table:
    return Table(
        "zeitreihe",
        _("Visits, starts and completions over time"),
        [Column(_("Period"), TEXT), Column(_("Visits")), Column(_("Starts")), Column(_("Completions"))],
        [[p["label"], p["visits"], p["starts"], p["completions"]] for p in points],
    )


def funnel_table(summary: dict[str, Any], step_labels: dict[str, Any] | None = None) -> Table:
    """The funnel, each step by its label (from the service registry) rather than its technical key."""
    return Table(
        "trichter",
        _("Funnel with drop-off per step"),
        [
            Column(_("Step"), TEXT),
            Column(_("Position")),
            Column(_("Viewed")),
            Column(_("Completed")),
            Column(_("Drop-off")),
            Column(_("Drop-off rate"), PERCENT),
        ],
        [
            [
                resolve_step_label(step_labels or {}, s["step_key"]),
                s["position"],
                s["viewed"],
                s["completed"],
                s["drop_off"],
                s["drop_off_rate"],
            ]
            for s in summary["funnel"]
        ],
    )


def auth_table(summary: dict[str, Any]) -> Table:
    return Table(
        "anmeldung",
        _("Authentication methods"),
        [Column(_("Method"), TEXT), Column(_("Chosen")), Column(_("Completed")), Column(_("Share"), PERCENT)],
        [[label(m["key"]), m["chosen"], m["count"], m["share"]] for m in summary["authentication"]],
    )


def payment_table(summary: dict[str, Any]) -> Table:
    return Table(
        "bezahlung",
        _("Payment methods"),
        [
            Column(_("Method"), TEXT),
            Column(_("Chosen")),
            Column(_("Completed")),
            Column(_("Failed")),
            Column(_("Share"), PERCENT),
            Column(_("Failure rate"), PERCENT),
        ],
        [
            [label(m["key"]), m["chosen"], m["count"], m["failed"], m["share"], m["failure_rate"]]
            for m in summary["payment"]["methods"]
        ],
    )


def shares_table(slug: str, title: str, first: str, shares: list[dict[str, Any]]) -> Table:
    return Table(
        slug,
        title,
        [Column(first, TEXT), Column(_("Visits")), Column(_("Share"), PERCENT)],
        [[label(s["key"]), s["count"], s["share"]] for s in shares],
    )


def satisfaction_table(summary: dict[str, Any]) -> Table:
    distribution = summary["satisfaction"]["distribution"]
    total = sum(distribution.values())
    return Table(
        "zufriedenheit",
        _("Satisfaction (ratings 1 to 5)"),
        [Column(_("Rating"), TEXT), Column(_("Ratings")), Column(_("Share"), PERCENT)],
        [[rating, count, count / total if total else None] for rating, count in distribution.items()],
    )


def completion_table(summary: dict[str, Any]) -> Table:
    rows = []
    for bucket in summary["completion_time"]["histogram"]:
        # The bounds are whole minutes (60, 180, … 3600 s): people read durations in minutes.
        lower, upper = bucket["from_seconds"] // 60, (bucket["to_seconds"] or 0) // 60
        span = (
            _("%(a)s to under %(b)s min") % {"a": lower, "b": upper} if upper else _("%(a)s min or more") % {"a": lower}
        )
        rows.append([span, bucket["count"]])
    return Table("bearbeitungsdauer", _("Time to complete"), [Column(_("Duration"), TEXT), Column(_("Visits"))], rows)


def summary_tables(
    summary: dict[str, Any], points: list[dict[str, Any]], step_labels: dict[str, Any] | None = None
) -> dict[str, Table]:
    tables = [
        timeseries_table(points),
        funnel_table(summary, step_labels),
        auth_table(summary),
        payment_table(summary),
        shares_table("kanaele", _("Channels"), _("Channel"), summary["channels"]),
        shares_table("geraete", _("Devices"), _("Device class"), summary["devices"]),
        satisfaction_table(summary),
        completion_table(summary),
    ]
    return {t.slug: t for t in tables}


# --- widgets -------------------------------------------------------------------------------------

SCALARS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    Metric.VISITS: (INT, lambda s: s["visits"]),
    Metric.STARTS: (INT, lambda s: s["starts"]),
    Metric.COMPLETIONS: (INT, lambda s: s["completions"]),
    Metric.CONVERSION_RATE: (PERCENT, lambda s: s["conversion_rate"]),
    Metric.ABANDONMENT_RATE: (PERCENT, lambda s: s["abandonment_rate"]),
    Metric.SATISFACTION_AVG: (DECIMAL, lambda s: s["satisfaction"]["average"]),
    Metric.FEEDBACK_COUNT: (INT, lambda s: s["feedback_count"]),
    Metric.TRANSMISSION_ERRORS: (INT, lambda s: s["transmission_errors"]),
    Metric.COMPLETION_MEDIAN: (SECONDS, lambda s: s["completion_time"]["median_seconds"]),
}
ALLOWED_BREAKDOWNS: dict[str, set[str]] = {
    **{metric: {Breakdown.NONE, Breakdown.CHANNEL, Breakdown.SERVICE} for metric in SCALARS},
    Metric.FUNNEL: {Breakdown.STEP},
    Metric.AUTH_MIX: {Breakdown.METHOD},
    Metric.PAYMENT_MIX: {Breakdown.METHOD},
    Metric.CHANNEL_MIX: {Breakdown.CHANNEL},
    Metric.DEVICE_MIX: {Breakdown.METHOD},
}


def widget_period(widget: Widget, reference: date | None = None) -> Period:
    if widget.preset == "custom" and widget.since and widget.until:
        return Period(widget.since, widget.until, widget.granularity, "custom")
    since, until = preset_range(widget.preset, reference)
    return Period(since, until, widget.granularity, widget.preset)


@dataclass
class RenderedWidget:
    widget: Widget
    period: Period
    table: Table
    chart: SafeString | None


def widget_table(widget: Widget, period: Period, service_names: dict[int | None, str]) -> Table:
    """The widget's numbers: one query on the rollups."""
    rows = queries.rows_for(widget.dashboard.municipality_id, period, service_id=widget.service_id)
    metric = widget.metric
    title = str(widget)
    if metric in SCALARS:
        kind, value_of = SCALARS[metric]
        groups: dict[Any, list[dict[str, Any]]] = {}
        if widget.breakdown == Breakdown.CHANNEL:
            first = _("Channel")
            for row in rows:
                groups.setdefault(row["channel"], []).append(row)
            labels = {key: label(key) for key in groups}
        elif widget.breakdown == Breakdown.SERVICE:
            first = _("Service")
            for row in rows:
                groups.setdefault(row["service_id"], []).append(row)
            labels = {key: service_names.get(key, "") for key in groups}
        else:
            first = _("Period")
            groups = {start: [] for start in buckets(period)}
            for row in rows:
                groups[bucket_start(row["day"], period.granularity)].append(row)
            labels = {start: display_label(start, period.granularity) for start in groups}
        table_rows = [[labels[key], value_of(metrics.summarize(items))] for key, items in groups.items()]
        if widget.breakdown != Breakdown.NONE:
            table_rows.sort(key=lambda r: str(r[0]).casefold())
        return Table("widget", title, [Column(first, TEXT), Column(str(Metric(metric).label), kind)], table_rows)
    summary = metrics.summarize(rows)
    if metric == Metric.FUNNEL:
        table = funnel_table(summary, widget.service.step_labels if widget.service else None)
    elif metric == Metric.AUTH_MIX:
        table = auth_table(summary)
    elif metric == Metric.PAYMENT_MIX:
        table = payment_table(summary)
    elif metric == Metric.CHANNEL_MIX:
        table = shares_table("kanaele", _("Channels"), _("Channel"), summary["channels"])
    else:
        table = shares_table("geraete", _("Devices"), _("Device class"), summary["devices"])
    table.slug, table.title = "widget", title
    return table


# Which column a chart of a table draws: the main count.
CHART_COLUMN: dict[str, int] = {Metric.FUNNEL: 2, Metric.AUTH_MIX: 2, Metric.PAYMENT_MIX: 2}


def chart_for(table: Table, kind: str, column: int = 1) -> SafeString | None:
    if kind == ChartKind.TABLE or not table.rows:
        return None
    labels = [str(row[0]) for row in table.rows]
    values = [float(row[column] or 0) for row in table.rows]
    if kind == ChartKind.LINE:
        return charts.line_chart(labels, [(table.columns[column].title, values)])
    return charts.bar_chart(labels, values)


def render_widget(
    widget: Widget, service_names: dict[int | None, str], reference: date | None = None
) -> RenderedWidget:
    period = widget_period(widget, reference)
    table = widget_table(widget, period, service_names)
    chart = chart_for(table, widget.chart, CHART_COLUMN.get(widget.metric, 1))
    return RenderedWidget(widget, period, table, chart)
