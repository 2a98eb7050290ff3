"""What the engine hands out and takes in: errors, service calls, task and timer infos, case data."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..checks import ProcessReport

STATE_FORMAT = "dikom-bpmn/1"

# SpiffWorkflow logs every task state change at INFO; keep that out of the
# platform's logs unless the deployment configures the "spiff" logger itself.
if logging.getLogger("spiff").level == logging.NOTSET:
    logging.getLogger("spiff").setLevel(logging.WARNING)
MAX_DATA_BYTES = 1024 * 1024
_DUE_LINE = re.compile(r"^\s*(?:due|frist)\s*:\s*(P\S+)\s*$", re.IGNORECASE | re.MULTILINE)


class EngineError(Exception):
    """An operation could not be carried out; the instance is unchanged.

    ``bpmn_id`` names the element that failed, when there is one.
    """

    def __init__(self, message: str, bpmn_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.bpmn_id = bpmn_id


class ProcessNotSupported(EngineError):
    """The file did not pass the import checks; ``report`` says why."""

    def __init__(self, report: ProcessReport) -> None:
        super().__init__("; ".join(str(f) for f in report.errors) or "The process cannot be run.")
        self.report = report


@dataclass(frozen=True)
class ServiceCall:
    """What a service task asks the automation for.

    ``key`` identifies this execution of the task: the n-th run of this
    element in this instance. Replaying the same stored state after a crash
    gives the same key, so handlers can use it to make side effects idempotent.
    """

    key: str
    bpmn_id: str
    name: str
    topic: str
    data: dict[str, Any]
    #: For business rule tasks (topic ``dmn:<decision>``): the case data name the decision's result goes to.
    result_variable: str = ""


ServiceHandler = Callable[[ServiceCall], Mapping[str, Any] | None]


@dataclass(frozen=True)
class UserTaskInfo:
    """A user task waiting for a person."""

    id: str
    bpmn_id: str
    name: str
    lane_id: str | None
    lane_name: str | None
    documentation: str
    ready_at: datetime
    due_at: datetime | None
    reminders: tuple[datetime, ...]
    data: dict[str, Any] = field(repr=False)
    #: A caseworker's choice at an exclusive gateway without conditions: the case data name to set, and the
    #: (value, label) pairs of the paths; ``complete_user_task`` refuses anything else.
    choice_variable: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    #: A message the case waits for (a message boundary event, the start of an event subprocess): the
    #: message's name. Completing the step delivers the message, with the entered data as its content.
    message: str = ""


@dataclass(frozen=True)
class TimerInfo:
    """A running timer (boundary, intermediate or start event)."""

    bpmn_id: str
    name: str
    due_at: datetime | None
    interrupting: bool
    attached_to: str | None


# -- data checks ------------------------------------------------------------


def _checked_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Case data must be plain JSON; ``typename`` keys are refused (SpiffWorkflow would revive them as objects)."""

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, bool) or value is None or isinstance(value, str | int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise EngineError(f"{path}: numbers must be finite")
            return value
        if isinstance(value, list | tuple):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            result = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise EngineError(f"{path}: keys must be text")
                if key == "typename":
                    raise EngineError(f"{path}: the key 'typename' is reserved")
                result[key] = walk(item, f"{path}.{key}" if path else key)
            return result
        raise EngineError(f"{path or 'data'}: {type(value).__name__} is not JSON data")

    if not isinstance(data, Mapping):
        raise EngineError("Case data must be a mapping")
    checked = walk(dict(data), "")
    if len(json.dumps(checked)) > MAX_DATA_BYTES:
        raise EngineError("Case data is too large")
    return checked
