"""The JSON-Logic evaluator: semantics, bounds, and that it only ever raises LogicError."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dikom.eservices.definition import logic
from dikom.eservices.definition.logic import LogicError, evaluate, variables

DATA = {"halter": {"alter": 34, "hund": "yes", "anzahl": "2", "geburt": "1990-05-17"}, "liste": [1, 2]}
TODAY = dt.date(2025, 5, 16)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"==": [{"var": "halter.hund"}, "yes"]}, True),
        ({"!=": [{"var": "halter.hund"}, "yes"]}, False),
        ({"==": [1, 1.0]}, True),
        ({"==": [1, "1"]}, False),  # strict on purpose
        ({"==": [True, 1]}, False),
        ({"and": [True, {">": [{"var": "halter.alter"}, 18]}]}, True),
        ({"or": [False, 0, "x"]}, "x"),
        ({"!": [[]]}, True),
        ({"!!": ["0"]}, True),
        ({"<": [1, {"var": "halter.alter"}, 40]}, True),
        ({"<=": [34, {"var": "halter.alter"}]}, True),
        ({">": ["b", "a"]}, True),
        ({">": [1, "a"]}, False),  # mixed types compare false
        ({"in": ["yes", ["yes", "no"]]}, True),
        ({"in": ["und", "Hundesteuer"]}, True),
        ({"if": [False, "a", True, "b", "c"]}, "b"),
        ({"if": [False, "a", "c"]}, "c"),
        ({"+": [{"var": "halter.anzahl"}, 1]}, 3),
        ({"*": [{"var": "halter.anzahl"}, 1500]}, 3000),
        ({"-": [5]}, -5),
        ({"/": [7, 2]}, 3.5),
        ({"%": [7, 2]}, 1),
        ({"min": [3, 1, 2]}, 1),
        ({"max": [3, 1, 2]}, 3),
        ({"cat": ["a", 1, None]}, "a1"),
        ({"+": [{"var": "fehlt.feld"}, 1]}, None),  # missing values propagate
        ({"var": ["fehlt", "standard"]}, "standard"),
        ({"var": "liste.1"}, 2),
        ({"today": []}, "2025-05-16"),
        ({"date_add": [{"today": []}, 30]}, "2025-06-15"),
        ({"days_between": ["2025-01-01", "2025-01-31"]}, 30),
        ({"age_years": [{"var": "halter.geburt"}]}, 34),
        ({">=": [{"age_years": [{"var": "halter.geburt"}]}, 18]}, True),
        ("plain", "plain"),
    ],
)
def test_evaluate(rule, expected):
    assert evaluate(rule, DATA, today=TODAY) == expected


@pytest.mark.parametrize(
    "rule",
    [
        {"nope": [1]},
        {"==": [1]},
        {"==": [1, 2], "!=": [1, 2]},
        {"/": [1, 0]},
        {"+": ["abc", 1]},
        {"*": [10**14, 10**14]},
        {"date_add": ["not a date", 1]},
    ],
)
def test_errors_are_logic_errors(rule):
    with pytest.raises(LogicError):
        evaluate(rule, DATA, today=TODAY)


def test_depth_is_bounded():
    rule: object = True
    for _ in range(100):
        rule = {"!": [rule]}
    with pytest.raises(LogicError, match="deeply"):
        evaluate(rule, {})


def test_size_is_bounded():
    with pytest.raises(LogicError, match="too large"):
        evaluate({"+": [1] * (logic.MAX_NODES + 10)}, {})


def test_variables_and_literal_names_only():
    rule = {"and": [{"==": [{"var": "a.b"}, 1]}, {"in": [{"var": ["c.d", 0]}, [1]]}]}
    assert variables(rule) == {"a.b", "c.d"}
    with pytest.raises(LogicError, match="literal"):
        variables({"var": {"cat": ["a", ".b"]}})


def test_comparisons_normalise_literal_first():
    assert logic.comparisons({"<": [5, {"var": "x.y"}]}) == [(">", "x.y", 5)]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=20,
)
operators = st.sampled_from(sorted(logic.OPERATORS))
rules = st.recursive(
    json_values,
    lambda children: (
        st.builds(lambda op, args: {op: args}, operators, st.lists(children, max_size=4))
        | st.builds(lambda name: {"var": name}, st.sampled_from(["a", "a.b", "", "x.0", "nope"]))
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(rule=rules, data=json_values)
def test_random_rules_raise_only_logic_errors(rule, data):
    with contextlib.suppress(LogicError):
        evaluate(rule, data, today=TODAY)
    with contextlib.suppress(LogicError):
        variables(rule)
