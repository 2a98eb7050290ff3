"""Self-service dashboards: compose, reorder, share, duplicate, delete; who may see and change them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.analytics.dashboards.models import Dashboard, Widget
from dikom.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

BASE = "/analytics/fulda/dashboards/"


def _create(client: Any, title: str = "Parken", shared: bool = False) -> Dashboard:
    data = {"title": title, "description": "Monatsbericht"}
    if shared:
        data["shared"] = "on"
    response = client.post(BASE, data)
    assert response.status_code == 302, response.content
    return Dashboard.objects.get(title=title)


def _add_widget(client: Any, dashboard: Dashboard, **fields: Any) -> Any:
    data = {
        "part": "widget",
        "metric": "visits",
        "preset": "last_30",
        "granularity": "day",
        "breakdown": "none",
        "chart": "table",
    }
    data.update(fields)
    return client.post(f"{BASE}{dashboard.uuid}/bearbeiten/", data)


def test_compose_reorder_and_render_from_rollups(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    dashboard = _create(client)
    assert (
        _add_widget(client, dashboard, title="Besuche je Dienst", breakdown="service", chart="bars").status_code == 302
    )
    assert (
        _add_widget(
            client, dashboard, title="Trichter", metric="funnel", breakdown="step", service=example["parking"].pk
        ).status_code
        == 302
    )
    # A funnel cannot be broken down by channel: the form says so.
    bad = _add_widget(client, dashboard, metric="funnel", breakdown="channel")
    assert bad.status_code == 400
    first, second = Widget.objects.filter(dashboard=dashboard).order_by("position")
    assert [first.title, second.title] == ["Besuche je Dienst", "Trichter"]
    client.post(f"{BASE}{dashboard.uuid}/widgets/{second.pk}/aktion/", {"operation": "up"})
    assert list(Widget.objects.filter(dashboard=dashboard).order_by("position").values_list("title", flat=True)) == [
        "Trichter",
        "Besuche je Dienst",
    ]
    html = client.get(f"{BASE}{dashboard.uuid}/").content.decode()
    assert "<svg" in html and "Bewohnerparkausweis" in html
    # The widget's CSV has the visits per service of the last 30 days (parking 5 + previous 2, dogs 1).
    rows = list(
        csv.reader(io.StringIO(client.get(f"{BASE}{dashboard.uuid}/?export=csv&table=widget-2").content.decode()))
    )
    assert ["Bewohnerparkausweis", "7"] in rows and ["Hundesteuer", "1"] in rows
    assert not any("Gießen" in r[0] for r in rows)
    assert AuditEvent.objects.filter(action="analytics.widget.move").exists()


def test_pdf_of_a_dashboard(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    dashboard = _create(client, title="Quartalsbericht")
    _add_widget(client, dashboard, metric="conversion_rate", granularity="week", chart="line")
    response = client.get(f"{BASE}{dashboard.uuid}/?export=pdf")
    if response.status_code == 503:
        pytest.skip("WeasyPrint's system libraries are missing on this machine")
    assert response.content.startswith(b"%PDF")
    from dikom.analytics.dashboards.tests.test_exports import _pdf_has_title

    assert _pdf_has_title(response.content, "Quartalsbericht")


def test_sharing_rules(
    client: Any, login: Any, analyst: Any, owner: Any, colleague: Any, outsider: Any, example: Any
) -> None:
    login(client, analyst)
    private = _create(client, title="Privat")
    shared = _create(client, title="Geteilt", shared=True)
    client.logout()

    # The city's administrator sees the shared one read-only, not the private one.
    login(client, owner)
    listing = client.get(BASE).content.decode()
    assert "Geteilt" in listing and "Privat" not in listing
    assert client.get(f"{BASE}{shared.uuid}/").status_code == 200
    assert client.get(f"{BASE}{private.uuid}/").status_code == 404
    assert client.get(f"{BASE}{shared.uuid}/bearbeiten/").status_code == 403
    assert client.post(f"{BASE}{shared.uuid}/loeschen/").status_code == 403
    # ... but may copy it for themselves.
    response = client.post(f"{BASE}{shared.uuid}/kopieren/")
    copy = Dashboard.objects.get(owner=owner)
    assert response.status_code == 302 and not copy.shared and copy.title.endswith("Geteilt")
    client.logout()

    # A caseworker of the city has no analytics role; another city's admin does not find it.
    login(client, colleague)
    assert client.get(f"{BASE}{shared.uuid}/").status_code == 403
    client.logout()
    login(client, outsider)
    assert client.get(f"/analytics/giessen/dashboards/{shared.uuid}/").status_code == 404


def test_owner_edits_shares_and_deletes(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    dashboard = _create(client)
    response = client.post(
        f"{BASE}{dashboard.uuid}/bearbeiten/", {"part": "dashboard", "title": "Parken 2025", "shared": "on"}
    )
    assert response.status_code == 302
    dashboard.refresh_from_db()
    assert dashboard.title == "Parken 2025" and dashboard.shared
    event = AuditEvent.objects.filter(action="analytics.dashboard.update").get()
    assert event.changes["title"] == ["Parken", "Parken 2025"]
    _add_widget(client, dashboard)
    widget = dashboard.widgets.get()
    assert (
        client.post(
            f"{BASE}{dashboard.uuid}/widgets/{widget.pk}/",
            {
                "metric": "starts",
                "preset": "custom",
                "since": "2025-01-01",
                "until": "2025-03-31",
                "granularity": "month",
                "breakdown": "none",
                "chart": "line",
            },
        ).status_code
        == 302
    )
    widget.refresh_from_db()
    assert widget.metric == "starts" and widget.granularity == "month"
    assert client.post(f"{BASE}{dashboard.uuid}/loeschen/").status_code == 302
    assert not Dashboard.objects.filter(pk=dashboard.pk).exists()
    assert AuditEvent.objects.filter(action="analytics.dashboard.delete").exists()


def test_second_analyst_cannot_use_another_citys_service(client: Any, login: Any, analyst: Any, example: Any) -> None:
    login(client, analyst)
    dashboard = _create(client)
    response = _add_widget(client, dashboard, service=example["other"].pk)
    assert response.status_code == 400
    assert not dashboard.widgets.exists()


def test_dashboard_page_queries_are_bounded(
    client: Any, login: Any, analyst: Any, example: Any, django_assert_max_num_queries: Any
) -> None:
    login(client, analyst)
    dashboard = _create(client)
    for metric in ("visits", "conversion_rate", "satisfaction_avg"):
        _add_widget(client, dashboard, metric=metric)
    client.get(f"{BASE}{dashboard.uuid}/")
    # Session, user, roles, city, dashboard, service names, widgets + one rollup query per widget.
    with django_assert_max_num_queries(14):
        client.get(f"{BASE}{dashboard.uuid}/")


def test_a_second_analyst_of_the_city_reads_shared(
    client: Any, login: Any, analyst: Any, city_a: Any, example: Any
) -> None:
    login(client, analyst)
    shared = _create(client, title="Geteilt", shared=True)
    client.logout()
    other = MembershipFactory(user__username="analyst2", municipality=city_a, role=Role.ANALYST).user
    login(client, other)
    html = client.get(f"{BASE}{shared.uuid}/").content.decode()
    assert "Geteilt" in html and "/bearbeiten/" not in html
