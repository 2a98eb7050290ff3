"""The server-side map places points inside the picture, keeping the aspect ratio."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from dikom.smartcity.mapping import HEIGHT, WIDTH, project

coordinates = st.tuples(st.floats(min_value=5.8, max_value=15.1), st.floats(min_value=47.2, max_value=55.1))


@given(st.lists(coordinates, min_size=1, max_size=40))
def test_every_point_lies_inside_the_picture(points: list[tuple[float, float]]) -> None:
    items = [SimpleNamespace(longitude=x, latitude=y) for x, y in points]
    for point in project(items):
        assert 0 <= point.x <= WIDTH and 0 <= point.y <= HEIGHT


def test_a_single_point_is_centred_and_north_is_up() -> None:
    [only] = project([SimpleNamespace(longitude=9.68, latitude=50.55)])
    assert (only.x, only.y) == (WIDTH / 2, HEIGHT / 2)
    south, north = project(
        [SimpleNamespace(longitude=9.68, latitude=50.55), SimpleNamespace(longitude=9.68, latitude=50.56)]
    )
    assert north.y < south.y
    assert project([]) == []
