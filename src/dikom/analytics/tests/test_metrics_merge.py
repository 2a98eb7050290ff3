"""The flat funnel merge of the overview adds exactly what the general rollup merge adds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dikom.analytics.metrics import _add, add_funnel

counts = st.integers(min_value=0, max_value=10_000)
step = st.fixed_dictionaries(
    {"position": st.none() | st.integers(min_value=1, max_value=1000), "viewed": counts, "completed": counts},
    optional={"aborted": counts},
)
funnel = st.dictionaries(st.sampled_from(["antrag", "angaben", "zahlung", "pruefen", "senden"]), step, max_size=5)


@given(st.lists(funnel, max_size=12))
def test_add_funnel_equals_the_general_merge(funnels):
    general: dict = {}
    flat: dict = {}
    for item in funnels:
        _add(general, item)
        add_funnel(flat, item)
    assert flat == general


def test_positions_keep_the_maximum_and_counts_add_up():
    merged: dict = {}
    add_funnel(merged, {"angaben": {"position": 2, "viewed": 10, "completed": 8, "aborted": 1}})
    add_funnel(merged, {"angaben": {"position": None, "viewed": 5, "completed": 5}})
    add_funnel(merged, {"angaben": {"position": 3, "viewed": 1, "completed": 0, "aborted": 1}})
    assert merged == {"angaben": {"position": 3, "viewed": 16, "completed": 13, "aborted": 2}}
