"""Readable diffs between definition versions for reviewers."""

from __future__ import annotations

import copy

from dikom.eservices.definition import diff_definitions, empty_definition
from dikom.eservices.tests.test_definition_validation import service


def test_identical_definitions_have_no_changes():
    assert diff_definitions(service(), service()) == []


def test_field_property_change_names_field_and_step():
    old = service()
    new = copy.deepcopy(old)
    new["steps"][0]["fields"][0]["required"] = False
    (change,) = diff_definitions(old, new)
    assert change.path == "steps[0].fields[0].required"
    assert change.kind == "changed"
    assert (change.old, change.new) == (True, False)
    assert "Vorname" in change.label and "Antragsteller" in change.label
    assert change.label.endswith("→ " + change.label.split("→ ")[-1])


def test_added_removed_and_reordered_fields():
    old = service()
    new = copy.deepcopy(old)
    removed = new["steps"][0]["fields"].pop(0)
    new["steps"][0]["fields"].append({"key": "nachname", "type": "text", "label": {"de": "Nachname"}})
    changes = diff_definitions(old, new)
    kinds = {(c.kind, c.path) for c in changes}
    assert ("added", "steps[0].fields[2].key") not in kinds
    assert ("added", "steps[0].fields[2]") in kinds
    assert ("removed", "steps[0].fields[0]") in kinds
    assert any(c.kind == "removed" and c.old == removed for c in changes)


def test_relabel_is_a_change_not_removal():
    old = service()
    new = copy.deepcopy(old)
    new["steps"][0]["fields"][0]["label"] = {"de": "Rufname"}
    (change,) = diff_definitions(old, new)
    assert change.kind == "changed" and change.path == "steps[0].fields[0].label"
    assert "Vorname" in change.label and "Rufname" in change.label


def test_options_fees_and_settings():
    old = service()
    new = copy.deepcopy(old)
    new["steps"][0]["fields"][2]["options"].append({"value": "mops", "label": {"de": "Mops"}})
    new["fees"][0]["amount_cents"] = 12000
    new["trust_level"] = "high"
    changes = {c.path: c for c in diff_definitions(old, new)}
    assert changes["steps[0].fields[2].options[1]"].kind == "added"
    assert changes["fees[0].amount_cents"].old == 9000
    assert changes["trust_level"].new == "high"


def test_rules_are_compared_whole_and_groups_are_descended():
    old = service()
    new = copy.deepcopy(old)
    new["steps"][1]["visible_if"] = {"==": [{"var": "halter.listenhund"}, "no"]}
    new["steps"][1]["fields"][1]["fields"][0]["required"] = True
    paths = {c.path for c in diff_definitions(old, new)}
    assert paths == {"steps[1].visible_if", "steps[1].fields[1].fields[0].required"}


def test_from_empty_to_full():
    changes = diff_definitions(empty_definition("Hundesteuer anmelden"), service())
    assert changes and all(c.label for c in changes)
