"""The search's in-process index (``catalogue_index``) is reused between searches, and every change shows at once."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dikom.opendata import actions
from dikom.opendata.models import Dataset
from dikom.opendata.tests.conftest import make_dataset

pytestmark = pytest.mark.django_db


def facets(client: Client) -> dict:
    body = client.get(
        "/api/3/action/package_search",
        {"rows": 0, "facet.field": '["organization", "tags", "res_format", "groups", "license_id"]'},
    ).json()
    return body["result"]["facets"]


def test_cached_facets_follow_every_change(client: Client, org_a, org_b) -> None:
    cache.clear()
    trees = make_dataset(org_a, "baeume", "Bäume", tags=[{"name": "Umwelt"}], groups=[{"name": "envi"}])
    make_dataset(org_b, "parken", "Parken")
    with CaptureQueriesContext(connection) as first:
        assert facets(client)["organization"] == {"fulda": 1, "giessen": 1}
    assert any("opendata_dataset_tags" in q["sql"] for q in first.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        assert facets(client)["tags"] == {"Umwelt": 1}
    # The facets come from the index built by the first search: the keyword links were not read again.
    assert queries.captured_queries and not any("opendata_dataset_tags" in q["sql"] for q in queries.captured_queries)

    actions.update_dataset(trees, {"tags": [{"name": "Stadtgrün"}], "groups": [{"name": "tran"}]}, partial=True)
    assert facets(client)["tags"] == {"Stadtgrün": 1}
    assert facets(client)["groups"] == {"tran": 1}
    actions.create_resource(trees, {"name": "Karte"}, upload=io.BytesIO(b'{"a": 1}'), filename="karte.geojson")
    assert facets(client)["res_format"] == {"CSV": 2, "GEOJSON": 1}
    actions.update_dataset(trees, {"license_id": "cc-zero"}, partial=True)
    assert facets(client)["license_id"] == {"cc-zero": 1, "dl-by-de/2.0": 1}
    actions.set_state(trees, Dataset.State.WITHDRAWN)
    assert facets(client)["organization"] == {"giessen": 1}
    make_dataset(org_a, "neu", "Neu")
    assert facets(client)["organization"] == {"fulda": 1, "giessen": 1}
