"""The official Camunda 7 examples and Camunda 8 style models (``tests/bpmn/camunda7``, ``camunda8``): each
imports and runs to its end along every path, or is refused for a feature docs/bpmn.md lists as unsupported;
the tables in docs/bpmn.md are current."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from dikom.cases.bpmn.checks import inspect
from dikom.cases.bpmn.coverage import (
    COLLECTIONS,
    IMPORTED_AND_RUNS,
    assess,
    assess_folder,
    folder_library,
    markers,
    message_waits,
    table,
)

DOCS = Path(__file__).resolve().parents[4] / "docs" / "bpmn.md"
FOLDERS = [COLLECTIONS["camunda7-coverage"], COLLECTIONS["camunda8-coverage"]]
MODELS = [path for folder in FOLDERS for path in sorted(folder.glob("*.bpmn"))]
LIBRARIES = {folder: folder_library(folder) for folder in FOLDERS}

#: The unsupported features docs/bpmn.md names, as they appear in the refusals (finding code, words of the message).
LISTED = [
    ("unsupported-element", "script language"),  # Groovy, JavaScript, XSLT
    ("bad-timer", "is not an ISO 8601"),  # timer values that are neither ISO 8601 nor cron
    ("unsupported-element", "Conditional events are not supported"),
    ("unsafe-expression", "is not allowed: Calling"),  # Java method calls in conditions
]


def test_the_examples_are_there():
    assert len(list(FOLDERS[0].glob("*.bpmn"))) == 51
    assert (FOLDERS[0] / "LICENSE.txt").is_file() and (FOLDERS[0] / "README.md").is_file()
    assert len(list(FOLDERS[1].glob("*.bpmn"))) >= 3


@pytest.mark.parametrize("path", MODELS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_an_example_runs_along_every_path_or_is_refused_for_a_listed_feature(path):
    library = LIBRARIES[path.parent]
    with translation.override("en"):
        report = inspect(path.read_bytes(), resolve_process=library)
        result = assess(path.stem, path.read_bytes(), library)
        refusals = [(f.code, str(f.message)) for f in report.errors]

    if not result.accepted:
        for found, message in refusals:
            assert any(found == code and words in message for code, words in LISTED), message
        return
    assert result.outcome == IMPORTED_AND_RUNS, result.detail
    # every awaited message arrived in some run, every activity with conditional flows was passed
    waits = {m for x in [report.engine_xml or b"", *report.called_processes.values()] for m in message_waits(x)}
    assert waits <= result.visited
    chosen = {f.element_id for f in report.findings if f.code in {"conditional-flows", "caseworker-choice"}}
    assert chosen <= result.visited


def test_most_camunda_7_examples_run():
    results = assess_folder(FOLDERS[0])
    assert sum(1 for r in results if r.outcome == IMPORTED_AND_RUNS) >= 46


@pytest.mark.parametrize("name", ["camunda7-coverage", "camunda8-coverage"])
def test_the_tables_in_the_docs_are_current(name):
    with translation.override("en"):
        expected = table(assess_folder(COLLECTIONS[name]))
    begin, end = markers(name)
    content = DOCS.read_text()
    current = content[content.index(begin) + len(begin) : content.index(end)]

    assert current.strip() == expected.strip(), "run: scripts/bpmn_coverage.py --write"
