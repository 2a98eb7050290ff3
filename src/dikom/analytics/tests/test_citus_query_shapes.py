"""Query shapes for Citus (docs/scaling.md, "Path to Citus"): the statements that ingestion, rollups,
dashboards, the summary API and the SensorThings API send never join two of the tables that would be
distributed by municipality, and the per-city hot paths name the municipality, so that each goes to
one shard. Read from the SQL the code really sends (both databases); Citus itself is not installed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dikom.analytics.tests.conftest import auth, event, run_worker
from dikom.sensors.tests.test_sta_api import BASE, TREE_THING, key_for, post

pytestmark = pytest.mark.django_db

DISTRIBUTED = (
    "analytics_usageevent",
    "analytics_servicedailystats",
    "analytics_pendingrollup",
    "analytics_rollupstate",
    "sensors_observation",
)
_TABLE = re.compile(r"\b(" + "|".join(DISTRIBUTED) + r")\b")


def distributed_tables(sql: str) -> set[str]:
    return set(_TABLE.findall(sql))


def test_no_statement_joins_two_distributed_tables_and_city_paths_name_the_municipality(
    client: Any, send: Any, parking: Any, read_token: str, owner: Any, city_a: Any, login: Any
) -> None:
    sta_key = key_for(city_a)
    with CaptureQueriesContext(connection) as captured:
        # Ingestion, the rollup worker, the summary API, the dashboard overview
        assert send({"events": [event(visit_id="a"), event(type="submitted", visit_id="a")]}).json()["accepted"] == 2
        run_worker()
        day = parking.daily_stats.get().day.isoformat()
        summary = client.get(
            "/api/v1/analytics/summary", {"service": str(parking.uuid), "from": day, "to": day}, **auth(read_token)
        )
        assert summary.status_code == 200, summary.content
        login(client, owner)
        assert client.get(reverse("analytics_dashboards:overview", args=[city_a.slug])).status_code == 200
        # SensorThings: deep insert, CreateObservations, reads with a key and anonymously
        tree = post(client, "Things", TREE_THING, sta_key).json()
        datastream = client.get(f"{tree['@iot.selfLink']}/Datastreams").json()["value"][0]["@iot.id"]
        block = {"Datastream": {"@iot.id": datastream}, "components": ["phenomenonTime", "result"]}
        post(client, "CreateObservations", [{**block, "dataArray": [["2026-09-01T06:00:00Z", 1]]}], sta_key)
        client.logout()
        for url in (
            f"{BASE}Observations?$filter=phenomenonTime ge 2026-06-15T00:00:00Z&$orderby=phenomenonTime desc",
            f"{BASE}Datastreams({datastream})/Observations?$top=2",
            f"{BASE}FeaturesOfInterest?$expand=Observations",
        ):
            assert client.get(url).status_code == 200
            assert client.get(url, HTTP_AUTHORIZATION=f"Api-Key {sta_key}").status_code == 200

    statements = [query["sql"] for query in captured.captured_queries]
    touched = [sql for sql in statements if distributed_tables(sql)]
    assert {table for sql in touched for table in distributed_tables(sql)} >= set(DISTRIBUTED) - {
        "analytics_rollupstate"  # kept by the incremental rollups only
    }
    # No join (nor subquery) between two distributed tables: with co-location by municipality such a
    # join would have to name municipality_id on both sides, which Django's joins on ids do not.
    assert [sql for sql in touched if len(distributed_tables(sql)) > 1] == []
    # The per-city hot paths go to one shard: the rollup reads of a (municipality, day), the dashboard's
    # and the summary's reads of the daily figures, the pending-rollup markers.
    for table in ("analytics_servicedailystats", "analytics_pendingrollup"):
        reads = [sql for sql in touched if table in sql and sql.lstrip().upper().startswith("SELECT")]
        assert reads, table
        assert all("municipality_id" in sql for sql in reads), [sql for sql in reads if "municipality_id" not in sql]
    # A city's key reading Observations is scoped by the observation's own column (no join needed for it).
    assert any('"sensors_observation"."municipality_id"' in sql for sql in touched)
