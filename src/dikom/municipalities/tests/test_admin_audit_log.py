"""The audit log page of a municipality and its CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from dikom.audit import actions as audit
from dikom.audit.models import AuditEvent
from dikom.lib.testing import english_client

URL = "/verwaltung/fulda/protokoll/"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def client() -> Client:
    return english_client()


@pytest.fixture
def admin_client(client: Client, login: Any, owner: Any) -> Client:
    return login(client, owner)


def test_giessen_never_sees_fulda_events(
    client: Client, login: Any, owner: Any, outsider: Any, city_a: Any, city_b: Any
) -> None:
    # Given actions in Fulda made through the administration
    login(client, owner)
    client.post("/verwaltung/fulda/organisation/", {"name": "Fuldaer Amt", "kind": "amt"})
    client.post("/verwaltung/fulda/api-schluessel/neu/", {"name": "Fuldaer Schlüssel", "scopes": ["audit:read"]})
    audit.record("orgunit.create", actor=outsider, municipality=city_b, changes={"name": [None, "Gießener Amt"]})
    assert AuditEvent.objects.filter(municipality=city_a).count() == 2
    # When Gießen's admin reads Gießen's log, then only Gießen's event is there
    login(client, outsider)
    response = client.get("/verwaltung/giessen/protokoll/")
    assert [e.action for e in response.context["page"]] == ["orgunit.create"]
    html = response.content.decode()
    assert "Gießener Amt" in html
    assert "Fuldaer" not in html
    csv_body = b"".join(client.get("/verwaltung/giessen/protokoll/?format=csv").streaming_content).decode()
    assert "Fuldaer" not in csv_body and "Gießener Amt" in csv_body
    # And Fulda's admin sees Fulda's events, newest first, with the changes
    login(client, owner)
    response = client.get(URL)
    assert [e.action for e in response.context["page"]] == ["api_key.create", "orgunit.create"]
    assert "<dt><code>name</code></dt><dd>\N{EN DASH} → Fuldaer Amt</dd>" in response.content.decode()


def record_at(monkeypatch: pytest.MonkeyPatch, moment: datetime, action: str, **kwargs: Any) -> None:
    """Record an event as if it happened at ``moment``."""
    with monkeypatch.context() as patch:
        patch.setattr(audit, "timezone", SimpleNamespace(now=lambda: moment))
        audit.record(action, **kwargs)


def test_filter_by_action_prefix_and_dates_in_local_time(
    admin_client: Client, owner: Any, city_a: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 23:30 in Berlin on 1 March is 22:30 UTC: the event belongs to 1 March locally.
    record_at(
        monkeypatch, datetime(2026, 3, 1, 23, 30, tzinfo=BERLIN), "orgunit.create", actor=owner, municipality=city_a
    )
    record_at(
        monkeypatch, datetime(2026, 3, 2, 0, 30, tzinfo=BERLIN), "api_key.create", actor=owner, municipality=city_a
    )
    record_at(
        monkeypatch, datetime(2026, 3, 2, 0, 31, tzinfo=BERLIN), "orgunit.delete", actor=owner, municipality=city_a
    )

    def actions(query: str) -> list[str]:
        response = admin_client.get(f"{URL}?{query}")
        assert response.status_code == 200
        return [e.action for e in response.context["page"]]

    assert actions("action=orgunit") == ["orgunit.delete", "orgunit.create"]
    assert actions("date_from=2026-03-01&date_to=2026-03-01") == ["orgunit.create"]
    assert actions("date_from=2026-03-02") == ["orgunit.delete", "api_key.create"]
    assert actions("action=orgunit&date_from=2026-03-02&date_to=2026-03-02") == ["orgunit.delete"]
    page = admin_client.get(URL).content.decode()
    assert "01.03.2026 23:30:00" in page  # shown in local time


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=gestern", "date_from"),
        ("date_from=2026-02-30", "date_from"),
        ("date_from=2026-03-05&date_to=2026-03-01", "date_to"),
        ("action=%27%3B+DROP+TABLE", "action"),
    ],
)
def test_bad_filter_gives_form_error_not_500(admin_client: Client, query: str, field: str) -> None:
    response = admin_client.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["page"] is None
    assert admin_client.get(f"{URL}?{query}&format=csv").status_code == 400


def test_paginated_50_per_page_with_bounded_queries(
    admin_client: Client, owner: Any, city_a: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(120):
        audit.record("orgunit.update", actor=owner, municipality=city_a, changes={"name": [f"A{n}", f"B{n}"]})
    with django_assert_max_num_queries(10):
        response = admin_client.get(URL)
    page = response.context["page"]
    assert len(page.object_list) == 50
    assert page.paginator.num_pages == 3
    assert page.object_list[0].changes == {"name": ["A119", "B119"]}
    last = admin_client.get(f"{URL}?action=orgunit&page=3")
    assert len(last.context["page"].object_list) == 20
    assert admin_client.get(f"{URL}?page=abc").status_code == 200  # a bad page number shows page 1


def test_csv_export_streams_filtered_events(admin_client: Client, owner: Any, city_a: Any) -> None:
    audit.record("orgunit.create", actor=owner, municipality=city_a, changes={"name": [None, "=HYPERLINK(1)"]})
    audit.record("api_key.create", actor=owner, municipality=city_a)
    response = admin_client.get(f"{URL}?action=orgunit&format=csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["time", "actor", "action"]
    assert len(rows) == 2
    assert rows[1][1:3] == ["owner", "orgunit.create"]
    assert "=HYPERLINK" in rows[1][7] and not rows[1][7].startswith("=")


def test_the_export_link_on_the_page_leads_to_the_csv(admin_client: Client, owner: Any, city_a: Any) -> None:
    # Given an event in Fulda's log, filtered by action
    audit.record("orgunit.create", actor=owner, municipality=city_a, changes={"name": [None, "Fuldaer Amt"]})
    page = admin_client.get(f"{URL}?action=orgunit").content.decode()
    # When the admin follows the page's export link as a browser resolves it against the page's address
    link = re.search(r'<a href="([^"]*format=csv[^"]*)"', page)
    assert link is not None
    href = html.unescape(link.group(1))
    assert not href.startswith("??")
    response = admin_client.get(urljoin(f"http://testserver{URL}?action=orgunit", href))
    # Then the answer is the CSV of the filtered list, not the page again
    assert response["Content-Type"].startswith("text/csv")
    assert "Fuldaer Amt" in b"".join(response.streaming_content).decode()
