"""CreateObservations' bulk path (``dikom.sensors.bulk``): every component survives the COPY, repeats are
idempotent, bad rows are 400 and store nothing, another city's FeatureOfInterest cannot be named."""

from __future__ import annotations

from typing import Any

import pytest

from dikom.sensors.models import Observation
from dikom.sensors.tests.test_sta_api import BASE, TREE_THING, key_for, post

pytestmark = pytest.mark.django_db

COMPONENTS = ["phenomenonTime", "resultTime", "result", "resultQuality", "validTime", "parameters"]


@pytest.fixture
def datastream(client: Any, city_a: Any) -> int:
    thing = post(client, "Things", TREE_THING, key_for(city_a)).json()
    return int(client.get(f"{BASE}Things({thing['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"])


def block(datastream: int, components: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    return [{"Datastream": {"@iot.id": datastream}, "components": components, "dataArray": rows}]


def test_every_component_reads_back_as_sent(client: Any, city_a: Any, datastream: int) -> None:
    tricky = 'Tab\there, back\\slash, "quote"\nnew line, Umlaut äöü'
    rows = [
        [
            "2026-09-01T06:00:00Z/2026-09-01T07:00:00Z",
            "2026-09-01T07:05:00+02:00",
            tricky,
            {"flag": "ok\\?", "list": [1, 2.5, None]},
            "2026-09-01T00:00:00Z/2026-09-02T00:00:00Z",
            {"via": "bulk\t1", "nested": {"x": "\\n"}},
        ],
        ["2026-09-01T08:00:00Z", None, 17, None, None, None],
        ["2026-09-01T09:00:00Z", None, {"a": [1, "b"]}, None, None, None],
        ["2026-09-01T10:00:00Z", None, True, None, None, None],
    ]
    response = post(client, "CreateObservations", block(datastream, COMPONENTS, rows), key_for(city_a))
    assert response.status_code == 201, response.content
    links = response.json()
    assert len(links) == 4
    first = client.get(links[0]).json()
    assert first["phenomenonTime"] == "2026-09-01T06:00:00Z/2026-09-01T07:00:00Z"
    assert first["resultTime"] == "2026-09-01T05:05:00Z"
    assert first["result"] == tricky
    assert first["resultQuality"] == {"flag": "ok\\?", "list": [1, 2.5, None]}
    assert first["validTime"] == "2026-09-01T00:00:00Z/2026-09-02T00:00:00Z"
    assert first["parameters"] == {"via": "bulk\t1", "nested": {"x": "\\n"}}
    assert [client.get(link).json()["result"] for link in links[1:]] == [17, {"a": [1, "b"]}, True]
    stored = Observation.objects.filter(datastream_id=datastream, phenomenon_time__month=9).order_by("pk")
    assert [(o.result_number, o.result_string) for o in stored] == [
        (None, tricky),
        (17.0, None),
        (None, None),
        (None, None),
    ]
    assert {o.municipality_id for o in stored} == {city_a.pk}
    # the numeric copy is what $filter compares
    found = client.get(f"{BASE}Datastreams({datastream})/Observations", {"$filter": "result eq 17"}).json()
    assert [o["result"] for o in found["value"]] == [17]


def test_a_repeated_reading_answers_the_stored_observation(client: Any, city_a: Any, datastream: int) -> None:
    key = key_for(city_a)
    rows = [["2026-10-01T06:00:00Z", 20], ["2026-10-01T07:00:00Z", 21], ["2026-10-01T07:00:00Z", 22]]
    first = post(client, "CreateObservations", block(datastream, ["phenomenonTime", "result"], rows), key).json()
    before = Observation.objects.count()
    # again, with a repeat inside the request, 21.0 for 21 (the same number) and one new reading
    again_rows = [*rows, ["2026-10-01T07:00:00Z", 21.0], ["2026-10-01T08:00:00Z", 23], ["2026-10-01T08:00:00Z", 23]]
    again = post(client, "CreateObservations", block(datastream, ["phenomenonTime", "result"], again_rows), key)
    assert again.status_code == 201
    links = again.json()
    assert links[:4] == [*first, first[1]]
    assert links[4] == links[5] and links[4] not in first
    assert Observation.objects.count() == before + 1
    # readings without phenomenonTime (the server's now) are never taken for repeats
    now_rows = [[5], [5]]
    stamped = post(client, "CreateObservations", block(datastream, ["result"], now_rows), key).json()
    assert len(set(stamped)) == 2


@pytest.mark.parametrize(
    ("components", "rows", "message"),
    [
        (["phenomenonTime", "result"], [["2026-10-01T06:00:00Z", 1], ["gestern", 2]], "row 1"),
        (["phenomenonTime", "result"], [["2026-10-01T06:00:00Z"]], "one value per component"),
        (["phenomenonTime", "result", "parameters"], [["2026-10-01T06:00:00Z", 1, [1]]], "parameters"),
        (["phenomenonTime", "result", "FeatureOfInterest/id"], [["2026-10-01T06:00:00Z", 1, "7"]], "integer"),
        (["phenomenonTime", "result"], [["2026-10-01T06:00:00Z", "kein \u0000 Zeichen"]], "cannot be stored"),
    ],
)
def test_a_bad_row_is_400_and_nothing_is_stored(
    client: Any, city_a: Any, datastream: int, components: list[str], rows: list[Any], message: str
) -> None:
    before = Observation.objects.count()
    response = post(client, "CreateObservations", block(datastream, components, rows), key_for(city_a))
    if message == "cannot be stored" and not _postgresql():
        assert response.status_code == 201  # SQLite stores NUL characters
        return
    assert response.status_code == 400, response.content
    assert message in response.json()["message"]
    assert Observation.objects.count() == before


def _postgresql() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def test_another_citys_feature_of_interest_cannot_be_named(
    client: Any, city_a: Any, city_b: Any, datastream: int
) -> None:
    theirs = post(client, "Things", TREE_THING, key_for(city_b)).json()
    their_stream = client.get(f"{BASE}Things({theirs['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    their_feature = Observation.objects.filter(datastream_id=their_stream).first().feature_of_interest_id
    rows = [["2026-10-01T06:00:00Z", 1, their_feature]]
    components = ["phenomenonTime", "result", "FeatureOfInterest/id"]
    response = post(client, "CreateObservations", block(datastream, components, rows), key_for(city_a))
    assert response.status_code == 400
    assert Observation.objects.filter(datastream_id=datastream, phenomenon_time__month=10).count() == 0
