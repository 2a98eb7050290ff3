"""Drawing a BPMN process as SVG from the layout in its BPMNDI section.

``render(xml_bytes, active=..., completed=...)`` returns a ``Diagram`` with
the SVG text (or ``None`` and a ``message`` when the file has no layout) and
``items``, a list of the steps in reading order that pages show next to or
instead of the picture (the text alternative).

The SVG is built with lxml, so every name from the file is escaped; it
contains no scripts, no event handlers, no links and no style elements (the
page's CSP forbids inline styles): shapes carry presentation attributes and
the classes ``bpmn-active`` / ``bpmn-completed`` for the page's stylesheet.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _
from lxml import etree

from .checks import _format
from .xmlsafe import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, UnsafeXMLError, is_bpmn, local_name, parse_xml

SVG_NS = "http://www.w3.org/2000/svg"
MARGIN = 20.0
ACTIVE_COLOUR = "#0b5cad"
COMPLETED_FILL = "#e3f1e3"
STROKE = "#1f2933"
FONT = "sans-serif"

KIND_LABELS: dict[str, Any] = {
    "task": _("Task"),
    "userTask": _("User task"),
    "manualTask": _("Manual task"),
    "serviceTask": _("Automatic step"),
    "scriptTask": _("Calculation"),
    "sendTask": _("Send task"),
    "receiveTask": _("Receive task"),
    "businessRuleTask": _("Business rule task"),
    "callActivity": _("Call activity"),
    "subProcess": _("Subprocess"),
    "transaction": _("Transaction"),
    "adHocSubProcess": _("Ad-hoc subprocess"),
    "startEvent": _("Start"),
    "endEvent": _("End"),
    "intermediateCatchEvent": _("Intermediate event"),
    "intermediateThrowEvent": _("Intermediate event"),
    "boundaryEvent": _("Boundary event"),
    "exclusiveGateway": _("Decision"),
    "parallelGateway": _("Parallel branches"),
    "inclusiveGateway": _("Inclusive gateway"),
    "eventBasedGateway": _("Event-based gateway"),
    "complexGateway": _("Complex gateway"),
}
TASK_KINDS = {
    "task",
    "userTask",
    "manualTask",
    "serviceTask",
    "scriptTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
    "adHocSubProcess",
}
EVENT_KINDS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAY_KINDS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}


@dataclass(frozen=True)
class DiagramItem:
    """One step of the process in the text alternative."""

    id: str
    name: str
    kind: str
    kind_label: Any
    lane: str
    state: str  # "active", "completed" or ""


@dataclass
class Diagram:
    """The result of ``render``: SVG (or a message) plus the text alternative."""

    svg: str | None
    message: Any = None
    title: str = ""
    items: list[DiagramItem] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def _num(value: str | None) -> float | None:
    try:
        result = float(value) if value is not None else None
    except ValueError:
        return None
    return result if result is not None and math.isfinite(result) and abs(result) < 1e6 else None


def _bounds(shape: etree._Element) -> tuple[float, float, float, float] | None:
    for child in shape:
        if child.tag == f"{{{DC_NS}}}Bounds":
            x, y, w, h = (_num(child.get(k)) for k in ("x", "y", "width", "height"))
            if x is None or y is None or w is None or h is None or w < 0 or h < 0:
                return None
            return x, y, w, h
    return None


def _label_bounds(shape: etree._Element) -> tuple[float, float, float, float] | None:
    for child in shape:
        if child.tag == f"{{{BPMNDI_NS}}}BPMNLabel":
            return _bounds(child)
    return None


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Svg:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})

    def el(self, parent: etree._Element, tag: str, text: str | None = None, **attrs: Any) -> etree._Element:
        element = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
        for key, value in attrs.items():
            if value is None:
                continue
            name = key.rstrip("_").replace("_", "-")
            element.set(name, _fmt(value) if isinstance(value, float) else str(value))
        if text is not None:
            element.text = text
        return element


def _wrap(name: str, width: float, font_size: float = 12.0) -> list[str]:
    chars = max(4, int(width / (font_size * 0.5)))
    lines = textwrap.wrap(name, chars, break_long_words=False) or [""]
    return lines[:4] if len(lines) <= 4 else [*lines[:3], lines[3][: max(1, chars - 1)] + "…"]


def _text_block(
    svg: _Svg, parent: etree._Element, name: str, cx: float, cy: float, width: float, font_size: float = 12.0
) -> None:
    if not name:
        return
    lines = _wrap(name, width, font_size)
    top = cy - (len(lines) - 1) * font_size * 0.6
    text = svg.el(
        parent, "text", None, x=cx, y=top, font_family=FONT, font_size=font_size, text_anchor="middle", fill=STROKE
    )
    for index, line in enumerate(lines):
        svg.el(text, "tspan", line, x=cx, dy=None if index == 0 else f"{font_size * 1.2:.1f}")


def render(
    xml_bytes: bytes | str,
    active: tuple[str, ...] | list[str] | set[str] = (),
    completed: tuple[str, ...] | list[str] | set[str] = (),
    id_prefix: str = "bpmn",
) -> Diagram:
    """Render the first diagram of the file; see the module docstring."""
    try:
        root = parse_xml(xml_bytes)
    except UnsafeXMLError:
        return Diagram(svg=None, message=_("The process file cannot be read, so no diagram can be shown."))
    active_ids, completed_ids = set(active), set(completed) - set(active)
    semantic = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and is_bpmn(el) and el.get("id")}
    lane_of: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane:
            if is_bpmn(ref, "flowNodeRef") and ref.text:
                lane_of[ref.text.strip()] = (lane.get("name") or "").strip()
    process = next((p for p in root if is_bpmn(p, "process") and any(True for _x in p)), None)
    participant = next((p for p in root.iter(f"{{{BPMN_NS}}}participant") if p.get("processRef")), None)
    title = ""
    if participant is not None and process is not None:
        title = (process.get("name") or participant.get("name") or "").strip()
    elif process is not None:
        title = (process.get("name") or "").strip()
    title = title or str(_("Process"))

    def state_of(ident: str) -> str:
        return "active" if ident in active_ids else "completed" if ident in completed_ids else ""

    plane = next(root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"), None)
    shapes = list(plane.iter(f"{{{BPMNDI_NS}}}BPMNShape")) if plane is not None else []
    positions: dict[str, tuple[float, float]] = {}
    for shape in shapes:
        bounds = _bounds(shape)
        if bounds is not None and shape.get("bpmnElement"):
            positions[shape.get("bpmnElement") or ""] = (bounds[1], bounds[0])

    items = _items(root, semantic, lane_of, positions, state_of)
    if not shapes:
        return Diagram(
            svg=None,
            message=_(
                "This process file contains no diagram layout (BPMNDI). Open it in a modelling tool and save it "
                "again to add one; the steps are listed below."
            ),
            title=str(title),
            items=items,
        )

    edges = list(plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge")) if plane is not None else []
    xs: list[float] = []
    ys: list[float] = []
    for shape in shapes:
        for bounds in (_bounds(shape), _label_bounds(shape)):
            if bounds is not None:
                xs += [bounds[0], bounds[0] + bounds[2]]
                ys += [bounds[1], bounds[1] + bounds[3]]
    for edge in edges:
        for point in edge.iter(f"{{{DI_NS}}}waypoint"):
            x, y = _num(point.get("x")), _num(point.get("y"))
            if x is not None and y is not None:
                xs.append(x)
                ys.append(y)
    min_x, min_y = min(xs) - MARGIN, min(ys) - MARGIN
    width, height = max(xs) - min_x + MARGIN, max(ys) - min_y + MARGIN

    svg = _Svg(id_prefix)
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    svg.root.set("role", "img")
    svg.root.set("aria-labelledby", f"{title_id} {desc_id}")
    svg.root.set("viewBox", f"{_fmt(min_x)} {_fmt(min_y)} {_fmt(width)} {_fmt(height)}")
    svg.root.set("width", _fmt(width))
    svg.root.set("height", _fmt(height))
    svg.root.set("class", "bpmn-diagram")
    svg.el(svg.root, "title", _format(_("Process diagram: %(title)s"), {"title": title}).__str__(), id=title_id)
    svg.el(svg.root, "desc", str(_description(items)), id=desc_id)
    defs = svg.el(svg.root, "defs")
    marker = svg.el(
        defs,
        "marker",
        id=f"{id_prefix}-arrow",
        viewBox="0 0 10 10",
        refX="10",
        refY="5",
        markerWidth="8",
        markerHeight="8",
        orient="auto-start-reverse",
    )
    svg.el(marker, "path", d="M 0 0 L 10 5 L 0 10 z", fill=STROKE)

    layers = {name: svg.el(svg.root, "g", class_=f"bpmn-{name}") for name in ("pools", "containers", "edges", "nodes")}
    for shape in shapes:
        element = semantic.get(shape.get("bpmnElement"))
        bounds = _bounds(shape)
        if element is None or bounds is None:
            continue
        kind = local_name(element)
        if kind in {"participant", "lane"}:
            _draw_band(svg, layers["pools"], element, bounds, shape.get("isHorizontal") != "false")
        elif kind in {"subProcess", "transaction", "adHocSubProcess"} and shape.get("isExpanded") == "true":
            _draw_task(svg, layers["containers"], element, bounds, state_of(element.get("id") or ""), expanded=True)
        elif kind in TASK_KINDS:
            _draw_task(svg, layers["nodes"], element, bounds, state_of(element.get("id") or ""))
        elif kind in EVENT_KINDS:
            _draw_event(svg, layers["nodes"], element, bounds, state_of(element.get("id") or ""))
            _draw_label(svg, layers["nodes"], element, shape, bounds)
        elif kind in GATEWAY_KINDS:
            _draw_gateway(svg, layers["nodes"], element, bounds, state_of(element.get("id") or ""))
            _draw_label(svg, layers["nodes"], element, shape, bounds)
        elif kind == "textAnnotation":
            text = "".join(t.text or "" for t in element if is_bpmn(t, "text"))
            group = svg.el(layers["nodes"], "g", class_="bpmn-annotation")
            x, y, w, h = bounds
            svg.el(
                group,
                "path",
                d=f"M {_fmt(x + 10)} {_fmt(y)} L {_fmt(x)} {_fmt(y)} L {_fmt(x)} {_fmt(y + h)} L {_fmt(x + 10)} {_fmt(y + h)}",
                fill="none",
                stroke=STROKE,
            )
            _text_block(svg, group, text.strip(), x + w / 2, y + h / 2 + 4, w, 11.0)
        elif kind in {"dataObjectReference", "dataStoreReference"}:
            x, y, w, h = bounds
            group = svg.el(layers["nodes"], "g", class_="bpmn-data")
            svg.el(group, "rect", x=x, y=y, width=w, height=h, fill="#ffffff", stroke=STROKE)
            _text_block(svg, group, (element.get("name") or "").strip(), x + w / 2, y + h + 14, max(w, 80.0), 11.0)
    for edge in edges:
        element = semantic.get(edge.get("bpmnElement"))
        if element is None:
            continue
        points = []
        for point in edge.iter(f"{{{DI_NS}}}waypoint"):
            x, y = _num(point.get("x")), _num(point.get("y"))
            if x is not None and y is not None:
                points.append((x, y))
        if len(points) < 2:
            continue
        kind = local_name(element)
        ident = element.get("id") or ""
        attrs: dict[str, Any] = {
            "points": " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points),
            "fill": "none",
            "stroke": ACTIVE_COLOUR if state_of(ident) else STROKE,
            "stroke_width": "1.5",
            "data_bpmn_id": ident,
            "class_": f"bpmn-edge bpmn-{kind}",
        }
        if kind == "sequenceFlow":
            attrs["marker_end"] = f"url(#{id_prefix}-arrow)"
        elif kind == "messageFlow":
            attrs["stroke_dasharray"] = "6 4"
            attrs["marker_end"] = f"url(#{id_prefix}-arrow)"
        else:
            attrs["stroke_dasharray"] = "2 3"
        svg.el(layers["edges"], "polyline", **attrs)
        name = (element.get("name") or "").strip()
        if name:
            label = _label_bounds(edge)
            if label is not None:
                lx, ly = label[0] + label[2] / 2, label[1] + label[3] / 2 + 4
            else:
                (x1, y1), (x2, y2) = points[0], points[1]
                lx, ly = (x1 + x2) / 2 + 6, (y1 + y2) / 2 - 6
            _text_block(svg, layers["edges"], name, lx, ly, 120.0, 11.0)
    return Diagram(
        svg=etree.tostring(svg.root, encoding="unicode"),
        title=str(title),
        items=items,
        width=width,
        height=height,
    )


def _state_attrs(state: str) -> dict[str, Any]:
    if state == "active":
        return {"stroke": ACTIVE_COLOUR, "stroke_width": "4"}
    if state == "completed":
        return {"stroke": STROKE, "stroke_width": "1.5", "fill": COMPLETED_FILL}
    return {"stroke": STROKE, "stroke_width": "1.5"}


def _group(svg: _Svg, parent: etree._Element, element: etree._Element, state: str, kind: str) -> etree._Element:
    classes = f"bpmn-node bpmn-{kind}" + (f" bpmn-{state}" if state else "")
    return svg.el(parent, "g", class_=classes, data_bpmn_id=element.get("id") or "")


def _draw_band(svg: _Svg, parent: etree._Element, element: etree._Element, bounds: tuple, horizontal: bool) -> None:
    x, y, w, h = bounds
    kind = local_name(element)
    group = svg.el(parent, "g", class_=f"bpmn-{kind}", data_bpmn_id=element.get("id") or "")
    svg.el(
        group,
        "rect",
        x=x,
        y=y,
        width=w,
        height=h,
        fill="#ffffff" if kind == "participant" else "none",
        stroke=STROKE,
        stroke_width="1.5",
    )
    name = (element.get("name") or "").strip()
    if horizontal:
        svg.el(group, "line", x1=x + 30, y1=y, x2=x + 30, y2=y + h, stroke=STROKE)
        cx, cy = x + 15, y + h / 2
        text = svg.el(
            group,
            "text",
            name,
            x=cx,
            y=cy + 4,
            font_family=FONT,
            font_size="12",
            text_anchor="middle",
            fill=STROKE,
            transform=f"rotate(-90 {_fmt(cx)} {_fmt(cy)})",
        )
        text.text = name
    else:
        svg.el(group, "line", x1=x, y1=y + 30, x2=x + w, y2=y + 30, stroke=STROKE)
        svg.el(
            group,
            "text",
            name,
            x=x + w / 2,
            y=y + 19,
            font_family=FONT,
            font_size="12",
            text_anchor="middle",
            fill=STROKE,
        )


def _draw_task(
    svg: _Svg, parent: etree._Element, element: etree._Element, bounds: tuple, state: str, expanded: bool = False
) -> None:
    x, y, w, h = bounds
    kind = local_name(element)
    group = _group(svg, parent, element, state, kind)
    attrs = _state_attrs(state)
    attrs.setdefault("fill", "#ffffff" if not expanded else "none")
    if kind == "callActivity":
        attrs["stroke_width"] = "4" if state == "active" else "3"
    svg.el(group, "rect", x=x, y=y, width=w, height=h, rx="10", ry="10", **attrs)
    name = (element.get("name") or "").strip()
    if expanded:
        svg.el(group, "text", name, x=x + 10, y=y + 18, font_family=FONT, font_size="12", fill=STROKE)
    else:
        _text_block(svg, group, name, x + w / 2, y + h / 2 + 4, w - 10)
    _task_marker(svg, group, kind, x + 6, y + 6)
    if kind == "subProcess" and not expanded:
        svg.el(group, "rect", x=x + w / 2 - 7, y=y + h - 16, width="14", height="14", fill="none", stroke=STROKE)
        svg.el(
            group,
            "path",
            d=f"M {_fmt(x + w / 2 - 4)} {_fmt(y + h - 9)} h 8 M {_fmt(x + w / 2)} {_fmt(y + h - 13)} v 8",
            stroke=STROKE,
        )
    for child in element:
        if is_bpmn(child, "multiInstanceLoopCharacteristics"):
            sequential = child.get("isSequential") == "true"
            bx, by = x + w / 2 - 6, y + h - 16
            for i in range(3):
                if sequential:
                    svg.el(
                        group, "line", x1=bx, y1=by + i * 5, x2=bx + 12, y2=by + i * 5, stroke=STROKE, stroke_width="2"
                    )
                else:
                    svg.el(
                        group, "line", x1=bx + i * 5, y1=by, x2=bx + i * 5, y2=by + 12, stroke=STROKE, stroke_width="2"
                    )


def _task_marker(svg: _Svg, group: etree._Element, kind: str, x: float, y: float) -> None:
    if kind in {"userTask", "manualTask"}:
        svg.el(group, "circle", cx=x + 7, cy=y + 4, r="3.5", fill="none", stroke=STROKE)
        svg.el(group, "path", d=f"M {_fmt(x)} {_fmt(y + 15)} q 7 -10 14 0", fill="none", stroke=STROKE)
    elif kind == "serviceTask":
        svg.el(
            group,
            "circle",
            cx=x + 7,
            cy=y + 7,
            r="6",
            fill="none",
            stroke=STROKE,
            stroke_width="3",
            stroke_dasharray="2.5 1.5",
        )
        svg.el(group, "circle", cx=x + 7, cy=y + 7, r="2", fill="none", stroke=STROKE)
    elif kind == "scriptTask":
        svg.el(group, "rect", x=x, y=y, width="12", height="15", fill="none", stroke=STROKE)
        for i in range(3):
            svg.el(group, "line", x1=x + 3, y1=y + 4 + i * 4, x2=x + 9, y2=y + 4 + i * 4, stroke=STROKE)
    elif kind in {"sendTask", "receiveTask"}:
        svg.el(
            group,
            "rect",
            x=x,
            y=y + 2,
            width="16",
            height="11",
            fill="#ffffff" if kind == "receiveTask" else STROKE,
            stroke=STROKE,
        )
    elif kind == "businessRuleTask":
        svg.el(group, "rect", x=x, y=y, width="16", height="12", fill="none", stroke=STROKE)
        svg.el(group, "line", x1=x, y1=y + 4, x2=x + 16, y2=y + 4, stroke=STROKE)


def _draw_event(svg: _Svg, parent: etree._Element, element: etree._Element, bounds: tuple, state: str) -> None:
    x, y, w, h = bounds
    kind = local_name(element)
    cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
    group = _group(svg, parent, element, state, kind)
    attrs = _state_attrs(state)
    attrs.setdefault("fill", "#ffffff")
    if kind == "endEvent" and state != "active":
        attrs["stroke_width"] = "4"
    if kind == "boundaryEvent" and element.get("cancelActivity") == "false":
        attrs["stroke_dasharray"] = "4 2"
    svg.el(group, "circle", cx=cx, cy=cy, r=r, **attrs)
    if kind in {"intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}:
        inner = {k: v for k, v in attrs.items() if k != "fill"}
        svg.el(group, "circle", cx=cx, cy=cy, r=max(r - 3, 1.0), fill="none", **inner)
    definitions = [local_name(c) for c in element if is_bpmn(c) and local_name(c).endswith("EventDefinition")]
    if "timerEventDefinition" in definitions:
        svg.el(group, "circle", cx=cx, cy=cy, r=r * 0.55, fill="#ffffff", stroke=STROKE)
        svg.el(
            group,
            "path",
            d=f"M {_fmt(cx)} {_fmt(cy)} L {_fmt(cx)} {_fmt(cy - r * 0.4)} M {_fmt(cx)} {_fmt(cy)} L {_fmt(cx + r * 0.3)} {_fmt(cy)}",
            stroke=STROKE,
        )
    elif "terminateEventDefinition" in definitions:
        svg.el(group, "circle", cx=cx, cy=cy, r=r * 0.55, fill=STROKE)
    elif "messageEventDefinition" in definitions:
        svg.el(group, "rect", x=cx - r * 0.5, y=cy - r * 0.35, width=r, height=r * 0.7, fill="none", stroke=STROKE)
    elif definitions:
        letter = definitions[0][0].upper()
        svg.el(
            group, "text", letter, x=cx, y=cy + 4, font_family=FONT, font_size="11", text_anchor="middle", fill=STROKE
        )


def _draw_gateway(svg: _Svg, parent: etree._Element, element: etree._Element, bounds: tuple, state: str) -> None:
    x, y, w, h = bounds
    kind = local_name(element)
    cx, cy = x + w / 2, y + h / 2
    group = _group(svg, parent, element, state, kind)
    attrs = _state_attrs(state)
    attrs.setdefault("fill", "#ffffff")
    points = f"{_fmt(cx)},{_fmt(y)} {_fmt(x + w)},{_fmt(cy)} {_fmt(cx)},{_fmt(y + h)} {_fmt(x)},{_fmt(cy)}"
    svg.el(group, "polygon", points=points, **attrs)
    d = w * 0.18
    if kind == "exclusiveGateway":
        path = f"M {_fmt(cx - d)} {_fmt(cy - d)} L {_fmt(cx + d)} {_fmt(cy + d)} M {_fmt(cx + d)} {_fmt(cy - d)} L {_fmt(cx - d)} {_fmt(cy + d)}"
        svg.el(group, "path", d=path, stroke=STROKE, stroke_width="3")
    elif kind == "parallelGateway":
        path = f"M {_fmt(cx)} {_fmt(cy - d * 1.3)} L {_fmt(cx)} {_fmt(cy + d * 1.3)} M {_fmt(cx - d * 1.3)} {_fmt(cy)} L {_fmt(cx + d * 1.3)} {_fmt(cy)}"
        svg.el(group, "path", d=path, stroke=STROKE, stroke_width="3")
    elif kind == "inclusiveGateway":
        svg.el(group, "circle", cx=cx, cy=cy, r=d * 1.2, fill="none", stroke=STROKE, stroke_width="2.5")
    elif kind == "eventBasedGateway":
        svg.el(group, "circle", cx=cx, cy=cy, r=d * 1.3, fill="none", stroke=STROKE)
        svg.el(group, "circle", cx=cx, cy=cy, r=d * 1.0, fill="none", stroke=STROKE)
    elif kind == "complexGateway":
        svg.el(group, "text", "*", x=cx, y=cy + 8, font_family=FONT, font_size="22", text_anchor="middle", fill=STROKE)


def _draw_label(
    svg: _Svg, parent: etree._Element, element: etree._Element, shape: etree._Element, bounds: tuple
) -> None:
    name = (element.get("name") or "").strip()
    if not name:
        return
    label = _label_bounds(shape)
    if label is not None and label[2] > 0:
        _text_block(svg, parent, name, label[0] + label[2] / 2, label[1] + 10, max(label[2], 60.0), 11.0)
    else:
        x, y, w, h = bounds
        _text_block(svg, parent, name, x + w / 2, y + h + 14, max(w * 2.5, 80.0), 11.0)


def _items(root, semantic, lane_of, positions, state_of) -> list[DiagramItem]:
    items = []
    for ident, element in semantic.items():
        kind = local_name(element)
        if kind not in TASK_KINDS | EVENT_KINDS | GATEWAY_KINDS:
            continue
        items.append(
            DiagramItem(
                id=ident,
                name=(element.get("name") or "").strip(),
                kind=kind,
                kind_label=KIND_LABELS.get(kind, kind),
                lane=lane_of.get(ident, ""),
                state=state_of(ident),
            )
        )
    return sorted(
        items, key=lambda item: (positions.get(item.id, (0.0, 0.0))[1], positions.get(item.id, (0.0, 0.0))[0])
    )


def _description(items: list[DiagramItem]) -> Any:
    steps = [i for i in items if i.kind in TASK_KINDS]
    active = [i.name or i.id for i in items if i.state == "active" and i.kind in TASK_KINDS]
    if active:
        return _format(
            _("%(count)s steps. Current: %(active)s. The list of steps next to the diagram describes it in text."),
            {"count": len(steps), "active": ", ".join(active)},
        )
    return _format(
        _("%(count)s steps. The list of steps next to the diagram describes it in text."), {"count": len(steps)}
    )


def text_alternative(diagram: Diagram) -> list[str]:
    """The items as plain lines (“User task: Check application (Road traffic office) – current step”)."""
    lines = []
    for item in diagram.items:
        line = f"{item.kind_label}: {item.name or item.id}"
        if item.lane:
            line += f" ({item.lane})"
        if item.state == "active":
            line += f" – {_('current step')}"
        elif item.state == "completed":
            line += f" – {_('done')}"
        lines.append(line)
    return lines
