"""Running a checked BPMN process with SpiffWorkflow.

``ProcessDefinition.from_xml(xml)`` checks the file (``checks.inspect``) and
parses it; ``definition.start(data, now=...)`` gives a ``ProcessInstance``.
An instance is plain data between calls: ``instance.dump()`` returns a
JSON-compatible dict (store it in a JSONField), ``ProcessInstance.load(state)``
restores it, also in another process after a restart; the dict contains the
parsed process, so the XML is not needed again.

Every operation takes the time as ``now`` (default: the wall clock). Timers
store their due time as an absolute instant when they start, so a timer that
became due while the server was down fires on the next ``fire_due_timers``.

Service tasks call the ``service_handler`` given to ``start``/``load`` with a
``ServiceCall``; its returned mapping is merged into the case data. Each
operation is all-or-nothing: if a handler, a script or a condition fails, the
instance is rolled back to its state before the call and ``EngineError`` is
raised, so a crash in the middle of an automation never leaves half a step.
A handler may run again for the same ``ServiceCall.key`` after a crash between
its side effect and the caller's commit, so handlers must be idempotent.

Conditions, scripts and timer expressions run in dikom's safe expression
language (``expressions``), never in Python's ``eval``.

The package is split by concern: ``base`` (errors, service calls, task and timer
infos, case data checks), ``spiff`` (the adapters of SpiffWorkflow),
``instance`` (``ProcessInstance``), ``event_starts`` (event subprocesses started
by a timer, a signal or a condition, and interrupting) and ``definition``
(``ProcessDefinition``).
Other modules import from here.
"""

from ..xmlsafe import BPMN_NS
from .base import EngineError, ProcessNotSupported, ServiceCall, ServiceHandler, TimerInfo, UserTaskInfo
from .definition import ProcessDefinition
from .instance import ProcessInstance
from .spiff import SafeEnvironment

__all__ = [
    "BPMN_NS",
    "EngineError",
    "ProcessDefinition",
    "ProcessInstance",
    "ProcessNotSupported",
    "SafeEnvironment",
    "ServiceCall",
    "ServiceHandler",
    "TimerInfo",
    "UserTaskInfo",
]
