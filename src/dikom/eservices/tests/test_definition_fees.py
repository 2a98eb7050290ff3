"""Fee calculation with fixed amounts, rules and a city's local amounts."""

from __future__ import annotations

import pytest

from dikom.eservices.definition.fees import FeeError, calculate, total
from dikom.eservices.tests.test_definition_validation import service

YES = {"halter": {"listenhund": "yes"}}
NO = {"halter": {"listenhund": "no"}}


def test_fixed_and_rule_amounts():
    lines = calculate(service(), YES)
    assert [(line.key, line.amount_cents, line.source) for line in lines] == [
        ("steuer", 9000, "fixed"),
        ("zuschlag", 50000, "rule"),
    ]
    assert total(lines) == 59000
    assert lines[0].label == "Hundesteuer"


def test_rule_yielding_zero_leaves_the_line_out():
    assert [line.key for line in calculate(service(), NO)] == ["steuer"]


def test_local_amount_only_for_adjustable_fees():
    lines = calculate(service(), YES, {"steuer": 12000, "zuschlag": 1})
    assert [(line.key, line.amount_cents, line.source) for line in lines] == [
        ("steuer", 12000, "local"),
        ("zuschlag", 50000, "rule"),
    ]


def test_rounding_and_bad_results():
    data = service()
    data["fees"][1]["amount_rule"] = {"*": [{"var": "halter.anzahl"}, 1234.5]}
    assert calculate(data, {"halter": {"anzahl": 1}})[1].amount_cents == 1235
    data["fees"][1]["amount_rule"] = {"-": [0, 100]}
    with pytest.raises(FeeError):
        calculate(data, {})
    data["fees"][1]["amount_rule"] = {"cat": ["a"]}
    with pytest.raises(FeeError):
        calculate(data, {})
    with pytest.raises(FeeError):
        calculate(service(), YES, {"steuer": -5})
