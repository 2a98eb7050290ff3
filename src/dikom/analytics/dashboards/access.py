"""Who may see the dashboards of a city and change a saved dashboard."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404

from dikom.accounts.access import get_municipality_for_role, has_role, staff_municipalities
from dikom.analytics.access import READ_ROLES
from dikom.analytics.dashboards.models import Dashboard, Widget
from dikom.municipalities.models import Municipality


def analytics_municipalities(user: Any) -> list[Municipality]:
    """Cities whose analytics ``user`` may read (all for platform admins)."""
    return [m for m in staff_municipalities(user).order_by("name") if has_role(user, m, READ_ROLES)]


def get_analytics_municipality(user: Any, slug: str) -> Municipality:
    """City ``slug`` if ``user`` may read its analytics: 404 for an unknown city, 403 without the role."""
    return get_municipality_for_role(user, slug, READ_ROLES)


def visible_dashboards(user: Any, municipality: Municipality) -> Any:
    """The user's own dashboards of the city and the ones colleagues shared."""
    return Dashboard.objects.filter(municipality=municipality).filter(Q(owner=user) | Q(shared=True))


def get_dashboard(user: Any, municipality: Municipality, dashboard_uuid: Any) -> Dashboard:
    """A dashboard the user may view; another city's or someone else's private one is a 404."""
    try:
        return visible_dashboards(user, municipality).select_related("owner").get(uuid=dashboard_uuid)
    except (Dashboard.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc


def can_edit(user: Any, dashboard: Dashboard) -> bool:
    return bool(getattr(user, "pk", None)) and dashboard.owner_id == user.pk


def get_dashboard_for_edit(user: Any, municipality: Municipality, dashboard_uuid: Any) -> Dashboard:
    """A dashboard the user owns; a colleague's shared one is 403 (read-only), others 404."""
    dashboard = get_dashboard(user, municipality, dashboard_uuid)
    if not can_edit(user, dashboard):
        raise PermissionDenied
    return dashboard


def get_widget(dashboard: Dashboard, widget_id: Any) -> Widget:
    try:
        return dashboard.widgets.get(pk=int(widget_id))
    except (Widget.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
