"""The BPMN MIWG reference models (``../shared/standards/bpmn-miwg/``): the coverage table in docs/bpmn.md is
computed from them, and no model that passes the import check fails or stops while a case runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation
from lxml import etree

from dikom.cases.bpmn.checks import inspect
from dikom.cases.bpmn.coverage import (
    IMPORTED_AND_RUNS,
    assess,
    assess_folder,
    folder_library,
    markers,
    message_waits,
    table,
)
from dikom.cases.bpmn.xmlsafe import BPMN_NS

ROOT = Path(__file__).resolve().parents[4]
MIWG = ROOT.parent / "shared" / "standards" / "bpmn-miwg"
DOCS = ROOT / "docs" / "bpmn.md"
BEGIN, END = markers("miwg-coverage")

pytestmark = pytest.mark.skipif(not MIWG.is_dir(), reason=f"the BPMN MIWG reference models are not at {MIWG}")

MODELS = sorted(MIWG.glob("*.bpmn")) if MIWG.is_dir() else []
#: The models as a library: C.9.0 calls ManualCheck of C.9.2, which calls requestDocument_en of C.9.1.
LIBRARY = folder_library(MIWG) if MIWG.is_dir() else None


def test_there_are_21_reference_models():
    assert len(MODELS) == 21


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_an_accepted_model_runs_to_its_end(path):
    result = assess(path.stem, path.read_bytes(), LIBRARY)

    if result.accepted:
        assert result.outcome == IMPORTED_AND_RUNS, result.detail
    else:
        assert result.detail  # a refusal always says why


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_path_a_caseworker_may_choose_is_taken_and_runs(path):
    report = inspect(path.read_bytes(), resolve_process=LIBRARY)
    gateways = [f.element_id for f in report.findings if f.code == "caseworker-choice"]
    if not report.ok or not gateways:
        pytest.skip("no caseworker's choice in this model")
    result = assess(path.stem, path.read_bytes(), LIBRARY)
    assert result.outcome == IMPORTED_AND_RUNS, result.detail
    root = etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
    flows = {f.get("id"): f for f in root.iter(f"{{{BPMN_NS}}}sequenceFlow")}
    for gateway in gateways:
        # every path was chosen in some run, and every run went on from there without an engine error
        paths = {ident for ident, f in flows.items() if f.get("sourceRef") == gateway}
        assert paths <= result.visited, (gateway, paths - result.visited)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_every_message_from_outside_arrives_in_some_run_and_the_case_goes_on(path):
    report = inspect(path.read_bytes(), resolve_process=LIBRARY)
    if not report.ok or report.engine_xml is None:
        pytest.skip("refused at import")
    waits = {m for x in [report.engine_xml, *report.called_processes.values()] for m in message_waits(x)}
    if not waits:
        pytest.skip("no message boundary event or event subprocess waiting for a message")
    result = assess(path.stem, path.read_bytes(), LIBRARY)
    assert result.outcome == IMPORTED_AND_RUNS, result.detail
    # each waiting event caught its message in some run (and that run went on to the end without an error)
    assert waits <= result.visited, waits - result.visited


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.stem)
def test_conditional_flows_leaving_activities_run(path):
    report = inspect(path.read_bytes(), resolve_process=LIBRARY)
    activities = [f.element_id for f in report.findings if f.code == "conditional-flows"]
    if not report.ok or not activities:
        pytest.skip("no conditional flows leaving an activity")
    result = assess(path.stem, path.read_bytes(), LIBRARY)
    assert result.outcome == IMPORTED_AND_RUNS, result.detail
    assert set(activities) <= result.visited


def test_the_coverage_table_in_the_docs_is_current():
    with translation.override("en"):
        expected = table(assess_folder(MIWG))
    content = DOCS.read_text()
    current = content[content.index(BEGIN) + len(BEGIN) : content.index(END)]

    assert current.strip() == expected.strip(), "run: scripts/bpmn_coverage.py --write"
