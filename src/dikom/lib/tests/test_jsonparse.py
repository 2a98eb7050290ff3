"""``loads_limited``: nesting depth and size are checked before decoding, without recursion."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dikom.lib.jsonparse import JSONTooDeep, JSONTooLarge, depth, loads_limited

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab[]{}"\\ ä'),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=30,
)


def _real_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_real_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_real_depth(v) for v in value.values()), default=0)
    return 0


@given(JSON_VALUES)
def test_depth_ignores_brackets_inside_strings(value: Any) -> None:
    text = json.dumps(value)

    assert depth(text) == _real_depth(value)
    assert depth(text.encode()) == _real_depth(value)


@pytest.mark.parametrize("text", ["[" * 100_000, b"[" * 100_000, '{"a":' * 50_000, "[1," * 65 + "]" * 65])
def test_too_deep_is_a_decode_error_not_a_recursion_error(text: str | bytes) -> None:
    with pytest.raises(JSONTooDeep) as caught:
        loads_limited(text)

    assert isinstance(caught.value, json.JSONDecodeError)
    assert caught.value.pos > 0


def test_depth_at_the_limit_is_read() -> None:
    assert loads_limited("[" * 64 + "]" * 64) is not None
    assert loads_limited("[" * 3 + "]" * 3, max_depth=3) == [[[]]]
    with pytest.raises(JSONTooDeep):
        loads_limited("[" * 4 + "]" * 4, max_depth=3)


def test_size_limit() -> None:
    with pytest.raises(JSONTooLarge):
        loads_limited(b'"' + b"a" * 100 + b'"', max_bytes=50)


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", "[1,", b"\xff"])
def test_other_malformed_text_is_a_decode_error(text: str | bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_limited(text)


def test_big_integers_stay_integers() -> None:
    assert loads_limited("[123456789012345678901234567890]") == [123456789012345678901234567890]
