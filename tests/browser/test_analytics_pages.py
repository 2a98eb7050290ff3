"""The usage-analytics pages as an analyst of Fulda sees them: axe-core and what must be on them.

Test data (city A, Fulda), ingested through ``record_usage_events`` and rolled up:

- "Bewohnerparkausweis" (key ``parken``, LeiKa 99106001010000), 3 days ago: visits v1…v6 start;
  funnel antrag (1) viewed by v1…v5, daten (2) by v1…v4, zahlung (3) by v1…v3; v4 aborts at
  "daten"; v1 and v2 sign in with BundID and pay by credit card and submit; v3 chooses ELSTER
  and its PayPal payment fails. 2 days ago: v7 starts, submits and rates 5 with a comment;
  v8 starts and rates 3. Last 7 days: 8 visits, 8 starts, 3 completions (37.5 %), average 4.0.
- "Hundesteuer" (key ``hunde``), 3 days ago: w1 starts and submits (1 visit).
- the 15th of the month before last: six visits of the parking service start and submit
  (a complete past month for the open data index, outside the last 7 days).

City totals over the last 7 days: 9 visits, 4 completions.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import LazySettings
from django.utils import timezone

from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.analytics.actions import rebuild_range
from dikom.analytics.collect.actions import create_site
from dikom.analytics.dashboards.models import Dashboard
from dikom.analytics.models import Service
from dikom.analytics.service import record_usage_events
from dikom.analytics.sharing.actions import enable_share
from dikom.municipalities.models import Municipality
from tests.browser.support import assert_accessible, assert_no_csp_violations, log_in

pytestmark = pytest.mark.browser

BERLIN = ZoneInfo("Europe/Berlin")
LEIKA = "99106001010000"


def _today() -> date:
    return timezone.now().astimezone(BERLIN).date()


def _at(day: date, minutes: float = 0) -> str:
    return (datetime.combine(day, time(10, 0), tzinfo=BERLIN) + timedelta(minutes=minutes)).isoformat()


def _ev(type_: str, service: str, day: date, minutes: float, visit: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "service": service, "occurred_at": _at(day, minutes), "visit_id": visit, **fields}


def _month_before_last() -> date:
    first_of_this_month = _today().replace(day=1)
    first_of_last_month = (first_of_this_month - timedelta(days=1)).replace(day=1)
    return (first_of_last_month - timedelta(days=1)).replace(day=15)


@pytest.fixture
def analyst(city_a: Municipality) -> User:
    return MembershipFactory(user__username="analystin", municipality=city_a, role=Role.ANALYST).user


@pytest.fixture
def usage(city_a: Municipality, owner: User) -> dict[str, Any]:
    """Services, events and rollups of Fulda (see the module docstring)."""
    parking = Service.objects.create(
        municipality=city_a, name="Bewohnerparkausweis", external_key="parken", leika_key=LEIKA
    )
    dogs = Service.objects.create(municipality=city_a, name="Hundesteuer", external_key="hunde")
    d1, d2, old = _today() - timedelta(days=3), _today() - timedelta(days=2), _month_before_last()
    devices = ["desktop", "mobile", "mobile", "tablet", "desktop", "mobile"]
    events: list[dict[str, Any]] = []
    for number, device in enumerate(devices, start=1):
        events.append(_ev("service_started", "parken", d1, 0, f"v{number}", device_class=device))
    for position, (step, viewers) in enumerate([("antrag", 5), ("daten", 4), ("zahlung", 3)], start=1):
        for number in range(1, viewers + 1):
            events.append(
                _ev("step_viewed", "parken", d1, position, f"v{number}", step_key=step, step_position=position)
            )
    events.append(_ev("aborted", "parken", d1, 2.5, "v4", step_key="daten", step_position=2))
    for visit in ("v1", "v2"):
        events += [
            _ev("auth_chosen", "parken", d1, 0.5, visit, auth_method="bundid"),
            _ev("auth_completed", "parken", d1, 0.6, visit, auth_method="bundid"),
            _ev("step_completed", "parken", d1, 3.5, visit, step_key="zahlung", step_position=3),
            _ev("payment_chosen", "parken", d1, 3.2, visit, payment_method="creditcard"),
            _ev("payment_completed", "parken", d1, 3.4, visit, payment_method="creditcard"),
            _ev("submitted", "parken", d1, 4, visit),
        ]
    events += [
        _ev("auth_chosen", "parken", d1, 0.5, "v3", auth_method="elster"),
        _ev("payment_chosen", "parken", d1, 3.2, "v3", payment_method="paypal"),
        _ev("payment_failed", "parken", d1, 3.4, "v3", payment_method="paypal"),
        _ev("service_started", "parken", d2, 0, "v7", device_class="desktop"),
        _ev("submitted", "parken", d2, 6, "v7"),
        _ev("feedback", "parken", d2, 7, "v7", rating=5, comment="Ging schnell, danke!"),
        _ev("service_started", "parken", d2, 0, "v8", device_class="mobile"),
        _ev("feedback", "parken", d2, 2, "v8", rating=3),
        _ev("service_started", "hunde", d1, 0, "w1", device_class="desktop"),
        _ev("submitted", "hunde", d1, 5, "w1"),
    ]
    for number in range(1, 7):
        events += [
            _ev("service_started", "parken", old, 0, f"o{number}"),
            _ev("submitted", "parken", old, 5, f"o{number}"),
        ]
    result = record_usage_events(city_a, events)
    assert not result.rejected, result.rejected
    assert result.accepted == len(events)
    assert rebuild_range(municipality=city_a) == 3
    enable_share(service=parking, actor=owner)
    return {"parking": parking, "dogs": dogs, "old_month": old.strftime("%Y-%m")}


@pytest.fixture
def analyst_page(page: Any, browser_settings: LazySettings, analyst: User, password: str, usage: Any) -> Any:
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # the 2FA journey is tested elsewhere
    log_in(page, analyst.username, password)
    assert page.url.endswith("/start/"), f"landed on {page.url}"
    return page


def _open(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"


def _check(page: Any) -> None:
    assert_accessible(page)
    assert_no_csp_violations(page)


def _service_names(page: Any) -> list[str]:
    return [
        name.strip() for name in page.locator("table[aria-labelledby='services-heading'] tbody th").all_inner_texts()
    ]


def test_overview_service_detail_and_comments(analyst_page: Any, usage: dict[str, Any]) -> None:
    page = analyst_page
    parking: Service = usage["parking"]

    _open(page, "/analytics/fulda/?period=last_7")
    assert page.locator("h1").inner_text() == "Nutzungsanalyse Fulda"
    kpis = page.locator("ul.kpis")
    assert kpis.locator("li.kpi").first.locator(".kpi__value").inner_text() == "9", "visits of the last 7 days"
    assert kpis.locator("li.kpi").nth(2).locator(".kpi__value").inner_text() == "4", "completions"
    assert set(_service_names(page)) == {"Bewohnerparkausweis", "Hundesteuer"}
    parking_row = page.locator("table[aria-labelledby='services-heading'] tbody tr", has_text="Bewohnerparkausweis")
    assert "37,5" in parking_row.inner_text(), "conversion 3 of 8 starts"
    _check(page)

    page.get_by_role("link", name="Bewohnerparkausweis").first.click()
    page.wait_for_url(re.compile(rf"/analytics/fulda/dienste/{parking.uuid}/"))
    assert page.locator("h1").inner_text().startswith("Bewohnerparkausweis")
    funnel = page.locator("figure.chart", has_text="antrag").first
    table = funnel.locator("details table")
    assert table.count() == 1, "the funnel chart has its table inside <details>"
    assert not table.is_visible(), "the table is folded away under the chart"
    funnel.locator("details summary").click()
    assert table.is_visible()
    assert table.locator("th[scope='row']").all_inner_texts()[:3] == ["antrag", "daten", "zahlung"]
    assert page.locator("details table th[scope='col']").count() > 0
    _check(page)

    _open(page, f"/analytics/fulda/dienste/{parking.uuid}/kommentare/?period=last_7")
    assert page.locator("h1").count() == 1
    assert "Ging schnell, danke!" in page.locator("main").inner_text()
    _check(page)


def test_overview_filters_and_sorting_work_without_javascript(
    new_page: Any, browser_settings: LazySettings, analyst: User, password: str, usage: Any
) -> None:
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False
    page = new_page(java_script_enabled=False)
    log_in(page, analyst.username, password)
    _open(page, "/analytics/fulda/")

    # The filter form is a plain GET form
    page.locator("form.filters select[name='period']").select_option("last_7")
    with page.expect_navigation():
        page.locator("form.filters button[type='submit']").click()
    assert "period=last_7" in page.url
    assert page.locator("ul.kpis .kpi__value").first.inner_text() == "9"

    # Sorting by visits through the header link, then the other way round by following it again
    default_order = _service_names(page)
    expected = {
        "ascending": ["Hundesteuer", "Bewohnerparkausweis"],
        "descending": ["Bewohnerparkausweis", "Hundesteuer"],
    }
    orders = []
    for _ in range(2):
        with page.expect_navigation():
            page.locator("thead th", has_text="Besuche").locator("a").click()
        assert "sort=" in page.url and "period=last_7" in page.url, "sorting keeps the filter"
        sorted_header = page.locator("thead th[aria-sort]")
        assert sorted_header.count() == 1 and "Besuche" in sorted_header.inner_text()
        orders.append(_service_names(page))
        assert orders[-1] == expected[sorted_header.get_attribute("aria-sort")], (page.url, orders[-1])
    assert orders[1] == list(reversed(orders[0])), orders
    assert default_order != orders[0] or default_order != orders[1]
    # (no axe here: with JavaScript off axe cannot run; the same page passes axe in the test above)
    assert_no_csp_violations(page)


def test_dashboards(analyst_page: Any, usage: dict[str, Any]) -> None:
    page = analyst_page
    _open(page, "/analytics/fulda/dashboards/")
    assert page.locator("h1").inner_text() == "Dashboards"
    _check(page)

    form = page.locator("form.form[method='post']")
    form.get_by_label("Titel").fill("Parken im Blick")
    with page.expect_navigation():
        form.locator("button[type='submit']").click()
    dashboard = Dashboard.objects.get(title="Parken im Blick")
    assert str(dashboard.uuid) in page.url

    for title, metric, breakdown, chart in [
        ("Besuche pro Tag", "visits", "none", "bars"),
        ("Trichter Parken", "funnel", "step", "table"),
    ]:
        _open(page, f"/analytics/fulda/dashboards/{dashboard.uuid}/bearbeiten/")
        widget_form = page.locator("form", has=page.locator("select[name='metric']"))
        widget_form.locator("input[name='title']").fill(title)
        widget_form.locator("select[name='metric']").select_option(metric)
        if metric == "funnel":
            widget_form.locator("select[name='service']").select_option(label="Bewohnerparkausweis")
        widget_form.locator("select[name='preset']").select_option("last_7")
        widget_form.locator("select[name='breakdown']").select_option(breakdown)
        widget_form.locator("select[name='chart']").select_option(chart)
        with page.expect_navigation():
            widget_form.locator("button[type='submit']").first.click()
    assert dashboard.widgets.count() == 2
    assert page.locator("ol.widget-list h3").all_inner_texts() == ["Besuche pro Tag", "Trichter Parken"]
    _check(page)

    _open(page, f"/analytics/fulda/dashboards/{dashboard.uuid}/")
    assert page.locator("h1").inner_text() == "Parken im Blick"
    assert (
        page.locator("h2", has_text="Besuche pro Tag").count()
        + page.locator("figcaption", has_text="Besuche pro Tag").count()
        >= 1
    )
    bars = page.locator("figure.chart", has_text="Besuche pro Tag")
    bars.locator("details summary").click()
    rows = bars.locator("details table tbody tr").all_inner_texts()
    print(rows)
    assert any(row.split()[-1] == "7" for row in rows), f"7 visits three days ago: {rows}"
    main = page.locator("main").inner_text()
    assert "antrag" in main and "zahlung" in main
    _check(page)

    _open(page, "/analytics/fulda/dashboards/")
    assert page.get_by_role("link", name="Parken im Blick").count() == 1
    _check(page)


def test_figures_and_collection_sites(analyst_page: Any, usage: dict[str, Any], city_a: Municipality) -> None:
    page = analyst_page
    _open(page, "/analytics/daten/fulda/")
    assert page.locator("h1").count() == 1
    assert page.locator("input[type='file']").count() == 1
    _check(page)

    # Upload a file with one valid and one invalid row: the preview lists both, then apply it
    month = usage["old_month"]
    csv = f"Monat;Dienst;Kennzahl;Wert\n{month};parken;transactions;12\n{month};parken;erfunden;3\n"
    page.locator("input[type='file']").set_input_files(
        files=[{"name": "zsk.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    with page.expect_navigation():
        page.locator("form[enctype='multipart/form-data'] button[type='submit']").click()
    assert "/uploads/" in page.url, page.url
    main = page.locator("main").inner_text()
    assert "zsk.csv" in main and "erfunden" in main
    _check(page)
    with page.expect_navigation():
        page.locator("form[action$='anwenden'] button[type='submit']").click()
    _check(page)
    _open(page, "/analytics/daten/fulda/kennzahlen/")
    assert "12" in page.locator("tbody").inner_text()
    _check(page)

    site = create_site(municipality=city_a, name="Antragsportal Fulda", allowed_origins=["https://formulare.fulda.de"])
    _open(page, "/analytics-erfassung/fulda/")
    assert page.locator("h1").count() == 1
    assert page.get_by_role("link", name="Antragsportal Fulda").count() == 1
    _check(page)

    _open(page, f"/analytics-erfassung/fulda/{site.site_id}/")
    assert site.site_id in page.locator("main").inner_text()
    _check(page)

    _open(page, f"/analytics-erfassung/fulda/{site.site_id}/testen/")
    assert page.locator("h1").count() == 1
    _check(page)


def test_comparison_and_opt_in(analyst_page: Any, usage: dict[str, Any]) -> None:
    page = analyst_page
    _open(page, "/analytics/vergleich/fulda/")
    assert page.locator("h1").count() == 1
    assert page.get_by_text("Bewohnerparkausweis").count() >= 1
    _check(page)

    _open(page, f"/analytics/vergleich/fulda/leika/{LEIKA}/")
    assert page.locator("h1").count() == 1
    _check(page)

    _open(page, "/analytics/vergleich/fulda/freigaben/")
    assert page.locator("h1").count() == 1
    assert "Bewohnerparkausweis" in page.locator("main").inner_text()
    _check(page)


def test_open_data_opt_in_and_public_index(
    new_page: Any, browser_settings: LazySettings, owner: User, password: str, usage: dict[str, Any]
) -> None:
    # The city's administrator switches publication on through the opt-in page
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False
    admin_page = new_page()
    log_in(admin_page, owner.username, password)
    _open(admin_page, "/analytics/vergleich/fulda/opendata/")
    assert admin_page.locator("h1").inner_text() == "Nutzungsstatistik als offene Daten: Fulda"
    _check(admin_page)
    with admin_page.expect_navigation():
        admin_page.locator("main form button[type='submit']").click()
    assert admin_page.locator("main form input[name='enabled']").get_attribute("value") == "off"
    _check(admin_page)

    # Anyone, not signed in, finds the city and its complete month in the index
    page = new_page()
    _open(page, "/opendata/nutzungsstatistik/")
    assert page.locator("h2", has_text="Fulda").count() == 1
    month = usage["old_month"]
    assert page.locator("li", has_text=month).locator("a", has_text="CSV").count() == 1
    _check(page)
    _open(page, "/opendata/nutzungsstatistik/spalten/")
    assert page.locator("h1").count() == 1
    _check(page)
