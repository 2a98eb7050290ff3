"""Import coverage of BPMN files from other tools: does dikom import each file, and does it run to its end?

``assess(xml)`` imports a file through the same checks as the service designer
(``checks.inspect``) and, when it is accepted, runs it as a case would: every
user task is completed with generated data, timers are fired by moving the
clock forward, until the process ends. ``scripts/bpmn_coverage.py`` writes the
table for the BPMN MIWG reference models into ``docs/bpmn.md``; the test
``cases/tests/test_bpmn_miwg.py`` checks that the table is current and that no
accepted model fails while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .checks import inspect
from .engine import EngineError, ProcessDefinition

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
MAX_STEPS = 200

IMPORTED_AND_RUNS = "imported, runs to its end"
IMPORTED_BUT_FAILS = "imported, FAILS while running"
IMPORTED_BUT_STUCK = "imported, stops without end"
REFUSED = "refused at import"


@dataclass(frozen=True)
class Assessment:
    name: str
    outcome: str
    detail: str = ""
    steps: int = 0

    @property
    def accepted(self) -> bool:
        return self.outcome != REFUSED


def _refusal(report) -> str:
    reasons: list[str] = []
    for finding in report.errors:
        text = f"{finding.code} `{finding.tag}`" if finding.tag else finding.code
        if text not in reasons:
            reasons.append(text)
    if report.process_id is None and not reasons:
        reasons.append("no executable process")
    return ", ".join(reasons)


def assess(name: str, xml: bytes) -> Assessment:
    """Import ``xml`` and, if accepted, run it with generated data until it ends (see module docstring)."""
    report = inspect(xml)
    if not report.ok:
        return Assessment(name, REFUSED, _refusal(report))
    try:
        definition = ProcessDefinition.from_xml(xml)
        now = START
        instance = definition.start({}, now=now)
        steps = 0
        while not instance.is_completed and steps < MAX_STEPS:
            steps += 1
            tasks = instance.ready_user_tasks()
            if tasks:
                instance.complete_user_task(tasks[0].id, {}, now=now)
                continue
            due = instance.next_timer_due()
            if due is None:
                return Assessment(name, IMPORTED_BUT_STUCK, ", ".join(instance.active_element_ids()), steps)
            now = max(now, due) + timedelta(seconds=1)
            instance.fire_due_timers(now=now)
    except EngineError as exc:
        return Assessment(name, IMPORTED_BUT_FAILS, str(exc))
    if not instance.is_completed:
        return Assessment(name, IMPORTED_BUT_STUCK, f"more than {MAX_STEPS} steps", steps)
    return Assessment(name, IMPORTED_AND_RUNS, "", steps)


def assess_folder(folder: Path) -> list[Assessment]:
    return [assess(path.stem, path.read_bytes()) for path in sorted(folder.glob("*.bpmn"))]


def table(results: list[Assessment]) -> str:
    """The coverage table as Markdown (what ``docs/bpmn.md`` shows)."""
    runs = sum(1 for r in results if r.outcome == IMPORTED_AND_RUNS)
    lines = [
        f"{runs} of {len(results)} models import and run to their end; "
        f"{sum(1 for r in results if r.outcome == REFUSED)} are refused at import; "
        f"{sum(1 for r in results if r.accepted and r.outcome != IMPORTED_AND_RUNS)} are imported but do not end.",
        "",
        "| Model | Result | Reason |",
        "|---|---|---|",
    ]
    for r in results:
        detail = r.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {r.name} | {r.outcome} | {detail} |")
    return "\n".join(lines) + "\n"
