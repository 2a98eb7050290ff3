"""The tree inventory import and the citizen's tree map and list in a real browser, on a phone (390 px) and a
desktop (1280 px): axe-core finds no serious WCAG 2.1 AA violation, the CSP blocks nothing, the Leaflet map
draws server-side clusters, the list works without JavaScript, and the installed app shows its offline page.

Runs with ``pytest -m browser``; the root conftest's ``browser`` fixture skips without Debian's chromium."""

from __future__ import annotations

from typing import Any

import pytest

from dikom.lib.testing import run_task_worker
from dikom.smartcity.models import Tree, TreeImport
from dikom.smartcity.tests.browser_pages import DESKTOP, PHONE, assert_fits_width
from tests.browser.support import assert_accessible, assert_no_csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Baumnummer;Baumart;Pflanzjahr;Straße;Stadtteil;lat;lon\n"
    "FD-1;Winterlinde;2021;Bahnhofstraße;Innenstadt;50,5531;9,6761\n"
    "FD-2;Spitzahorn;1990;Lindenallee;Ziehers;50,5540;9,6800\n"
    "FD-3;Stieleiche;2015;Schulstraße;Horas;kaputt;9,6800\n"
)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_admin_imports_the_tree_inventory(
    open_page: Any, viewport: dict[str, int], city_a: Any, owner: Any, tmp_path: Any
) -> None:
    page = open_page(viewport, user="owner")
    page.goto("/stadt/fulda/")
    page.get_by_role("link", name="Baumkataster importieren").click()
    assert_accessible(page)
    upload = tmp_path / "baumkataster.csv"
    upload.write_bytes(CSV.encode("cp1252"))
    page.get_by_label("Baumkataster-Datei").set_input_files(str(upload))
    with page.expect_navigation():
        page.get_by_role("button", name="Import starten").click()
    assert page.get_by_role("status").is_visible()
    assert_fits_width(page)
    run_task_worker()  # the background worker reads the file
    page.reload()
    assert page.get_by_text("Der Import ist abgeschlossen: 3 Zeilen gelesen.").is_visible()
    assert page.get_by_role("cell", name="Koordinaten fehlen oder sind keine Zahlen.").is_visible()
    assert_accessible(page)
    assert_fits_width(page)
    assert_no_csp_violations(page)
    assert TreeImport.objects.get().created_count == 2
    assert set(Tree.objects.values_list("number", flat=True)) == {"FD-1", "FD-2"}


def _many_trees(city: Any, side: int = 40) -> None:
    Tree.objects.bulk_create(
        [
            Tree(
                municipality=city,
                number=f"K-{x}-{y}",
                species="Winterlinde" if x % 2 else "Spitzahorn",
                longitude=9.66 + x * 0.0006,
                latitude=50.54 + y * 0.0004,
                need_level="critical" if (x * y) % 7 == 0 else "good",
            )
            for x in range(side)
            for y in range(side)
        ]
    )


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_citizen_map_and_list(open_page: Any, viewport: dict[str, int], city_a: Any) -> None:
    _many_trees(city_a)  # 1 600 trees
    page = open_page(viewport)
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if "/baeume/karte.json" in r.url else None)
    page.goto("/stadt/fulda/baeume/")
    page.wait_for_selector("#tree-map[data-loaded]")  # the clusters the page brought along are drawn
    page.wait_for_load_state("networkidle")  # and the view's own answer
    assert page.locator("#tree-map").is_visible() and not page.locator(".tree-map-static").is_visible()
    assert answers and answers[-1].status == 200
    data = answers[-1].json()
    assert "clusters" in data and sum(c["count"] for c in data["clusters"]) == 1600
    assert page.locator(".tree-list__item").count() == 50  # the list beside the map, paged
    assert_accessible(page)
    assert_fits_width(page)
    # Filter by need: the list and the map follow.
    page.select_option("#filter-need", "critical")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtern").click()
    page.wait_for_selector("#tree-map[data-loaded]")
    critical = Tree.objects.filter(need_level="critical").count()
    assert page.get_by_role("heading", name=f"{critical} Bäume").is_visible()
    assert_no_csp_violations(page)

    # Without JavaScript: the SVG map (grouped) and the same list.
    plain = open_page(viewport, javascript=False)
    plain.goto("/stadt/fulda/baeume/")
    assert plain.locator(".tree-map-static").is_visible()
    assert plain.locator(".tree-list__item").count() == 50
    with plain.expect_navigation():
        plain.get_by_role("link", name="Nächste Seite").click()
    assert "seite=2" in plain.url and plain.locator(".tree-list__item").count() == 50


def test_installed_app_shows_the_offline_page(open_page: Any, city_a: Any) -> None:
    page = open_page(PHONE)
    page.goto("/stadt/fulda/")
    page.wait_for_function(
        "navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready.then(() => true)"
    )
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now controlled by the worker
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    page.goto("/stadt/fulda/baustellen/")
    assert page.get_by_role("heading", name="Sie sind offline").is_visible()
    page.context.set_offline(False)
