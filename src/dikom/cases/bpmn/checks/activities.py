"""Checks of activities: call activities (and the library they call), scripts, services, loops, decisions."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _
from lxml import etree

from ..expressions import ExpressionError, validate_expression, validate_script
from ..xmlsafe import BPMN_NS, DIKOM_NS, is_bpmn, local_name, namespace
from .base import InspectorBase
from .foreign import _convert_foreign_expression
from .model import (
    MAX_CALL_DEPTH,
    PYTHON_LANGUAGES,
    TASKS,
    TOPIC_ATTRIBUTES,
    UNSUPPORTED_TASKS,
    ElementInfo,
    _format,
    _vendor,
)


class ActivityChecks(InspectorBase):
    """Activities that need more than a type check."""

    def check_call_activity(self, node: etree._Element, lane: str | None) -> bool:
        """A call activity runs a process of this file or a released process of the library."""
        called = (node.get("calledElement") or "").strip()
        if not called:
            # Camunda 8 names the called process only in its extension (zeebe:calledElement processId="…").
            for ext in (c for c in node if is_bpmn(c, "extensionElements")):
                for child in ext:
                    if isinstance(child.tag, str) and local_name(child) == "calledElement" and child.get("processId"):
                        called = (child.get("processId") or "").strip().lstrip("=").strip()
            if called:
                self.set_engine_attr(node, "calledElement", called)
        target = self.ids.get(called) if called else None
        if target is not None and is_bpmn(target, "process"):
            self.mark_executable(target)
            self.collect_lanes(target)
            self.walk(target, node.get("id"), lane)
            return True
        if not called:
            self.unsupported(node, _("it does not name the process it calls."))
            return False
        if called in self.report.called_processes:
            return True
        if called in self.call_stack or called == self.report.process_id:
            self.unsupported(
                node, _format(_("process “%(process)s” calls itself (through the library)."), {"process": called})
            )
            return False
        xml = self.resolve_process(called) if self.resolve_process is not None else None
        if xml is None:
            self.unsupported(
                node,
                _format(
                    _(
                        "it calls process “%(process)s”, which is neither in this file nor a released process of "
                        "the library. Release the service that contains it first, or add the process to this file."
                    ),
                    {"process": called},
                ),
            )
            return False
        if len(self.call_stack) >= MAX_CALL_DEPTH:
            self.unsupported(
                node,
                _format(
                    _("calls of processes of the library are nested more than %(limit)s levels deep."),
                    {"limit": MAX_CALL_DEPTH},
                ),
            )
            return False
        from .inspector import inspect  # a called process is checked like a file of its own (an import cycle)

        sub = inspect(
            xml,
            resolve_process=self.resolve_process,
            process_id=called,
            call_stack=(*self.call_stack, self.report.process_id or ""),
        )
        if not sub.ok or sub.engine_xml is None:
            problems = "; ".join(str(f.message) for f in sub.errors[:3]) or _("it has no executable process")
            self.unsupported(
                node,
                _format(
                    _("process “%(process)s” of the library cannot be run: %(problems)s"),
                    {"process": called, "problems": problems},
                ),
            )
            return False
        self.report.called_processes[called] = sub.engine_xml
        self.report.called_processes.update(sub.called_processes)
        self.report.decision_refs.extend(sub.decision_refs)
        for element in sub.elements:
            self.report.elements.append(
                ElementInfo(
                    element.id,
                    element.name,
                    element.tag,
                    None,  # a line of the other file
                    element.supported,
                    element.lane_id or lane,
                    element.parent_id or node.get("id"),
                )
            )
        self.report.lanes.extend(sub.lanes)
        self.note(
            "library-process",
            _format(
                _("Call activity %(activity)s runs process “%(process)s” of the library (its released version)."),
                {"activity": self.label(node), "process": called},
            ),
            node,
        )
        return True

    def check_script(self, node: etree._Element) -> bool:
        language = (node.get("scriptFormat") or "").strip().lower()
        scripts = [c for c in node if is_bpmn(c, "script")]
        if language not in PYTHON_LANGUAGES:
            self.unsupported(
                node,
                _format(
                    _(
                        "script language “%(language)s” is not supported; write the script in dikom's safe expression language."
                    ),
                    {"language": node.get("scriptFormat")},
                ),
            )
            return False
        if not scripts or not (scripts[0].text or "").strip():
            self.error(
                "empty-script", _format(_("Script task %(task)s has no script."), {"task": self.label(node)}), node
            )
            return False
        try:
            validate_script(scripts[0].text or "")
        except ExpressionError as exc:
            raw = (scripts[0].text or "").replace("\r\n", "\n")
            blank_lead = 0
            for text_line in raw.split("\n"):
                if text_line.strip():
                    break
                blank_lead += 1
            line = (
                scripts[0].sourceline + blank_lead + (exc.line - 1 if exc.line else 0)
                if scripts[0].sourceline
                else None
            )
            self.error(
                "unsafe-script",
                _format(
                    _("The script of %(task)s is not allowed: %(reason)s"),
                    {"task": self.label(node), "reason": exc.message},
                ),
                node,
                at=scripts[0],
                line=line,
            )
            return False
        return True

    def check_service(self, node: etree._Element) -> None:
        topic = node.get(f"{{{DIKOM_NS}}}topic")
        if topic:
            return
        for attr, value in node.attrib.items():
            vendor = _vendor(namespace(attr))
            if vendor and (vendor, attr.rsplit("}", 1)[-1]) in TOPIC_ATTRIBUTES and value:
                self.set_engine_attr(node, f"{{{DIKOM_NS}}}topic", value)
                self.note(
                    "topic-from-vendor",
                    _format(
                        _("%(vendor)s:%(attribute)s of %(task)s is used as the automation topic “%(topic)s”."),
                        {
                            "vendor": vendor,
                            "attribute": attr.rsplit("}", 1)[-1],
                            "task": self.label(node),
                            "topic": value,
                        },
                    ),
                    node,
                )
                return
        for ext in (c for c in node if is_bpmn(c, "extensionElements")):
            for definition in ext:
                if (
                    isinstance(definition.tag, str)
                    and _vendor(namespace(definition)) == "zeebe"
                    and local_name(definition) == "taskDefinition"
                    and definition.get("type")
                ):
                    value = definition.get("type") or ""
                    self.set_engine_attr(node, f"{{{DIKOM_NS}}}topic", value)
                    self.note(
                        "topic-from-vendor",
                        _format(
                            _("%(vendor)s:%(attribute)s of %(task)s is used as the automation topic “%(topic)s”."),
                            {
                                "vendor": "zeebe",
                                "attribute": "taskDefinition",
                                "task": self.label(node),
                                "topic": value,
                            },
                        ),
                        node,
                    )
                    return

    def check_multi_instance(self, node: etree._Element, loop: etree._Element) -> bool:
        ok = True
        for child in loop:
            if is_bpmn(child, "loopCardinality", "completionCondition"):
                text, dialect = _convert_foreign_expression(child.text or "")
                try:
                    validate_expression(text)
                except ExpressionError as exc:
                    self.error(
                        "unsafe-expression",
                        _format(
                            _("The expression “%(expression)s” of %(element)s is not allowed: %(reason)s"),
                            {
                                "expression": (child.text or "").strip(),
                                "element": self.label(node),
                                "reason": exc.message,
                            },
                        ),
                        node,
                        at=child,
                    )
                    ok = False
                else:
                    if dialect:
                        self.engine_index_text(child, text)
        has_input = any(is_bpmn(c, "loopCardinality", "loopDataInputRef") for c in loop)
        if not has_input:
            has_input = self.map_zeebe_loop(node, loop) or self.map_camunda_loop(node, loop)
        if not has_input and local_name(node) in TASKS | UNSUPPORTED_TASKS:
            # A descriptive model ("publish on every platform") that does not say how many: one person, or one
            # call of the automation, does the work for all of them.
            self.note(
                "multi-instance-once",
                _format(
                    _(
                        "%(element)s is marked as repeated but says neither how often nor for which items: it runs "
                        "once, for all of them."
                    ),
                    {"element": self.label(node)},
                ),
                node,
            )
            self.drop_from_engine(loop)
        elif not has_input:
            self.unsupported(node, _("multi-instance tasks need a cardinality or an input collection."))
            ok = False
        return ok

    def map_camunda_loop(self, node: etree._Element, loop: etree._Element) -> bool:
        """Camunda 7 writes the collection as attributes (``camunda:collection="${items}"
        camunda:elementVariable="item"``): mapped like Zeebe's loop characteristics."""
        collection = element = ""
        for attr, value in loop.attrib.items():
            if _vendor(namespace(attr)) == "camunda" and attr.endswith("}collection"):
                collection = value.strip()
            if _vendor(namespace(attr)) == "camunda" and attr.endswith("}elementVariable"):
                element = value.strip()
        if not collection:
            return False
        plain = collection[2:-1].strip() if collection.startswith("${") and collection.endswith("}") else collection
        return self.map_loop_collection(node, loop, "camunda:collection", collection, plain, element)

    def map_loop_collection(
        self, node: etree._Element, loop: etree._Element, source: str, original: str, collection: str, element: str
    ) -> bool:
        name = re.compile(r"[A-Za-z_]\w*")
        if not name.fullmatch(collection) or (element and not name.fullmatch(element)):
            self.unsupported(
                node,
                _format(
                    _("the input collection “%(collection)s” of the repetition is not a plain name of case data."),
                    {"collection": original},
                ),
            )
            return True  # refused with its own reason
        twin = self.engine_twin(loop)
        if twin is None:
            return True
        for attr in [a for a in twin.attrib if _vendor(namespace(a)) == "camunda"]:
            del twin.attrib[attr]
        etree.SubElement(twin, f"{{{BPMN_NS}}}loopDataInputRef").text = collection
        if element:
            etree.SubElement(twin, f"{{{BPMN_NS}}}inputDataItem", id=element, name=element)
        for child in [c for c in twin if is_bpmn(c, "completionCondition")]:
            twin.remove(child)
            twin.append(child)
        self.note(
            "vendor-loop",
            _format(
                _("%(element)s is repeated for every item of “%(collection)s” (from %(source)s)."),
                {"element": self.label(node), "collection": collection, "source": source},
            ),
            node,
        )
        return True

    def map_zeebe_loop(self, node: etree._Element, loop: etree._Element) -> bool:
        """Camunda 8 writes the collection in an extension (``zeebe:loopCharacteristics inputCollection="=items"
        inputElement="item"``): when the collection and the names are plain names, the engine copy gets BPMN's
        ``loopDataInputRef``/``inputDataItem`` (and the output pair). Returns whether there is an input."""
        zeebe = next(
            (
                child
                for ext in loop
                if is_bpmn(ext, "extensionElements")
                for child in ext
                if isinstance(child.tag, str) and local_name(child) == "loopCharacteristics"
            ),
            None,
        )
        if zeebe is None:
            return False
        name = re.compile(r"[A-Za-z_]\w*")
        collection = (zeebe.get("inputCollection") or "").strip().lstrip("=").strip()
        element = (zeebe.get("inputElement") or "").strip()
        output_collection = (zeebe.get("outputCollection") or "").strip()
        output_element = (zeebe.get("outputElement") or "").strip().lstrip("=").strip()
        if not name.fullmatch(collection) or (element and not name.fullmatch(element)):
            self.unsupported(
                node,
                _format(
                    _("the input collection “%(collection)s” of the repetition is not a plain name of case data."),
                    {"collection": zeebe.get("inputCollection") or ""},
                ),
            )
            return True  # refused with its own reason
        twin = self.engine_twin(loop)
        if twin is None:
            return True
        for child in [c for c in twin if is_bpmn(c, "extensionElements")]:
            twin.remove(child)
        etree.SubElement(twin, f"{{{BPMN_NS}}}loopDataInputRef").text = collection
        if output_collection and name.fullmatch(output_collection):
            etree.SubElement(twin, f"{{{BPMN_NS}}}loopDataOutputRef").text = output_collection
        if element:
            etree.SubElement(twin, f"{{{BPMN_NS}}}inputDataItem", id=element, name=element)
        if output_collection and name.fullmatch(output_element):
            etree.SubElement(twin, f"{{{BPMN_NS}}}outputDataItem", id=output_element, name=output_element)
        # BPMN's order: the loop's data references come before the completion condition.
        for child in [c for c in twin if is_bpmn(c, "completionCondition")]:
            twin.remove(child)
            twin.append(child)
        self.note(
            "zeebe-loop",
            _format(
                _("%(element)s is repeated for every item of “%(collection)s” (from zeebe:loopCharacteristics)."),
                {"element": self.label(node), "collection": collection},
            ),
            node,
        )
        return True

    def map_business_rule_task(self, node: etree._Element) -> None:
        """A business rule task calls a DMN decision of the service (``camunda:decisionRef``, Zeebe's
        ``calledDecision``, ``dikom:decisionRef``): in the engine copy it becomes a service task with topic
        ``dmn:<decision id>`` whose result goes into the result variable. Without a decision it hands over to the
        automation like a service task (topic: its id); without a handler it passes through."""
        ref, result = node.get(f"{{{DIKOM_NS}}}decisionRef") or "", node.get(f"{{{DIKOM_NS}}}resultVariable") or ""
        for attr, value in node.attrib.items():
            if _vendor(namespace(attr)) == "camunda" and attr.endswith("}decisionRef"):
                ref = ref or value.strip()
            if _vendor(namespace(attr)) == "camunda" and attr.endswith("}resultVariable"):
                result = result or value.strip()
        for ext in (c for c in node if is_bpmn(c, "extensionElements")):
            for called in ext:
                if isinstance(called.tag, str) and local_name(called) == "calledDecision":
                    ref = ref or (called.get("decisionId") or "").strip()
                    result = result or (called.get("resultVariable") or "").strip()
        twin = self.engine_twin(node)
        if twin is not None:
            twin.tag = f"{{{BPMN_NS}}}serviceTask"
            for attr in ("implementation",):
                twin.attrib.pop(attr, None)
        if not ref:
            self.note(
                "business-rule-task",
                _format(
                    _(
                        "Business rule task %(task)s names no decision: it hands over to the automation like a "
                        "service task (topic “%(topic)s”)."
                    ),
                    {"task": self.label(node), "topic": node.get(f"{{{DIKOM_NS}}}topic") or node.get("id") or ""},
                ),
                node,
            )
            return
        if result and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", result):
            self.error(
                "bad-result-variable",
                _format(
                    _("The result variable “%(name)s” of %(task)s is not a usable name (letters, digits, _)."),
                    {"name": result, "task": self.label(node)},
                ),
                node,
            )
            return
        result = result or "decision_result"
        self.report.decision_refs.append((node.get("id") or "", ref))
        self.set_engine_attr(node, f"{{{DIKOM_NS}}}topic", f"dmn:{ref}")
        self.set_engine_attr(node, f"{{{DIKOM_NS}}}resultVariable", result)
        self.note(
            "business-rule-task",
            _format(
                _(
                    "Business rule task %(task)s evaluates decision “%(decision)s” of the service's decision tables; "
                    "the result is stored as “%(variable)s”."
                ),
                {"task": self.label(node), "decision": ref, "variable": result},
            ),
            node,
        )
