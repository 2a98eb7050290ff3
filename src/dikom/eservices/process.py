"""The BPMN process of a service as the designer, reviewers and adopting cities see it.

Page support only (nothing here writes to the database): reading an uploaded
BPMN file into the text the definition stores, the import report and the
diagram of ``processing.bpmn`` (``dikom.cases.bpmn``), which org unit of a city
each lane goes to, and the preview of the letter template with sample data.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from lxml import etree
from lxml import html as lxml_html

from dikom.cases.bpmn import checks, diagram
from dikom.cases.bpmn.xmlsafe import MAX_BYTES
from dikom.eservices.definition.schema import iter_steps, text
from dikom.lib import letterhead

#: Upload limit of a BPMN file (the parser refuses larger ones anyway).
MAX_UPLOAD_BYTES = MAX_BYTES
UPLOAD_SUFFIXES = (".bpmn", ".xml")
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
_DECLARATION_ENCODING = re.compile(r"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']")


class UploadError(ValueError):
    """The uploaded file cannot be read as text; ``message`` is shown to the designer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def decode_upload(data: bytes) -> str:
    """The uploaded file as text, in the encoding its XML declaration (or byte-order mark) names.

    The definition stores the process as a JSON string, read as UTF-8 later, so
    another declared encoding is replaced by UTF-8 (a UTF-8 file stays as it
    is); line breaks are kept, so the line numbers of the import report match
    the uploaded file."""
    if data.startswith(codecs.BOM_UTF8):
        encoding, data = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        match = _DECLARED_ENCODING.match(data)
        encoding = match.group(1).decode("ascii") if match else "utf-8"
    try:
        result = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise UploadError(
            _("The file is not a readable XML text (encoding %(encoding)s). Save it as UTF-8 and try again.")
            % {"encoding": encoding}
        ) from exc
    if "\x00" in result:
        raise UploadError(_("The file is not a readable XML text. Save it as UTF-8 and try again."))
    if codecs.lookup(encoding).name == "utf-8":
        return result
    return _DECLARATION_ENCODING.sub(r'\1 encoding="UTF-8"', result, count=1)


# --- the stored process: report, diagram, lanes ---------------------------------------------


@dataclass
class ReportLine:
    """One finding of the import report, ready for a page."""

    message: str
    tag: str
    element_id: str
    element_name: str
    line: int | None


@dataclass
class ProcessView:
    """What the pages show of a process."""

    name: str
    exporter: str
    errors: list[ReportLine]
    notes: list[ReportLine]
    svg: SafeString | None
    diagram_message: str
    steps: list[str]
    lanes: list[str] = field(default_factory=list)
    unnamed_lanes: int = 0


def report_lines(findings: list[checks.Finding]) -> list[ReportLine]:
    return [
        ReportLine(
            message=str(f.message),
            tag=f.tag or "",
            element_id=f.element_id or "",
            element_name=f.element_name or "",
            line=f.line,
        )
        for f in findings
    ]


def lane_names(report: checks.ProcessReport) -> list[str]:
    """The named lanes, once each, in file order (lanes are mapped by name)."""
    names: list[str] = []
    for lane in report.lanes:
        if lane.name and lane.name not in names:
            names.append(lane.name)
    return names


SVG_NS = "{http://www.w3.org/2000/svg}"
SVG_TAGS = frozenset(
    {"svg", "title", "desc", "defs", "marker", "path", "g", "rect", "circle", "line", "polyline", "polygon", "text"}
    | {"tspan", "ellipse"}
)


def safe_svg(result: diagram.Diagram) -> SafeString | None:
    """The renderer's SVG, marked safe for the page after checking that it is what the renderer
    draws: SVG shapes and texts only, no scripts, event handlers, links or foreign content."""
    if not result.svg:
        return None
    try:
        root = etree.fromstring(result.svg.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    for element in root.iter():
        if not isinstance(element.tag, str):
            return None  # comments or processing instructions are never drawn
        if not element.tag.startswith(SVG_NS) or element.tag[len(SVG_NS) :] not in SVG_TAGS:
            return None
        for name, value in element.attrib.items():
            lowered = name.lower()
            if lowered.startswith("on") or "href" in lowered or lowered == "style" or "javascript:" in value.lower():
                return None
    return mark_safe(result.svg)  # noqa: S308 - built by diagram.render with lxml (escaped) and checked above


def process_view(content: Any, id_prefix: str = "process") -> ProcessView | None:
    """The stored process of a definition (``processing.bpmn``) for a page, or None without one."""
    processing = content.get("processing") if isinstance(content, dict) else None
    xml = processing.get("bpmn") if isinstance(processing, dict) else None
    if not isinstance(xml, str) or not xml.strip():
        return None
    return view_of(xml, checks.inspect(xml, resolve_process=_released_process), id_prefix)


def view_of(xml: str, report: checks.ProcessReport, id_prefix: str = "process") -> ProcessView:
    drawn = diagram.render(xml, id_prefix=id_prefix) if report.process_id else None
    return ProcessView(
        name=report.process_name,
        exporter=report.exporter,
        errors=report_lines(report.errors),
        notes=report_lines(report.notes),
        svg=safe_svg(drawn) if drawn else None,
        diagram_message=str(drawn.message) if drawn and drawn.message else "",
        steps=diagram.text_alternative(drawn) if drawn else [],
        lanes=lane_names(report),
        unnamed_lanes=sum(1 for lane in report.lanes if not lane.name),
    )


def shared_lane_mapping(content: Any) -> dict[str, str]:
    """``processing.lanes`` of a definition: lane name → org unit name or short name."""
    processing = content.get("processing") if isinstance(content, dict) else None
    lanes = processing.get("lanes") if isinstance(processing, dict) else None
    if not isinstance(lanes, dict):
        return {}
    return {str(k): str(v) for k, v in lanes.items() if isinstance(k, str) and isinstance(v, str)}


def process_lanes(content: Any) -> list[str]:
    """The named lanes of a definition's process (empty without a usable process)."""
    processing = content.get("processing") if isinstance(content, dict) else None
    xml = processing.get("bpmn") if isinstance(processing, dict) else None
    if not isinstance(xml, str) or not xml.strip():
        return []
    return lane_names(checks.inspect(xml, resolve_process=_released_process))


@dataclass
class LaneTarget:
    """Where the tasks of one lane go in a city, without the city's own choice."""

    lane: str
    unit: Any  # OrgUnit or None (then: the responsible unit of the adoption)
    reason: str  # "shared", "name" or "" (responsible unit)
    shared_target: str = ""


def lane_targets(content: Any, units: list[Any]) -> list[LaneTarget]:
    """Per lane of the process, the org unit of ``units`` (one city's) that gets its tasks by the
    shared mapping (``processing.lanes``, by unit name or short name) or by equal name; the same
    rules as ``dikom.cases.actions._lane_units``."""
    by_key: dict[str, Any] = {}
    for unit in units:
        by_key.setdefault(unit.name.strip().lower(), unit)
        if unit.short_name:
            by_key.setdefault(unit.short_name.strip().lower(), unit)
    shared = {k.strip().lower(): v for k, v in shared_lane_mapping(content).items()}
    result = []
    for lane in process_lanes(content):
        target = shared.get(lane.strip().lower(), "")
        if target and target.strip().lower() in by_key:
            result.append(LaneTarget(lane, by_key[target.strip().lower()], "shared", target))
        elif lane.strip().lower() in by_key:
            result.append(LaneTarget(lane, by_key[lane.strip().lower()], "name", target))
        else:
            result.append(LaneTarget(lane, None, "", target))
    return result


# --- the letter template: preview with sample data -----------------------------------------

SAMPLE_VALUES: dict[str, Any] = {
    "text": "Beispiel",
    "long_text": "Ein längerer Beispieltext.",
    "number": 1,
    "email": "erika.mustermann@example.org",
    "phone": "0661 123456",
    "iban": "DE89370400440532013000",
    "postcode": "36037",
    "address": {"street": "Musterstraße", "house_number": "1", "postcode": "36037", "city": "Musterstadt"},
    "checkbox": True,
    "yes_no": "yes",
    "file": {"name": "nachweis.pdf", "size": 102400, "content_type": "application/pdf"},
}
NAME_KEYS = {"vorname": "Erika", "first_name": "Erika", "nachname": "Mustermann", "last_name": "Mustermann"}


def _sample_value(spec: dict[str, Any], today: dt.date) -> Any:
    kind = spec.get("type")
    key = str(spec.get("key", ""))
    if key in NAME_KEYS:
        return NAME_KEYS[key]
    if key == "name":
        return "Erika Mustermann"
    options = [o.get("value") for o in spec.get("options") or [] if isinstance(o, dict)]
    if kind == "select":
        return options[0] if options else ""
    if kind == "multi_select":
        return options[:1]
    if kind == "date":
        return today.isoformat()
    if kind == "number":
        validation = spec.get("validation") if isinstance(spec.get("validation"), dict) else {}
        low = validation.get("min") if isinstance(validation, dict) else None
        return low if isinstance(low, int | float) and not isinstance(low, bool) and low > 1 else 1
    if kind == "repeating_group":
        return [_sample_answers(spec.get("fields"), today)]
    return SAMPLE_VALUES.get(str(kind), "Beispiel")


def _sample_answers(fields: Any, today: dt.date) -> dict[str, Any]:
    return {
        str(spec.get("key")): _sample_value(spec, today)
        for spec in (fields if isinstance(fields, list) else [])
        if isinstance(spec, dict) and spec.get("key") and spec.get("type") != "info"
    }


def sample_letter_context(content: Any, municipality_name: str = "Musterstadt") -> dict[str, Any]:
    """A context of the shape ``dikom.cases.letters.letter_context`` gives, filled with sample data
    from the definition: every field answered, the fees calculated from those answers."""
    from dikom.eservices.definition import fees

    today = timezone.localdate()
    answers = {
        str(step.get("key")): _sample_answers(step.get("fields"), today)
        for _index, step in iter_steps(content)
        if step.get("key")
    }
    lines: list[dict[str, Any]]
    try:
        lines = [
            {"key": line.key, "label": line.label, "amount_cents": line.amount_cents}
            for line in fees.calculate(content, answers)
        ]
    except Exception:  # a fee rule that fails on sample data must not break the preview
        lines = []
    total = sum(int(line["amount_cents"]) for line in lines)
    identity = content.get("identity") if isinstance(content, dict) else None
    title = text((identity or {}).get("title"), "de") if isinstance(identity, dict) else ""
    return {
        "case": {
            "reference": "MU-2026-000123",
            "service": title,
            "outcome": "approved",
            "outcome_label": "bewilligt",
            "reasons": "Alle Voraussetzungen liegen vor.",
            "submitted_at": letterhead.short_date(today),
            "submitted_at_long": letterhead.long_date(today),
            "decided_at": letterhead.short_date(today),
            "decided_at_long": letterhead.long_date(today),
            "automatic": False,
        },
        # The fees are calculated from the answers as submitted (ISO dates); the letter shows them in German.
        "answers": letterhead.german_dates(answers),
        "fees": {"lines": lines, "total_cents": total, "total": _euros(total)},
        "municipality": {
            "name": municipality_name,
            "authority": f"Stadt {municipality_name}",
            "head": "Der Oberbürgermeister",
            "address": f"Musterplatz 1, 12345 {municipality_name}",
        },
    }


def _euros(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return f"{whole:,}".replace(",", ".") + f",{rest:02d} €"


#: Elements the letter preview keeps; everything else is dropped (its text stays).
PREVIEW_TAGS = frozenset(
    {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "th", "td"}
    | {"h2", "h3", "h4", "span", "div", "blockquote", "small", "sub", "sup", "hr", "dl", "dt", "dd", "caption"}
)
PREVIEW_DROP = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math"})
PREVIEW_ATTRIBUTES = frozenset({"colspan", "rowspan", "scope"})


def _clean_preview(rendered: str) -> str:
    """The rendered letter body reduced to plain text markup for the designer's page: the
    template is written by a designer but shown to others in the browser (CSP or not)."""
    if not rendered.strip():
        return ""
    wrapper = lxml_html.fragment_fromstring(rendered, create_parent="div")
    for element in list(wrapper.iter()):
        if element is wrapper:
            continue
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag.lower() in PREVIEW_DROP or not tag:
            element.drop_tree()
            continue
        if tag.lower() not in PREVIEW_TAGS:
            element.drop_tag()
            continue
        for name in list(element.attrib):
            if name.lower() not in PREVIEW_ATTRIBUTES:
                del element.attrib[name]
    return escape(wrapper.text or "") + "".join(lxml_html.tostring(child, encoding="unicode") for child in wrapper)


def render_letter_preview(source: str, content: Any, municipality_name: str = "Musterstadt") -> SafeString:
    """The letter template rendered in the letters' sandbox against sample data; raises
    ``dikom.cases.letters.LetterTemplateError`` for a template the sandbox refuses."""
    from dikom.cases.letters import LetterTemplateError
    from dikom.lib import template_sandbox

    try:
        rendered = template_sandbox.render(source, sample_letter_context(content, municipality_name))
    except LetterTemplateError:
        raise
    except Exception as error:  # any failure of the designer's template is shown, never raised
        raise LetterTemplateError(str(error)) from error
    return mark_safe(_clean_preview(rendered))  # noqa: S308 - sandbox output reduced to an allow-list above


def _released_process(process_id: str) -> str | None:
    from dikom.eservices.service import released_process

    return released_process(process_id)
