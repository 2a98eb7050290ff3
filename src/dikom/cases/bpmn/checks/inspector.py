"""The entry point ``inspect`` and helpers reading its report."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _
from lxml import etree

from .. import platform_events
from ..xmlsafe import BPMN_NS, MAX_BYTES, UnsafeXMLError, is_bpmn, namespace, parse_xml
from .model import ERROR, Finding, ProcessReport, ProcessResolver, _format, limit_problem
from .structure import StructureChecks


class _Inspector(StructureChecks):
    """One import check of one file (see ``inspect``)."""


def inspect(
    xml_bytes: bytes | str,
    max_bytes: int = MAX_BYTES,
    *,
    resolve_process: ProcessResolver | None = None,
    process_id: str | None = None,
    call_stack: tuple[str, ...] = (),
) -> ProcessReport:
    """Check a BPMN 2.0 file and describe its process; see the module docstring.

    ``resolve_process`` finds the released processes of the library that call activities call (by process id);
    without it only processes of the same file can be called. ``process_id`` checks that process of the file
    (a called one) instead of choosing the one to run.
    """
    report = ProcessReport()
    try:
        root = parse_xml(xml_bytes, max_bytes=max_bytes)
    except UnsafeXMLError as exc:
        messages = {
            "too-large": _("The file is too large for a process model."),
            "doctype": _(
                "The file contains a document type declaration (DTD); these are refused for security reasons."
            ),
            "too-many-elements": _("The file contains too many XML elements for a process model."),
            "not-xml": _("The file is not well-formed XML."),
            "not-bpmn": _("The file is not a BPMN 2.0 model (the root element must be bpmn:definitions)."),
        }
        report.findings.append(Finding(level=ERROR, code=exc.code, message=messages[exc.code], line=exc.line))
        return report

    too_big = limit_problem(root)
    if too_big is not None:
        report.findings.append(Finding(level=ERROR, code="too-many-elements", message=too_big))
        return report

    exporter = root.get("exporter") or ""
    if exporter:
        report.exporter = f"{exporter} {root.get('exporterVersion') or ''}".strip()
    report.has_diagram = any(True for _el in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape"))
    inspector = _Inspector(root, report, resolve_process, call_stack)
    for child in root:
        if isinstance(child.tag, str) and is_bpmn(child, "dataStore"):
            inspector.note("data-ignored", _("Data stores are ignored."), child)
        elif isinstance(child.tag, str) and is_bpmn(child, "import"):
            inspector.note("import-ignored", _("Imports of other files are ignored."), child)
    chosen = inspector.choose_process(process_id)
    if chosen is None:
        return report
    report.process_id = chosen.get("id")
    report.process_name = (chosen.get("name") or "").strip()
    participant_name = next(
        (
            (p.get("name") or "").strip()
            for p in root.iter(f"{{{BPMN_NS}}}participant")
            if p.get("processRef") == chosen.get("id")
        ),
        "",
    )
    if not report.process_name:
        report.process_name = participant_name or report.process_id or ""
    inspector.collect_lanes(chosen)
    inspector.walk(chosen, None, None)
    inspector.check_vendor_settings(chosen)
    platform_events.check(inspector, chosen)
    _check_unique_ids(root, inspector)
    if not report.errors:
        report.engine_xml = inspector.prepare_engine_copy(chosen)
    return report


def _check_unique_ids(root: etree._Element, inspector: _Inspector) -> None:
    seen: dict[str, etree._Element] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or namespace(element) != BPMN_NS:
            continue
        ident = element.get("id")
        if not ident:
            continue
        if ident in seen:
            inspector.error(
                "duplicate-id", _format(_("The id “%(id)s” is used more than once."), {"id": ident}), element
            )
        seen[ident] = element


def lane_map(report: ProcessReport) -> dict[str, str | None]:
    """Element id → lane id for every recorded element (None outside lanes)."""
    return {element.id: element.lane_id for element in report.elements}


def iter_errors(report: ProcessReport) -> Iterable[str]:
    """The error messages as plain text, with line numbers (for logs and tests)."""
    for finding in report.errors:
        yield str(finding)
