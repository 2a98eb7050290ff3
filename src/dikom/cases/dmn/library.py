"""The decision tables of a service (``processing.decisions`` of its definition: file key → DMN XML).

They are versioned, reviewed, released, adopted, exported and imported together with the service, like
its BPMN process. Business rule tasks of the process call them by decision id (``dmn:<id>`` topics);
``missing_decisions`` lets the service's checks refuse a process whose decisions are not all there, so a
case never meets an unknown decision while it runs.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from .tables import DecisionError, Decisions, Evaluation, read

#: At most this many DMN files per service.
MAX_FILES = 20


@functools.lru_cache(maxsize=128)
def _parsed(digest: str, xml: str) -> Decisions:
    return read(xml)


def parse(xml: str) -> Decisions:
    """``tables.read`` with a cache keyed by the file's hash (stored files are read on every business rule task)."""
    return _parsed(hashlib.sha256(xml.encode()).hexdigest(), xml)


def files_of(content: Any) -> dict[str, str]:
    """The DMN files of a service definition's content (file key → XML); empty when it has none."""
    processing = content.get("processing") if isinstance(content, Mapping) else None
    files = processing.get("decisions") if isinstance(processing, Mapping) else None
    if not isinstance(files, Mapping):
        return {}
    return {str(k): v for k, v in files.items() if isinstance(v, str)}


def find(files: Mapping[str, str], ref: str) -> tuple[str, Decisions] | None:
    """The file (key, parsed) that holds decision ``ref`` (its id, or its name)."""
    for key, xml in files.items():
        decisions = parse(xml)
        if decisions.get(ref) is not None:
            return key, decisions
    return None


def missing_decisions(files: Mapping[str, str], refs: Iterable[str]) -> list[str]:
    return [ref for ref in refs if find(files, ref) is None]


def evaluate(files: Mapping[str, str], ref: str, data: Mapping[str, Any]) -> Evaluation:
    found = find(files, ref)
    if found is None:
        raise DecisionError(f"The service has no decision {ref!r}.")
    return found[1].evaluate(ref, data)
