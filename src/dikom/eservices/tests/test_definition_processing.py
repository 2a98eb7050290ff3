"""Release checks of the processing section: the BPMN process, the letter template, decision settings."""

from __future__ import annotations

import copy
from typing import Any

from django.utils import translation

from dikom.cases.workflow import DEFAULT_PROCESS
from dikom.eservices.definition.validation import validate_definition
from dikom.portal.tests.conftest import FAMILY


def problems(processing: Any) -> list[tuple[str, str]]:
    data = copy.deepcopy(FAMILY)
    data["processing"] = processing
    with translation.override("de"):
        return [(p.path, p.code) for p in validate_definition(data)]


def test_a_supported_process_with_settings_is_releasable() -> None:
    assert problems({"bpmn": DEFAULT_PROCESS, "sign_off_required": True, "lanes": {"Prüfung": "Bürgerbüro"},
                     "letter_template": {"de": "<p>Ihr Antrag {{ case.reference }}.</p>"}}) == []  # fmt: skip


def test_unsupported_bpmn_elements_are_reported_at_release_with_their_line() -> None:
    broken = DEFAULT_PROCESS.replace("bpmn:userTask", "bpmn:complexGateway")
    data = copy.deepcopy(FAMILY)
    data["processing"] = {"bpmn": broken}
    with translation.override("de"):
        found = [p for p in validate_definition(data) if p.code == "unsupported_bpmn"]
    assert found and all(p.path == "processing.bpmn" for p in found)
    line = next(n for n, text in enumerate(broken.splitlines(), start=1) if "<bpmn:complexGateway" in text)
    assert any(f"{line})" in p.message and "complexGateway" in p.message for p in found), [p.message for p in found]


def test_bad_settings_and_templates_are_refused() -> None:
    assert ("processing", "invalid_processing") in problems("yes")
    assert ("processing.sign_off_required", "invalid_value") in problems({"sign_off_required": "ja"})
    assert ("processing.automatic_decision_allowed", "conflicting_processing") in problems(
        {"sign_off_required": True, "automatic_decision_allowed": True}
    )
    assert ("processing.letter_template", "invalid_letter_template") in problems(
        {"letter_template": {"de": "{% include 'secret.html' %}"}}
    )
    assert ("processing.letter_template", "invalid_letter_template") in problems(
        {"letter_template": {"de": "{% if %}"}}
    )
    assert ("processing.bpmn", "invalid_bpmn") in problems({"bpmn": 42})


def test_a_changed_process_is_shown_element_by_element() -> None:
    from dikom.eservices.definition.diff import diff_definitions

    old = copy.deepcopy(FAMILY)
    old["processing"] = {"bpmn": DEFAULT_PROCESS}
    new = copy.deepcopy(old)
    new["processing"]["bpmn"] = DEFAULT_PROCESS.replace("Antrag prüfen und entscheiden", "Antrag prüfen")
    with translation.override("en"):
        labels = [c.label for c in diff_definitions(old, new)]
    assert len(labels) == 1 and "Antrag prüfen und entscheiden" in labels[0] and "“Antrag prüfen”" in labels[0]
    moved = copy.deepcopy(old)
    moved["processing"]["bpmn"] = DEFAULT_PROCESS.replace('x="190"', 'x="200"')
    with translation.override("en"):
        assert [c.label for c in diff_definitions(old, moved)] == [
            "Process: details or layout changed (no element added or removed)"
        ]
