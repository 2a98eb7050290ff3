"""State changes of saved dashboards; each is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from dikom.analytics.dashboards.models import Dashboard, Widget
from dikom.audit.actions import record
from dikom.municipalities.models import Municipality

WIDGET_FIELDS = ("title", "metric", "service", "preset", "since", "until", "granularity", "breakdown", "chart")


def _diff(obj: Any, data: dict[str, Any]) -> dict[str, list[Any]]:
    changes = {}
    for name, value in data.items():
        old = getattr(obj, name)
        if old != value:
            changes[name] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(obj, name, value)
    return changes


@transaction.atomic
def create_dashboard(
    *, municipality: Municipality, owner: Any, title: str, description: str = "", shared: bool = False
) -> Dashboard:
    dashboard = Dashboard.objects.create(
        municipality=municipality, owner=owner, title=title, description=description, shared=shared
    )
    record(
        "analytics.dashboard.create",
        actor=owner,
        municipality=municipality,
        obj=dashboard,
        changes={"title": title, "shared": shared},
    )
    return dashboard


@transaction.atomic
def update_dashboard(dashboard: Dashboard, *, actor: Any, **data: Any) -> Dashboard:
    changes = _diff(dashboard, data)
    if changes:
        dashboard.save()
        action = "analytics.dashboard.share" if list(changes) == ["shared"] else "analytics.dashboard.update"
        record(action, actor=actor, municipality=dashboard.municipality_id, obj=dashboard, changes=changes)
    return dashboard


@transaction.atomic
def duplicate_dashboard(dashboard: Dashboard, *, actor: Any) -> Dashboard:
    """A private copy for ``actor`` (also of a colleague's shared dashboard)."""
    copy = Dashboard.objects.create(
        municipality_id=dashboard.municipality_id,
        owner=actor,
        title=_("Copy of %(title)s") % {"title": dashboard.title},
        description=dashboard.description,
        shared=False,
    )
    Widget.objects.bulk_create(
        [
            Widget(dashboard=copy, position=w.position, **{f: getattr(w, f) for f in WIDGET_FIELDS})
            for w in dashboard.widgets.all()
        ]
    )
    record(
        "analytics.dashboard.duplicate",
        actor=actor,
        municipality=dashboard.municipality_id,
        obj=copy,
        changes={"source": str(dashboard.uuid)},
    )
    return copy


@transaction.atomic
def delete_dashboard(dashboard: Dashboard, *, actor: Any) -> None:
    record(
        "analytics.dashboard.delete",
        actor=actor,
        municipality=dashboard.municipality_id,
        obj=dashboard,
        changes={"title": dashboard.title},
    )
    dashboard.delete()


@transaction.atomic
def add_widget(dashboard: Dashboard, *, actor: Any, **data: Any) -> Widget:
    position = (dashboard.widgets.aggregate(top=Max("position"))["top"] or 0) + 1
    widget = Widget.objects.create(dashboard=dashboard, position=position, **data)
    dashboard.save(update_fields=["updated_at"])
    record(
        "analytics.widget.create",
        actor=actor,
        municipality=dashboard.municipality_id,
        obj=widget,
        changes={k: str(v) for k, v in data.items() if v not in (None, "")},
    )
    return widget


@transaction.atomic
def update_widget(widget: Widget, *, actor: Any, **data: Any) -> Widget:
    changes = _diff(widget, data)
    if changes:
        widget.save()
        record(
            "analytics.widget.update",
            actor=actor,
            municipality=widget.dashboard.municipality_id,
            obj=widget,
            changes=changes,
        )
    return widget


@transaction.atomic
def move_widget(widget: Widget, *, actor: Any, direction: str) -> None:
    """Swap the widget with its neighbour above (``up``) or below (``down``)."""
    siblings = list(
        Widget.objects.select_for_update().filter(dashboard_id=widget.dashboard_id).order_by("position", "pk")
    )
    index = next(i for i, w in enumerate(siblings) if w.pk == widget.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, item in enumerate(siblings, start=1):
        if item.position != position:
            item.position = position
            item.save(update_fields=["position"])
    record(
        "analytics.widget.move",
        actor=actor,
        municipality=widget.dashboard.municipality_id,
        obj=widget,
        changes={"direction": direction, "position": index + 1 if other < 0 else other + 1},
    )


@transaction.atomic
def delete_widget(widget: Widget, *, actor: Any) -> None:
    record(
        "analytics.widget.delete",
        actor=actor,
        municipality=widget.dashboard.municipality_id,
        obj=widget,
        changes={"metric": widget.metric},
    )
    widget.delete()
