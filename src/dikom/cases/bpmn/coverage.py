"""Import coverage of BPMN files from other tools: does dikom import each file, and does it run to its end?

``assess(xml)`` imports a file through the same checks as the service designer
(``checks.inspect``) and, when it is accepted, runs it as a case would: every
user task is completed with generated data (every variable a condition reads,
set to each value the conditions compare it with and to others), service tasks
are answered by an automation that changes nothing, timers are fired by moving the
clock forward, until the process ends. ``scripts/bpmn_coverage.py`` writes the
table for the BPMN MIWG reference models into ``docs/bpmn.md``; the test
``cases/tests/test_bpmn_miwg.py`` checks that the table is current and that no
accepted model fails while it runs.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree

from .checks import ProcessResolver, inspect
from .engine import EngineError, ProcessDefinition
from .xmlsafe import BPMN_NS, DIKOM_NS, parse_xml

START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
MAX_STEPS = 200
MAX_DATA_SETS = 32
MAX_CHOICE_RUNS = 64

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
    #: BPMN ids of the elements some run completed or stopped at, and of the flows a caseworker's choice took.
    visited: frozenset[str] = frozenset()

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


def data_sets(engine_xml: bytes, called: list[bytes] | None = None) -> list[dict[str, Any]]:
    """Case data that drives every condition: for each variable a condition reads, the values it is compared
    with (numbers also one above and below) or True and False; all combinations (at most ``MAX_DATA_SETS``).
    ``called`` are the engine copies of processes of the library the process calls."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    roots = [etree.fromstring(x, parser) for x in [engine_xml, *(called or [])]]
    compared: dict[str, list[Any]] = {}
    bare: set[str] = set()
    for condition in (c for root in roots for c in root.iter(f"{{{BPMN_NS}}}conditionExpression")):
        try:
            tree = ast.parse((condition.text or "").strip(), mode="eval")
        except SyntaxError:
            continue
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and id(node) not in called:
                bare.add(node.id)
            if (
                isinstance(node, ast.Compare)
                and len(node.ops) == 1
                and isinstance(node.ops[0], ast.In | ast.NotIn)
                and isinstance(node.comparators[0], ast.Name)
                and isinstance(node.left, ast.Constant)
            ):
                # ``"red" in risks``: a list with that item, and an empty one
                known = compared.setdefault(node.comparators[0].id, [])
                known.extend(v for v in ([node.left.value], []) if v not in known)
            elif isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                values = [n.value for n in operands if isinstance(n, ast.Constant)]
                for variable in (n.id for n in operands if isinstance(n, ast.Name)):
                    known = compared.setdefault(variable, [])
                    for value in values:
                        variants = [value, value + 1, value - 1] if isinstance(value, int | float) else [value]
                        known.extend(v for v in variants if v not in known)
    # A variable compared with values takes those values (the options of the form field that fills it);
    # one used as a truth value takes True and False.
    candidates = {name: compared.get(name) or [True, False] for name in bare}
    # A collection a repeated activity runs over: two items (from the form's repeating group).
    for reference in (r for root in roots for r in root.iter(f"{{{BPMN_NS}}}loopDataInputRef")):
        name = (reference.text or "").strip()
        if name.isidentifier():
            candidates[name] = [[f"{name} 1", f"{name} 2"]]
    if not candidates:
        return [{}]
    names = sorted(candidates)
    # First every value of every variable at least once (so every path a caseworker may choose and every
    # condition's outcome is taken), then further combinations up to the limit.
    width = max(len(candidates[n]) for n in names)
    rows = [tuple(candidates[n][i % len(candidates[n])] for n in names) for i in range(width)]
    for combo in itertools.product(*(candidates[n] for n in names)):
        if len(rows) >= MAX_DATA_SETS:
            break
        if combo not in rows:
            rows.append(combo)
    return [dict(zip(names, combo, strict=True)) for combo in rows[:MAX_DATA_SETS]]


def message_waits(engine_xml: bytes) -> list[str]:
    """BPMN ids of the events that wait for a message from outside (boundary events, event subprocess starts)."""
    root = etree.fromstring(engine_xml, etree.XMLParser(resolve_entities=False, no_network=True))
    ids = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}

    def passes_through(event: etree._Element) -> bool:
        # a boundary event on a plain task never waits: the task passes through at once
        attached = ids.get(event.get("attachedToRef"))
        return attached is not None and attached.tag == f"{{{BPMN_NS}}}task"

    return sorted(
        el.get("id") or "" for el in root.iter() if el.get(f"{{{DIKOM_NS}}}messageStep") and not passes_through(el)
    )


def _run(
    definition: ProcessDefinition,
    data: dict[str, Any],
    visited: set[str],
    seed: int = 0,
    messages: list[str] | None = None,
) -> tuple[str, str, int]:
    now = START
    # Service tasks go to the city's automation; here it answers with nothing (no change to the case data).
    instance = definition.start(data, now=now, service_handler=lambda call: None)
    choices_made: dict[str, int] = {}
    gateways = sorted(name for name in data if name.startswith("choice_"))
    messages = messages or []
    delivered: set[str] = set()
    steps = 0
    while not instance.is_completed and steps < MAX_STEPS:
        steps += 1
        visited.update(instance.completed_element_ids(), instance.active_element_ids())
        ready = instance.ready_user_tasks()
        waits = [t for t in ready if t.message and t.bpmn_id not in delivered]
        tasks = [t for t in ready if not t.message]
        # A message from outside: the bits of the run's number after the gateways' say whether it arrives as soon
        # as the case waits for it (so runs combine "arrives" and "does not arrive"); when nothing else can
        # happen, it arrives. Each message arrives at most once per run.
        message = next(
            (
                t
                for t in waits
                if t.bpmn_id in messages and (seed >> (len(gateways) + messages.index(t.bpmn_id))) & 1
            ),
            None,
        )
        if message is None and waits and not tasks and instance.next_timer_due() is None:
            message = waits[0]
        if message is not None:
            delivered.add(message.bpmn_id)
            instance.complete_user_task(message.id, data, now=now)
            visited.add(message.bpmn_id)
            continue
        if tasks:
            task = tasks[0]
            answer = data
            if task.choice_variable and task.choices:
                # A caseworker's choice: the bits of the run's number pick the first path at each gateway (so the
                # runs combine the gateways' paths), every later visit takes the next path (so a loop is left).
                turn = choices_made.get(task.choice_variable, 0)
                choices_made[task.choice_variable] = turn + 1
                position = gateways.index(task.choice_variable) if task.choice_variable in gateways else 0
                chosen = task.choices[((seed >> position) + turn) % len(task.choices)][0]
                visited.add(chosen)  # the id of the sequence flow taken
                answer = {**data, task.choice_variable: chosen}
            instance.complete_user_task(task.id, answer, now=now)
            continue
        due = instance.next_timer_due()
        if due is None:
            return IMPORTED_BUT_STUCK, "waits at " + ", ".join(instance.active_element_ids()), steps
        now = max(now, due) + timedelta(seconds=1)
        instance.fire_due_timers(now=now)
    visited.update(instance.completed_element_ids(), instance.active_element_ids())
    if not instance.is_completed:
        return "loops", "", steps
    return IMPORTED_AND_RUNS, "", steps


def assess(name: str, xml: bytes, resolve_process: ProcessResolver | None = None) -> Assessment:
    """Import ``xml`` and, if accepted, run it with every generated data set (see module docstring).

    It runs when every data set ends it, or loops only because the data stays the same (a loop that
    a person's answers would leave), and at least one ends it; it fails on any engine error or wait
    for nothing.
    """
    report = inspect(xml, resolve_process=resolve_process)
    if not report.ok or report.engine_xml is None:
        return Assessment(name, REFUSED, _refusal(report))
    total = 0
    ended = False
    visited: set[str] = set()
    try:
        definition = ProcessDefinition.from_xml(xml, resolve_process=resolve_process)
        sets = data_sets(report.engine_xml, [*report.called_processes.values()])
        messages = sorted(
            {m for x in [report.engine_xml, *report.called_processes.values()] for m in message_waits(x)}
        )
        # With caseworker's choices and messages from outside: enough runs for every combination of first paths
        # and arriving messages (at most 64).
        choices = len({name for name in sets[0] if name.startswith("choice_")})
        for seed in range(max(len(sets), min(2 ** (choices + len(messages)), MAX_CHOICE_RUNS))):
            data = sets[seed % len(sets)]
            outcome, detail, steps = _run(definition, data, visited, seed, messages)
            total += steps
            if outcome == IMPORTED_BUT_STUCK:
                return Assessment(name, outcome, f"{detail} (data {data})", total)
            ended = ended or outcome == IMPORTED_AND_RUNS
    except EngineError as exc:
        return Assessment(name, IMPORTED_BUT_FAILS, str(exc))
    if not ended:
        return Assessment(name, IMPORTED_BUT_STUCK, f"no data set ends it within {MAX_STEPS} steps", total)
    return Assessment(name, IMPORTED_AND_RUNS, "", total, frozenset(visited))


def folder_library(folder: Path) -> ProcessResolver:
    """The files of ``folder`` as a library: a call activity may call a process of any of them (as the
    released processes of the library are called)."""
    files: dict[str, bytes] = {}
    for path in sorted(folder.glob("*.bpmn")):
        content = path.read_bytes()
        try:
            root = parse_xml(content)
        except Exception:  # noqa: BLE001 - a broken file offers no process
            continue
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            files.setdefault(process.get("id") or "", content)
    return files.get


def assess_folder(folder: Path) -> list[Assessment]:
    library = folder_library(folder)
    return [assess(path.stem, path.read_bytes(), library) for path in sorted(folder.glob("*.bpmn"))]


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
