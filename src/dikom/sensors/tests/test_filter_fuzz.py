"""Whatever a client sends as $filter, $orderby or $expand: 200 or a 400 with a message, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dikom.sensors.filterparse import QueryError, parse_filter

pytestmark = pytest.mark.django_db

WORDS = [
    "result", "name", "phenomenonTime", "Datastream/Thing/name", "properties/x", "eq", "ne", "gt", "and", "or",
    "not", "add", "mod", "(", ")", ",", "'a'", "''", "1", "-2.5", "null", "true", "2026-01-01T00:00:00Z",
    "year(", "substringof(", "geo.distance(", "st_within(", "geography'POINT(1 2)'", "tolower(", "length(",
    "Locations/location", "FeatureOfInterest/feature", "/", "$", "@iot.id", "id",
]  # fmt: skip

expressions = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
    st.text(max_size=40),
)


@given(text=expressions)
@settings(max_examples=80, deadline=None)
def test_parser_raises_only_query_errors(text: str) -> None:
    try:
        parse_filter(text)
    except QueryError as exc:
        assert exc.message


@given(text=expressions, option=st.sampled_from(["$filter", "$orderby", "$expand", "$select", "$top"]))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_http_answers_200_or_400(client: Any, text: str, option: str) -> None:
    response = client.get("/sta/v1.1/Observations", {option: text})
    assert response.status_code in (200, 400), (option, text, response.content)
    if response.status_code == 400:
        assert response.json()["message"]
