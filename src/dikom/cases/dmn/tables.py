"""DMN decision tables: import (``read``) and evaluation (``Decisions.evaluate``).

``read(xml)`` parses a DMN 1.1–1.5 file as Camunda, Trisotech, Signavio and
the DMN TCK export it (any of the OMG namespaces) with the same hardened XML
parser as BPMN files (no DTD, no entities, no network, size and element caps)
and returns ``Decisions`` or raises ``DmnRefused`` listing every problem with
its element id, line and exact expression. Every FEEL text is translated into
the safe expression language at import (``feel``), so evaluation never meets
an expression it cannot run; FEEL itself is never executed.

Supported: decision tables (all hit policies of DMN 1.3: UNIQUE, ANY, FIRST,
PRIORITY, COLLECT with SUM/MIN/MAX/COUNT, RULE ORDER, OUTPUT ORDER), literal
expression decisions, required decisions (evaluated first, their result
available under the decision's name). Refused: boxed contexts, invocations,
business knowledge models, relations, lists, FEEL beyond simple unary tests.

Results follow the DMN specification: a table with one output column gives
that column's value, with several a dict of them; multiple-hit policies give a
list of those, a COLLECT aggregation a number; no match gives ``None``
(an empty list for multiple-hit policies).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from lxml import etree

from dikom.cases.bpmn.expressions import ExpressionError, compile_expression, evaluate, evaluate_compiled
from dikom.cases.bpmn.xmlsafe import UnsafeXMLError, local_name, parse_xml

from . import feel

#: The DMN model namespaces, 1.1 to 1.5 (tools write both http and https).
DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "http://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
_ROOTS = frozenset(f"{{{ns}}}definitions" for ns in DMN_NAMESPACES)
MAX_BYTES = 2 * 1024 * 1024
MAX_DECISIONS = 200
MAX_RULES = 5_000
MAX_COLUMNS = 100
MAX_DEPTH = 20

HIT_POLICIES = {"UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"}
SINGLE_HIT = {"UNIQUE", "FIRST", "PRIORITY", "ANY"}
AGGREGATIONS = {"SUM", "MIN", "MAX", "COUNT"}


@dataclass(frozen=True)
class Problem:
    """Why a file (or a part of it) is refused."""

    code: str
    message: str
    element_id: str = ""
    line: int | None = None
    expression: str = ""

    def __str__(self) -> str:
        where = " (" + _("line %(line)s") % {"line": self.line} + ")" if self.line else ""
        element = f" [{self.element_id}]" if self.element_id else ""
        text = f": {self.expression!r}" if self.expression else ""
        return f"{self.message}{element}{where}{text}"


class DmnRefused(ValueError):
    """The file cannot be imported; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class DecisionError(ValueError):
    """Evaluation broke a rule of the table (UNIQUE with two matches, ANY with different outputs)."""

    def __init__(self, message: str, decision_id: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.decision_id = decision_id


@dataclass(frozen=True)
class Entry:
    text: str
    safe: str | None


@dataclass(frozen=True)
class InputColumn:
    id: str
    label: str
    text: str
    safe: str | None
    type_ref: str
    allowed: str


@dataclass(frozen=True)
class OutputColumn:
    id: str
    name: str
    label: str
    type_ref: str
    #: Safe expressions of ``outputValues`` in their order (PRIORITY / OUTPUT ORDER rank by them).
    values: tuple[str, ...]
    values_text: str


@dataclass(frozen=True)
class Rule:
    id: str
    number: int
    inputs: tuple[Entry, ...]
    outputs: tuple[Entry, ...]
    annotation: str


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    variable: str
    kind: str  # "table" or "literal"
    requires: tuple[str, ...] = ()
    hit_policy: str = "UNIQUE"
    aggregation: str = ""
    inputs: tuple[InputColumn, ...] = ()
    outputs: tuple[OutputColumn, ...] = ()
    rules: tuple[Rule, ...] = ()
    literal: Entry | None = None
    description: str = ""

    @property
    def hit_policy_label(self) -> str:
        return f"{self.hit_policy} {self.aggregation}".strip()


@dataclass
class Evaluation:
    """What one evaluation found: the result, and the numbers (1-based) of the matched rules per decision."""

    decision_id: str
    value: Any
    matched: list[int] = field(default_factory=list)
    required: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decisions:
    """The decisions of one DMN file."""

    name: str
    dmn_version: str
    decisions: tuple[Decision, ...]

    def get(self, key: str) -> Decision | None:
        for decision in self.decisions:
            if key in {decision.id, decision.name}:
                return decision
        return None

    def evaluate(self, key: str, data: Mapping[str, Any], column_values: Mapping[str, Any] | None = None) -> Evaluation:
        """Evaluate decision ``key`` (id or name) with ``data``; raise ``DecisionError``.

        ``column_values`` (input column id → value) sets input columns directly instead of computing them
        from their input expressions (the test form: a person enters what each column holds)."""
        decision = self.get(key)
        if decision is None:
            raise DecisionError(_("There is no decision “%(key)s” in this file.") % {"key": key})
        scope = dict(data)
        required: dict[str, Any] = {}
        self._requirements(decision, scope, required, set())
        value, matched = _evaluate_one(decision, scope, column_values)
        return Evaluation(decision.id, value, matched, required)

    def _requirements(self, decision: Decision, scope: dict[str, Any], done: dict[str, Any], path: set[str]) -> None:
        for ref in decision.requires:
            other = self.get(ref)
            if other is None or other.id in done:
                continue
            if other.id in path or len(path) > MAX_DEPTH:
                raise DecisionError(_("The required decisions form a cycle."), decision.id)
            self._requirements(other, scope, done, path | {other.id})
            value, _matched = _evaluate_one(other, scope)
            done[other.id] = value
            scope[other.variable] = value


#: Parsed and checked cell expressions: a table's cells are evaluated for every case, their text never changes.
_compiled = functools.lru_cache(maxsize=50_000)(compile_expression)


@functools.lru_cache(maxsize=50_000)
def _only_input(safe: str) -> bool:
    return all(node.id == feel.INPUT for node in ast.walk(_compiled(safe)) if isinstance(node, ast.Name))


def _run(safe: str, scope: Mapping[str, Any], decision: Decision, what: str) -> Any:
    try:
        return evaluate_compiled(_compiled(safe), scope)
    except ExpressionError as exc:
        raise DecisionError(
            _("%(what)s of decision “%(decision)s” failed: %(error)s")
            % {"what": what, "decision": decision.name, "error": exc},
            decision.id,
        ) from None


def _input_value(column: InputColumn, data: Mapping[str, Any]) -> Any:
    if column.safe is None:
        return None
    try:
        return evaluate_compiled(_compiled(column.safe), data)
    except ExpressionError:
        return None  # FEEL: a missing input is null


def _matches(entry: Entry, value: Any, data: Mapping[str, Any]) -> bool:
    if entry.safe is None:
        return True
    try:
        tree = _compiled(entry.safe)
        # Most cells only test their column's value: they need no copy of the case data.
        scope = {feel.INPUT: value} if _only_input(entry.safe) else {**data, feel.INPUT: value}
        return evaluate_compiled(tree, scope) is True
    except ExpressionError:
        return False  # FEEL: comparing values of different types gives null, which does not match


def _evaluate_one(
    decision: Decision, data: Mapping[str, Any], column_values: Mapping[str, Any] | None = None
) -> tuple[Any, list[int]]:
    if decision.kind == "literal":
        assert decision.literal is not None  # noqa: S101 - read() guarantees it
        value = _run(decision.literal.safe, data, decision, _("The expression")) if decision.literal.safe else None
        return value, []
    given = column_values or {}
    values = [given[c.id] if c.id in given else _input_value(c, data) for c in decision.inputs]
    matched = [
        rule
        for rule in decision.rules
        if all(_matches(entry, value, data) for entry, value in zip(rule.inputs, values, strict=True))
    ]
    results = [_outputs(decision, rule, data) for rule in matched]
    numbers = [rule.number for rule in matched]
    policy = decision.hit_policy
    if policy == "UNIQUE":
        if len(matched) > 1:
            raise DecisionError(
                _("Hit policy UNIQUE: rules %(rules)s of decision “%(decision)s” all match.")
                % {"rules": ", ".join(map(str, numbers)), "decision": decision.name},
                decision.id,
            )
        return (_shape(decision, results[0]) if results else None), numbers
    if policy == "ANY":
        if any(result != results[0] for result in results[1:]):
            raise DecisionError(
                _("Hit policy ANY: rules %(rules)s of decision “%(decision)s” match with different outputs.")
                % {"rules": ", ".join(map(str, numbers)), "decision": decision.name},
                decision.id,
            )
        return (_shape(decision, results[0]) if results else None), numbers
    if policy == "FIRST":
        return (_shape(decision, results[0]) if results else None), numbers[:1]
    if policy in {"PRIORITY", "OUTPUT ORDER"}:
        ranked = sorted(zip(results, numbers, strict=True), key=lambda pair: _rank(decision, pair[0]))
        if policy == "PRIORITY":
            return (_shape(decision, ranked[0][0]) if ranked else None), [n for _r, n in ranked[:1]]
        return [_shape(decision, r) for r, _n in ranked], [n for _r, n in ranked]
    # COLLECT and RULE ORDER
    shaped = [_shape(decision, r) for r in results]
    if policy == "COLLECT" and decision.aggregation:
        return _aggregate(decision, shaped), numbers
    return shaped, numbers


def _outputs(decision: Decision, rule: Rule, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        column.name: (
            _run(entry.safe, data, decision, _("Rule %(number)s") % {"number": rule.number}) if entry.safe else None
        )
        for column, entry in zip(decision.outputs, rule.outputs, strict=True)
    }


def _shape(decision: Decision, result: dict[str, Any]) -> Any:
    if len(decision.outputs) == 1:
        return next(iter(result.values()))
    return result


def _rank(decision: Decision, result: dict[str, Any]) -> tuple[int, ...]:
    ranks = []
    for column in decision.outputs:
        order = [evaluate(v, {}) for v in column.values]
        value = result.get(column.name)
        ranks.append(order.index(value) if value in order else len(order))
    return tuple(ranks)


def _aggregate(decision: Decision, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if decision.aggregation == "COUNT":
        return len(present)
    if not present:
        return None
    if decision.aggregation == "SUM" and any(isinstance(v, bool) or not isinstance(v, int | float) for v in present):
        raise DecisionError(
            _("Hit policy COLLECT SUM: decision “%(decision)s” gave non-numbers.") % {"decision": decision.name},
            decision.id,
        )
    try:
        if decision.aggregation == "SUM":
            return sum(present)
        return min(present) if decision.aggregation == "MIN" else max(present)
    except TypeError:
        raise DecisionError(
            _("Hit policy COLLECT %(aggregation)s: the outputs of decision “%(decision)s” are not comparable.")
            % {"aggregation": decision.aggregation, "decision": decision.name},
            decision.id,
        ) from None


# -- import -----------------------------------------------------------------


class _Reader:
    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.problems: list[Problem] = []

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def child(self, element: etree._Element, name: str) -> etree._Element | None:
        return element.find(self.q(name))

    def text_of(self, element: etree._Element | None) -> str:
        if element is None:
            return ""
        text = self.child(element, "text")
        return (text.text if text is not None else element.text) or ""

    def problem(self, code: str, message: str, element: etree._Element, expression: str = "") -> None:
        ident = element.get("id") or ""
        if not ident:
            parent = element.getparent()
            ident = parent.get("id", "") if parent is not None else ""
        self.problems.append(Problem(code, message, ident, element.sourceline, expression.strip()))

    def translate(self, element: etree._Element, text: str, unary: bool) -> str | None:
        language = element.get("expressionLanguage") or ""
        if language and "feel" not in language.lower():
            self.problem(
                "unsupported-language",
                _("Expression language %(language)s is not supported") % {"language": language},
                element,
                text,
            )
            return None
        try:
            return feel.unary_tests(text) if unary else feel.expression(text)
        except feel.FeelError as exc:
            self.problem("feel", _("FEEL not supported (%(reason)s)") % {"reason": exc.reason}, element, exc.text)
            return None

    def decision(self, element: etree._Element) -> Decision | None:
        ident = element.get("id") or ""
        name = element.get("name") or ident
        variable_el = self.child(element, "variable")
        variable = "_".join(((variable_el.get("name") if variable_el is not None else None) or name).split())
        requires = tuple(
            (req.get("href") or "").lstrip("#")
            for info in element.iter(self.q("informationRequirement"))
            for req in info
            if local_name(req) == "requiredDecision"
        )
        description_el = self.child(element, "description")
        description = (description_el.text or "") if description_el is not None else ""
        table = self.child(element, "decisionTable")
        literal = self.child(element, "literalExpression")
        if table is not None:
            return self.table(table, ident, name, variable, requires, description)
        if literal is not None:
            text = self.text_of(literal)
            safe = self.translate(literal, text, unary=False)
            return Decision(
                ident, name, variable, "literal", requires, literal=Entry(text, safe), description=description
            )
        logic = next((c for c in element if isinstance(c.tag, str) and local_name(c) not in {
            "variable", "informationRequirement", "knowledgeRequirement", "authorityRequirement", "description",
            "extensionElements", "question", "allowedAnswers"}), None)  # fmt: skip
        kind = local_name(logic) if logic is not None else "nothing"
        self.problem(
            "unsupported-logic",
            _("Decision “%(decision)s” is a %(kind)s; only decision tables and literal expressions are supported")
            % {"decision": name, "kind": kind},
            element,
        )
        return None

    def table(
        self, table: etree._Element, ident: str, name: str, variable: str, requires: tuple[str, ...], description: str
    ) -> Decision | None:
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        aggregation = (table.get("aggregation") or "").upper()
        if policy not in HIT_POLICIES:
            self.problem("hit-policy", _("Unknown hit policy %(policy)s") % {"policy": policy}, table)
        if aggregation and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
            self.problem(
                "aggregation",
                _("Aggregation %(aggregation)s is only allowed with COLLECT") % {"aggregation": aggregation},
                table,
            )
        inputs: list[InputColumn] = []
        for column in table.findall(self.q("input")):
            expr = self.child(column, "inputExpression")
            text = self.text_of(expr)
            safe = self.translate(expr, text, unary=False) if expr is not None else None
            if expr is None or not text.strip():
                self.problem("input-expression", _("Input column without an input expression"), column)
            allowed = self.text_of(self.child(column, "inputValues"))
            type_ref = (expr.get("typeRef") if expr is not None else "") or ""
            inputs.append(InputColumn(column.get("id") or "", column.get("label") or text.strip(), text.strip(),
                                      safe, type_ref.removeprefix("feel:"), allowed.strip()))  # fmt: skip
        outputs: list[OutputColumn] = []
        output_elements = table.findall(self.q("output"))
        for column in output_elements:
            values_el = self.child(column, "outputValues")
            values_text = self.text_of(values_el).strip()
            values: list[str] = []
            if values_text:
                for part in feel._split_top_level(values_text):
                    try:
                        values.append(feel.endpoint(part))
                        evaluate(values[-1], {})
                    except (feel.FeelError, ExpressionError):
                        self.problem(
                            "output-values", _("Output values must be a list of literals"), values_el, values_text
                        )
                        break
            col_name = column.get("name") or (variable if len(output_elements) == 1 else "")
            if not col_name:
                self.problem("output-name", _("An output column of a table with several outputs needs a name"), column)
            outputs.append(OutputColumn(column.get("id") or "", col_name, column.get("label") or col_name,
                                        (column.get("typeRef") or "").removeprefix("feel:"), tuple(values),
                                        values_text))  # fmt: skip
        if not outputs:
            self.problem(
                "no-output", _("Decision table “%(decision)s” has no output column") % {"decision": name}, table
            )
        if len(inputs) > MAX_COLUMNS or len(outputs) > MAX_COLUMNS:
            self.problem("too-large", _("At most %(count)s input and output columns") % {"count": MAX_COLUMNS}, table)
        if aggregation and len(outputs) > 1:
            self.problem("aggregation", _("Aggregations need a table with exactly one output column"), table)
        if policy in {"PRIORITY", "OUTPUT ORDER"} and not any(o.values for o in outputs):
            self.problem(
                "priority",
                _("Hit policy %(policy)s needs output values that give the order") % {"policy": policy},
                table,
            )
        rules: list[Rule] = []
        rule_elements = table.findall(self.q("rule"))
        if len(rule_elements) > MAX_RULES:
            self.problem("too-large", _("At most %(count)s rules per table") % {"count": MAX_RULES}, table)
            rule_elements = []
        for number, rule in enumerate(rule_elements, start=1):
            entries = rule.findall(self.q("inputEntry"))
            results = rule.findall(self.q("outputEntry"))
            if len(entries) != len(inputs) or len(results) != len(outputs):
                self.problem(
                    "rule-shape", _("Rule %(number)s does not have one entry per column") % {"number": number}, rule
                )
                continue
            in_entries = tuple(Entry(self.text_of(e).strip(), self.translate(e, self.text_of(e), unary=True))
                               for e in entries)  # fmt: skip
            out_entries = tuple(Entry(self.text_of(e).strip(), self.translate(e, self.text_of(e), unary=False))
                                for e in results)  # fmt: skip
            note = self.child(rule, "description")
            annotation = " ".join(self.text_of(a).strip() for a in rule.findall(self.q("annotationEntry")))
            rules.append(Rule(rule.get("id") or f"rule-{number}", number, in_entries, out_entries,
                              ((note.text or "").strip() if note is not None else "") or annotation))  # fmt: skip
        return Decision(ident, name, variable, "table", requires, policy, aggregation, tuple(inputs), tuple(outputs),
                        tuple(rules), description=description.strip())  # fmt: skip


def read(xml: bytes | str, max_bytes: int = MAX_BYTES) -> Decisions:
    """Import a DMN file; raise ``DmnRefused`` with every problem found."""
    try:
        root = parse_xml(xml, max_bytes=max_bytes, root_tags=_ROOTS)
    except UnsafeXMLError as exc:
        if exc.code == "wrong-root":
            raise DmnRefused([Problem("not-dmn", _("This is not a DMN 1.1–1.5 file (definitions in the DMN namespace)"),
                                      "", exc.line, exc.detail)]) from None  # fmt: skip
        raise DmnRefused(
            [Problem(exc.code, _("The file is refused (%(reason)s)") % {"reason": exc.code}, "", exc.line, exc.detail)]
        ) from None
    ns = root.tag.split("}", 1)[0].lstrip("{") if root.tag.startswith("{") else ""
    if local_name(root) != "definitions" or ns not in DMN_NAMESPACES:
        raise DmnRefused([Problem("not-dmn", _("This is not a DMN 1.1–1.5 file (definitions in the DMN namespace)"),
                                  "", root.sourceline, ns)])  # fmt: skip
    reader = _Reader(ns)
    elements = root.findall(reader.q("decision"))
    if not elements:
        reader.problem("no-decision", _("The file contains no decision"), root)
    if len(elements) > MAX_DECISIONS:
        reader.problem("too-large", _("At most %(count)s decisions per file") % {"count": MAX_DECISIONS}, root)
        elements = []
    for other in root:
        if isinstance(other.tag, str) and local_name(other) in {"businessKnowledgeModel", "decisionService"}:
            reader.problem(
                "unsupported-element", _("%(element)s is not supported") % {"element": local_name(other)}, other
            )
    decisions = [d for d in (reader.decision(e) for e in elements) if d is not None]
    ids = {d.id for d in decisions}
    for decision in decisions:
        for ref in decision.requires:
            if ref not in ids:
                reader.problems.append(Problem("missing-decision", _("Decision “%(decision)s” requires decision “%(required)s”, which is not in this file")
                                               % {"decision": decision.name, "required": ref}, decision.id))  # fmt: skip
    if reader.problems:
        raise DmnRefused(reader.problems)
    return Decisions(root.get("name") or root.get("id") or "", DMN_NAMESPACES[ns], tuple(decisions))
