"""Checks of sequence flows and their conditions, and the gateways made explicit for the engine."""

from __future__ import annotations

import json
import re

from django.utils.translation import gettext_lazy as _
from lxml import etree

from .. import xpath
from ..expressions import ExpressionError, validate_expression
from ..xmlsafe import BPMN_NS, DIKOM_NS, is_bpmn, local_name
from .foreign import XPATH_LITERALS, _convert_foreign_expression, _has_condition
from .gateways import GatewayChecks
from .model import ACTIVITIES, DATA_ELEMENTS, PYTHON_LANGUAGES, ElementInfo, _format

#: Names SpiffWorkflow gives its own tasks of every process: an element with such an id would replace them.
RESERVED_IDS = {"Start", "End", "Root"}
#: Suffix of a renamed element in the engine copy (``engine.spiff._diagram_id`` removes it again).
RENAMED_SUFFIX = "__dikom_id"


def _rename_reserved_ids(root: etree._Element) -> None:
    """Elements with an id SpiffWorkflow uses itself (``Start``, ``End``) get another one in the engine copy."""
    renamed = {
        el.get("id"): f"{el.get('id')}{RENAMED_SUFFIX}"
        for el in root.iter()
        if isinstance(el.tag, str) and el.get("id") in RESERVED_IDS and not is_bpmn(el, "process")
    }
    if not renamed:
        return
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for attr in ("id", "sourceRef", "targetRef", "attachedToRef", "default"):
            if el.get(attr) in renamed:
                el.set(attr, renamed[el.get(attr) or ""])
        if is_bpmn(el, "incoming", "outgoing", "flowNodeRef") and (el.text or "").strip() in renamed:
            el.text = renamed[(el.text or "").strip()]


class FlowChecks(GatewayChecks):
    """Sequence flows, conditions and the splits of the engine copy."""

    def check_flow(self, flow: etree._Element, nodes: dict[str | None, etree._Element]) -> None:
        for attr in ("sourceRef", "targetRef"):
            ref = flow.get(attr)
            if not ref or ref not in nodes:
                self.error(
                    "missing-target",
                    _format(
                        _("Sequence flow %(flow)s points to “%(ref)s”, which is not an element of the same process."),
                        {"flow": self.label(flow), "ref": ref or ""},
                    ),
                    flow,
                )
        source = nodes.get(flow.get("sourceRef"))
        for condition in (c for c in flow if is_bpmn(c, "conditionExpression")):
            if not (condition.text or "").strip():
                # Tools write an empty condition element where the modeller gave none: the flow has no condition.
                self.note(
                    "empty-condition",
                    _format(
                        _("The condition of %(flow)s is empty; the flow is treated as one without a condition."),
                        {"flow": self.label(flow)},
                    ),
                    flow,
                    at=condition,
                )
                self.drop_from_engine(condition)
                continue
            if source is not None and is_bpmn(source, "eventBasedGateway"):
                continue  # the first event decides: the gateway's check drops the condition with a note
            if source is not None and not (
                is_bpmn(source, "exclusiveGateway", "parallelGateway", "inclusiveGateway")
                or local_name(source) in ACTIVITIES
            ):
                self.error(
                    "conditional-flow",
                    _format(
                        _("Conditional flow %(flow)s must leave a gateway or an activity."),
                        {"flow": self.label(flow)},
                    ),
                    flow,
                )
                continue
            self.check_condition(flow, condition)

    def check_condition(self, flow: etree._Element, condition: etree._Element) -> None:
        language = (condition.get("language") or "").strip().lower()
        text = (condition.text or "").strip()
        feel = "feel" in language
        if "xpath" in language:
            self.check_xpath_condition(flow, condition, text)
            return
        if language and language not in PYTHON_LANGUAGES and not feel and language != "juel":
            self.error(
                "unsupported-language",
                _format(
                    _("The condition of %(flow)s is written in “%(language)s”; dikom needs a safe expression."),
                    {"flow": self.label(flow), "language": condition.get("language")},
                ),
                flow,
                at=condition,
            )
            return
        converted, dialect = _convert_foreign_expression(text, feel=feel)
        if dialect is None and not language:
            # No language given: exports of Trisotech, Signavio and others write FEEL here (BPMN's default,
            # XPath, is what nobody writes); read it as FEEL when it is not already a safe expression.
            try:
                validate_expression(converted)
            except ExpressionError:
                converted, dialect = _convert_foreign_expression(text, feel=True)
        try:
            validate_expression(converted)
        except ExpressionError as exc:
            self.error(
                "unsafe-expression",
                _format(
                    _("The condition “%(expression)s” of %(flow)s is not allowed: %(reason)s"),
                    {"expression": text, "flow": self.label(flow), "reason": exc.message},
                ),
                flow,
                at=condition,
            )
            return
        if dialect:
            self.engine_index_text(condition, converted)
            self.drop_language(condition)
            self.note(
                "converted-condition",
                _format(
                    _("The %(dialect)s condition “%(original)s” of %(flow)s was converted to “%(converted)s”."),
                    {"dialect": dialect, "original": text, "flow": self.label(flow), "converted": converted},
                ),
                flow,
                at=condition,
            )

    def check_xpath_condition(self, flow: etree._Element, condition: etree._Element, text: str) -> None:
        """XPath (BPMN's default language, written by older tools): the simple forms translate (see ``xpath``),
        anything else is refused with the exact expression and its line."""
        try:
            converted = xpath.translate(text)
            validate_expression(converted)
        except (xpath.XPathNotTranslatable, ExpressionError) as exc:
            part = exc.part if isinstance(exc, xpath.XPathNotTranslatable) else exc.message
            self.error(
                "unsupported-language",
                _format(
                    _(
                        "The XPath condition “%(expression)s” of %(flow)s cannot be translated (at “%(part)s”): "
                        "dikom translates comparisons, and/or/not, texts, numbers and data references "
                        "(bpmn:getDataObject, $variables) only. Write it as a safe expression."
                    ),
                    {"expression": text, "flow": self.label(flow), "part": part},
                ),
                flow,
                at=condition,
            )
            return
        self.engine_index_text(condition, converted)
        self.drop_language(condition)
        if text.lower() not in XPATH_LITERALS:
            self.note(
                "converted-condition",
                _format(
                    _("The %(dialect)s condition “%(original)s” of %(flow)s was converted to “%(converted)s”."),
                    {"dialect": "XPath", "original": text, "flow": self.label(flow), "converted": converted},
                ),
                flow,
                at=condition,
            )

    def make_choice(
        self, node: etree._Element, outgoing: list[etree._Element], lane: str | None, parent_id: str | None
    ) -> None:
        """In the engine copy: incoming flows → a user task asking for the path → the gateway, whose flows get
        the conditions ``choice_<gateway> == "<flow id>"``."""
        twin = self.engine_twin(node)
        container = twin.getparent() if twin is not None else None
        if twin is None or container is None:
            return
        ident = twin.get("id") or ""
        variable = "choice_" + re.sub(r"\W", "_", ident)
        task_id, flow_id = f"{ident}__dikom_choice", f"{ident}__dikom_to_gateway"
        for flow in container:
            if is_bpmn(flow, "sequenceFlow") and flow.get("targetRef") == ident:
                flow.set("targetRef", task_id)
        task = etree.SubElement(container, f"{{{BPMN_NS}}}userTask", id=task_id)
        gateway_name = " ".join((node.get("name") or "").split()) or ident
        task.set("name", str(_format(_("Choose the path: %(gateway)s"), {"gateway": gateway_name})))
        for ref in [c for c in twin if is_bpmn(c, "incoming")]:
            twin.remove(ref)
            etree.SubElement(task, f"{{{BPMN_NS}}}incoming").text = ref.text
        etree.SubElement(task, f"{{{BPMN_NS}}}outgoing").text = flow_id
        etree.SubElement(twin, f"{{{BPMN_NS}}}incoming").text = flow_id
        etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=task_id, targetRef=ident)
        twin.attrib.pop("default", None)
        options = []
        for flow in outgoing:
            flow_twin = self.engine_twin(flow)
            if flow_twin is None:
                continue
            for condition in [c for c in flow_twin if is_bpmn(c, "conditionExpression")]:
                flow_twin.remove(condition)
            value = flow.get("id") or ""
            etree.SubElement(flow_twin, f"{{{BPMN_NS}}}conditionExpression").text = f"{variable} == {value!r}"
            options.append([value, self.flow_label(flow)])
        task.set(f"{{{DIKOM_NS}}}choice", variable)
        task.set(f"{{{DIKOM_NS}}}choices", json.dumps(options, ensure_ascii=False))
        self.report.elements.append(
            ElementInfo(task_id, task.get("name") or "", "bpmn:userTask", node.sourceline, True, lane, parent_id)
        )

    def make_split_explicit(self, node: etree._Element) -> None:
        """In the engine copy: ``node`` → new parallel gateway → the node's former targets."""
        twin = self.engine_twin(node)
        container = twin.getparent() if twin is not None else None
        if twin is None or container is None:
            return
        ident = twin.get("id") or ""
        gateway_id, flow_id = f"{ident}__dikom_split", f"{ident}__dikom_to_split"
        outgoing = [f for f in container if is_bpmn(f, "sequenceFlow") and f.get("sourceRef") == ident]
        for child in [c for c in twin if is_bpmn(c, "outgoing")]:
            twin.remove(child)
        etree.SubElement(twin, f"{{{BPMN_NS}}}outgoing").text = flow_id
        gateway = etree.SubElement(container, f"{{{BPMN_NS}}}parallelGateway", id=gateway_id)
        etree.SubElement(gateway, f"{{{BPMN_NS}}}incoming").text = flow_id
        for flow in outgoing:
            flow.set("sourceRef", gateway_id)
            etree.SubElement(gateway, f"{{{BPMN_NS}}}outgoing").text = flow.get("id")
        etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=ident, targetRef=gateway_id)

    def make_conditional_split(self, node: etree._Element, outgoing: list[etree._Element]) -> None:
        """In the engine copy: ``node`` → new inclusive gateway → the node's former targets; flows without a
        condition get ``True``, the node's default flow becomes the gateway's default."""
        twin = self.engine_twin(node)
        container = twin.getparent() if twin is not None else None
        if twin is None or container is None:
            return
        ident = twin.get("id") or ""
        gateway_id, flow_id = f"{ident}__dikom_conditions", f"{ident}__dikom_to_conditions"
        default = twin.attrib.pop("default", None)
        for child in [c for c in twin if is_bpmn(c, "outgoing")]:
            twin.remove(child)
        etree.SubElement(twin, f"{{{BPMN_NS}}}outgoing").text = flow_id
        gateway = etree.SubElement(container, f"{{{BPMN_NS}}}inclusiveGateway", id=gateway_id)
        if default:
            gateway.set("default", default)
        etree.SubElement(gateway, f"{{{BPMN_NS}}}incoming").text = flow_id
        for flow in outgoing:
            flow_twin = self.engine_twin(flow)
            if flow_twin is None:
                continue
            flow_twin.set("sourceRef", gateway_id)
            etree.SubElement(gateway, f"{{{BPMN_NS}}}outgoing").text = flow_twin.get("id")
            if flow_twin.get("id") != default and not _has_condition(flow_twin):
                for condition in [c for c in flow_twin if is_bpmn(c, "conditionExpression")]:
                    flow_twin.remove(condition)
                etree.SubElement(flow_twin, f"{{{BPMN_NS}}}conditionExpression").text = "True"
        etree.SubElement(container, f"{{{BPMN_NS}}}sequenceFlow", id=flow_id, sourceRef=ident, targetRef=gateway_id)

    def prepare_engine_copy(self, chosen: etree._Element) -> bytes:
        for gateway, events in self.event_gateways:
            self.make_event_gateway(gateway, events)
        for flow in self.unconditional_flows:
            self.make_always_taken(flow)
        for throw, catch in self.link_pairs:
            self.make_link(throw, catch)
        for node, outgoing in self.conditional_activities:
            self.make_conditional_split(node, outgoing)
        for node in self.implicit_splits:
            self.make_split_explicit(node)
        for gateway, outgoing, lane, parent_id in self.choice_gateways:
            self.make_choice(gateway, outgoing, lane, parent_id)
        for process in (p for p in self.engine_root if is_bpmn(p, "process")):
            if process.get("id") == chosen.get("id"):
                process.set("isExecutable", "true")
        for element in list(self.engine_root.iter()):
            if not isinstance(element.tag, str):
                continue
            if is_bpmn(
                element, "dataStore", "import", "correlationProperty", "correlationKey", "correlationSubscription"
            ) or (is_bpmn(element) and local_name(element) in DATA_ELEMENTS):
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)
        _rename_reserved_ids(self.engine_root)
        return etree.tostring(self.engine_root, xml_declaration=True, encoding="UTF-8")
