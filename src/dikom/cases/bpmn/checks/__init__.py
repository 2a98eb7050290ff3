"""Import checks for BPMN 2.0 files: what is in the file, and can dikom run it?

``inspect(xml_bytes)`` never raises for bad input; it returns a ``ProcessReport``
listing every element of the process, the lanes (to be mapped to org units or
roles), and findings: errors (the file cannot be adopted as it is) and notes
(something is ignored or converted). Unsupported elements are reported here, at
import, so they never surface while a case is running.

When the report has no errors, ``report.engine_xml`` holds the prepared copy
the engine runs: data objects and vendor settings removed, Camunda/Zeebe
conditions converted to dikom's safe expressions, the process marked executable.

The package is split by concern: ``model`` (element kinds, limits, the report),
``foreign`` (conditions of other engines), ``base`` (state shared by the checks
and the engine copy), ``structure`` (choosing the process, lanes, the walk),
``events``, ``activities`` (call activities and the library, scripts, services,
loops, decisions), ``flows`` (sequence flows, conditions, splits) and
``inspector`` (the entry point ``inspect``). Other modules import from here.
"""

from ..xmlsafe import MAX_BYTES
from .flows import RENAMED_SUFFIX, RESERVED_IDS
from .foreign import _convert_foreign_expression
from .inspector import inspect, iter_errors, lane_map
from .model import (
    ERROR,
    MAX_CALL_DEPTH,
    MAX_FLOW_NODES,
    MAX_SEQUENCE_FLOWS,
    MAX_SUBPROCESS_DEPTH,
    NOTE,
    ElementInfo,
    Finding,
    LaneInfo,
    ProcessReport,
    ProcessResolver,
    _format,
    exceeds_limits,
    limit_problem,
)

__all__ = [
    "ERROR",
    "MAX_BYTES",
    "MAX_CALL_DEPTH",
    "MAX_FLOW_NODES",
    "MAX_SEQUENCE_FLOWS",
    "MAX_SUBPROCESS_DEPTH",
    "NOTE",
    "RENAMED_SUFFIX",
    "RESERVED_IDS",
    "ElementInfo",
    "Finding",
    "LaneInfo",
    "ProcessReport",
    "ProcessResolver",
    "_convert_foreign_expression",
    "_format",
    "exceeds_limits",
    "inspect",
    "iter_errors",
    "lane_map",
    "limit_problem",
]
