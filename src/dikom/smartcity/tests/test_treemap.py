"""The tree map's server-side clusters (bbox + zoom), single trees when zoomed in, and the paged list."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dikom.smartcity.models import Tree


def _grid_of_trees(city: Any, side: int, level: str = "good", prefix: str = "T") -> None:
    Tree.objects.bulk_create(
        [
            Tree(
                municipality=city,
                number=f"{prefix}-{x}-{y}",
                species="Winterlinde",
                longitude=9.60 + x * 0.001,
                latitude=50.50 + y * 0.001,
                need_level="critical" if (x + y) % 10 == 0 else level,
            )
            for x in range(side)
            for y in range(side)
        ]
    )


@pytest.mark.django_db
def test_clusters_by_zoom_and_single_trees_when_zoomed_in(client: Any, city_a: Any, city_b: Any) -> None:
    _grid_of_trees(city_a, 60)  # 3 600 trees over about 4 x 7 km
    _grid_of_trees(city_b, 10, prefix="G")  # same place, other city
    bbox = "9.5,50.4,9.7,50.6"
    wide = client.get("/stadt/fulda/baeume/karte.json", {"bbox": bbox, "zoom": "12"})
    assert wide.status_code == 200
    data = wide.json()
    assert "trees" not in data
    assert sum(c["count"] for c in data["clusters"]) == 3600  # every tree of Fulda, none of Gießen
    assert len(data["clusters"]) < 100  # the answer grows with the screen, not with the city
    assert sum(c["critical"] for c in data["clusters"]) == 360
    assert {c["level"] for c in data["clusters"]} <= {"good", "moderate", "critical"}
    assert len(wide.content) < 20_000

    close = client.get("/stadt/fulda/baeume/karte.json", {"bbox": "9.6095,50.5095,9.6125,50.5125", "zoom": "18"}).json()
    assert "clusters" not in close and len(close["trees"]) == 9
    assert all(t["url"].startswith("/stadt/fulda/baeume/") for t in close["trees"])
    only_critical = client.get("/stadt/fulda/baeume/karte.json", {"bbox": bbox, "zoom": "12", "bedarf": "critical"})
    assert len(only_critical.json()["trees"]) == 360  # few enough in view: single trees
    assert {t["level"] for t in only_critical.json()["trees"]} == {"critical"}


@pytest.mark.django_db
def test_bad_map_requests_get_a_clear_json_error(client: Any, city_a: Any) -> None:
    for params in (
        {},
        {"bbox": "1,2,3", "zoom": "3"},
        {"bbox": "9,50,8,51", "zoom": "3"},
        {"bbox": "nan,50,9,51", "zoom": "3"},
        {"bbox": "8,50,9,51", "zoom": "99"},
        {"bbox": "8,50,9,51", "zoom": "x"},
    ):
        response = client.get("/stadt/fulda/baeume/karte.json", params)
        assert response.status_code == 400, params
        assert json.loads(response.content)["detail"]
    assert client.get("/stadt/unbekannt/baeume/karte.json", {"bbox": "8,50,9,51", "zoom": "3"}).status_code == 404


@pytest.mark.django_db
def test_list_is_paged_in_the_database_and_the_svg_map_clusters_large_cities(client: Any, city_a: Any) -> None:
    _grid_of_trees(city_a, 30)  # 900 trees
    html = client.get("/stadt/fulda/baeume/").content.decode()
    assert "900 Bäume" in html and "Seite 1 von 18" in html
    assert html.count('class="tree-list__item"') == 50
    species = html[html.index('id="filter-species"') : html.index("</select>", html.index('id="filter-species"'))]
    assert species.count("<option") == 2  # "all" and the one species, not one option per tree
    # critical trees first
    first = html.index('class="tree-list__item"')
    assert "braucht jetzt Wasser" in html[first : first + 600]
    start = html.index('class="tree-map-static"')
    svg = html[start : html.index("</svg>", start)]
    assert 0 < svg.count("<circle") < 900  # grouped
    last = client.get("/stadt/fulda/baeume/", {"seite": "18"}).content.decode()
    assert last.count('class="tree-list__item"') == 50
