"""DMN decision tables: import and evaluation, checked against the DMN TCK's own models and expected results
(``data/dmn-tck/``, see SOURCE.md there) and against fixtures written here from the DMN 1.3 specification."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from lxml import etree

from dikom.cases.dmn import feel
from dikom.cases.dmn.tables import DecisionError, DmnRefused, read


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


TCK = Path(__file__).parent / "data" / "dmn-tck"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _value(element: etree._Element) -> Any:
    """A TCK value: <value>, <list><item>…</item></list> or <component name=…>…."""
    children = [c for c in element if isinstance(c.tag, str)]
    local = [etree.QName(c).localname for c in children]
    if "value" in local:
        value = children[local.index("value")]
        if value.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true":
            return None
        kind = (value.get(XSI) or "").split(":")[-1]
        text = value.text or ""
        if kind == "decimal":
            return Decimal(text)
        if kind == "boolean":
            return text == "true"
        return text
    if "list" in local:
        return [_value(item) for item in children[local.index("list")]]
    if "component" in local:
        return {c.get("name"): _value(c) for c in children}
    return None


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {"_".join(k.split()): _plain(v) for k, v in value.items()}
    return value


def _tck_cases() -> list[tuple[str, str, dict[str, Any], str, Any]]:
    cases = []
    for test_file in sorted(TCK.glob("*-test-01.xml")):
        root = etree.parse(str(test_file)).getroot()
        model = root.findtext("{*}modelName")
        for case in root.findall("{*}testCase"):
            inputs = {"_".join(n.get("name").split()): _plain(_value(n)) for n in case.findall("{*}inputNode")}
            for result in case.findall("{*}resultNode"):
                expected = _value(result.find("{*}expected"))
                cases.append((f"{model}#{case.get('id')}", model, inputs, result.get("name"), expected))
    return cases


@pytest.mark.parametrize(("label", "model", "inputs", "decision", "expected"), _tck_cases(), ids=lambda v: "")
def test_tck_models_give_the_expected_results(label, model, inputs, decision, expected):
    decisions = read((TCK / model).read_bytes())
    evaluation = decisions.evaluate(decision, inputs)
    assert _normal(evaluation.value) == _normal(expected), label


def test_every_tck_model_here_imports_and_names_its_hit_policy():
    policies = {read(p.read_bytes()).decisions[0].hit_policy_label for p in TCK.glob("*.dmn")}
    assert policies >= {"UNIQUE", "ANY", "PRIORITY", "FIRST", "RULE ORDER", "OUTPUT ORDER", "COLLECT",
                        "COLLECT SUM", "COLLECT MIN", "COLLECT COUNT"}  # fmt: skip


def _table(hit_policy: str, rules: str, inputs: str = "", outputs: str = "", ns: str = "") -> bytes:
    ns = ns or "https://www.omg.org/spec/DMN/20191111/MODEL/"
    inputs = (
        inputs
        or '<input id="i1" label="Betrag"><inputExpression typeRef="number"><text>betrag</text></inputExpression></input>'
    )
    outputs = outputs or '<output id="o1" name="gebuehr" typeRef="number"/>'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{ns}" xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="defs" name="Gebühren" namespace="x">
  <decision id="gebuehr" name="Gebühr">
    <decisionTable id="t1" {hit_policy}>{inputs}{outputs}{rules}</decisionTable>
  </decision>
</definitions>""".encode()


def _rule(ident: str, test: str, out: str) -> str:
    return f'<rule id="{ident}"><inputEntry><text>{test}</text></inputEntry><outputEntry><text>{out}</text></outputEntry></rule>'


@pytest.mark.parametrize(
    ("test", "value", "matches"),
    [
        ("-", 5, True),
        ("", None, True),
        ("&lt; 10", 5, True),
        ("&lt; 10", 10, False),
        ("[1..10]", 10, True),
        ("]1..10]", 1, False),
        ("[1..10[", 10, False),
        ("(1..10)", 5, True),
        ("1, 3, 5", 3, True),
        ("not(1, 3)", 3, False),
        ("not(1, 3)", 4, True),
        ("&gt;= 2.5", 2.5, True),
        ("-1", -1, True),
        ("&lt; 10", "zehn", False),  # FEEL: comparing a text with a number gives null, no match
        ("&lt; 10", None, False),
        ("null", None, True),
    ],
)
def test_simple_unary_tests_on_numbers(test, value, matches):
    decisions = read(_table('hitPolicy="FIRST"', _rule("r1", test, "1")))
    assert (decisions.evaluate("gebuehr", {"betrag": value}).value == 1) is matches


def test_texts_booleans_and_dates_are_compared_as_feel_does():
    inputs = (
        '<input id="a"><inputExpression typeRef="string"><text>Jahreszeit</text></inputExpression></input>'
        '<input id="b"><inputExpression typeRef="boolean"><text>ermaessigt</text></inputExpression></input>'
        '<input id="c"><inputExpression typeRef="date"><text>antragsdatum</text></inputExpression></input>'
    )
    rule = (
        '<rule id="r1"><inputEntry><text>"Winter","Herbst"</text></inputEntry><inputEntry><text>true</text></inputEntry>'
        '<inputEntry><text>&gt;= date("2025-01-01")</text></inputEntry><outputEntry><text>5</text></outputEntry></rule>'
    )
    decisions = read(_table('hitPolicy="UNIQUE"', rule, inputs=inputs))
    data = {"Jahreszeit": "Winter", "ermaessigt": True, "antragsdatum": "2025-03-01"}
    assert decisions.evaluate("gebuehr", data).value == 5
    assert decisions.evaluate("gebuehr", {**data, "ermaessigt": 1}).value is None
    assert decisions.evaluate("gebuehr", {**data, "antragsdatum": "2024-12-31"}).value is None
    assert decisions.evaluate("gebuehr", {**data, "Jahreszeit": "Sommer"}).value is None


def _three_rules(policy: str, outputs: str = "") -> bytes:
    rules = _rule("r1", "&gt; 0", "10") + _rule("r2", "&gt; 100", "30") + _rule("r3", "&gt; 50", "20")
    return _table(policy, rules, outputs=outputs)


def test_hit_policies_on_one_table():
    values = '<output id="o1" name="gebuehr"><outputValues><text>30, 20, 10</text></outputValues></output>'
    data = {"betrag": 200}
    assert read(_three_rules('hitPolicy="FIRST"')).evaluate("gebuehr", data).value == 10
    assert read(_three_rules('hitPolicy="RULE ORDER"')).evaluate("gebuehr", data).value == [10, 30, 20]
    assert read(_three_rules('hitPolicy="COLLECT"')).evaluate("gebuehr", data).value == [10, 30, 20]
    assert read(_three_rules('hitPolicy="COLLECT" aggregation="SUM"')).evaluate("gebuehr", data).value == 60
    assert read(_three_rules('hitPolicy="COLLECT" aggregation="MIN"')).evaluate("gebuehr", data).value == 10
    assert read(_three_rules('hitPolicy="COLLECT" aggregation="MAX"')).evaluate("gebuehr", data).value == 30
    assert read(_three_rules('hitPolicy="COLLECT" aggregation="COUNT"')).evaluate("gebuehr", data).value == 3
    assert read(_three_rules('hitPolicy="PRIORITY"', values)).evaluate("gebuehr", data).value == 30
    ordered = read(_three_rules('hitPolicy="OUTPUT ORDER"', values)).evaluate("gebuehr", data)
    assert ordered.value == [30, 20, 10]
    assert ordered.matched == [2, 3, 1]
    assert read(_three_rules('hitPolicy="COLLECT" aggregation="SUM"')).evaluate("gebuehr", {"betrag": -1}).value is None
    assert read(_three_rules('hitPolicy="COLLECT"')).evaluate("gebuehr", {"betrag": -1}).value == []
    with pytest.raises(DecisionError, match="rules 1, 2, 3"):
        read(_three_rules("")).evaluate("gebuehr", data)  # UNIQUE is the default
    with pytest.raises(DecisionError, match="different outputs"):
        read(_three_rules('hitPolicy="ANY"')).evaluate("gebuehr", data)
    assert read(_three_rules("")).evaluate("gebuehr", {"betrag": 10}).matched == [1]


@pytest.mark.parametrize(
    "ns",
    [
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
        "http://www.omg.org/spec/DMN/20180521/MODEL/",
        "https://www.omg.org/spec/DMN/20191111/MODEL/",
    ],
)
def test_dmn_1_1_to_1_3_namespaces_as_camunda_exports_them(ns):
    assert read(_three_rules('hitPolicy="FIRST"') .replace(b"https://www.omg.org/spec/DMN/20191111/MODEL/", ns.encode())).evaluate("gebuehr", {"betrag": 1}).value == 10  # fmt: skip


@pytest.mark.parametrize(
    ("test", "reason"),
    [
        ("matches(x, &quot;a&quot;)", "names"),
        ("? &gt; 5", "names"),
        ("duration(&quot;P1D&quot;)", "durations"),
        ("some x in y satisfies x", "names"),
        ("__class__", "usable name"),
    ],
)
def test_untranslatable_feel_is_refused_with_the_exact_text_and_line(test, reason):
    with pytest.raises(DmnRefused) as refused:
        read(_table('hitPolicy="FIRST"', _rule("bad-rule", test, "1")))
    problem = refused.value.problems[0]
    assert problem.code == "feel"
    assert reason in problem.message
    assert problem.expression == etree.fromstring(f"<t>{test}</t>").text
    assert problem.line == 4  # the table is on line 4 of the file
    assert problem.element_id == "bad-rule"


def test_output_entries_in_other_languages_and_unsupported_decisions_are_refused():
    rule = '<rule id="r1"><inputEntry><text>-</text></inputEntry><outputEntry expressionLanguage="javascript"><text>1</text></outputEntry></rule>'
    with pytest.raises(DmnRefused, match="javascript"):
        read(_table('hitPolicy="FIRST"', rule))
    with pytest.raises(DmnRefused, match="Unknown hit policy"):
        read(_three_rules('hitPolicy="SOMETIMES"'))
    with pytest.raises(DmnRefused, match="needs output values"):
        read(_three_rules('hitPolicy="PRIORITY"'))
    context = b"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
      <decision id="x" name="x"><context/></decision></definitions>"""
    with pytest.raises(DmnRefused, match="is a context"):
        read(context)


def test_hostile_and_foreign_files_are_refused():
    with pytest.raises(DmnRefused) as refused:
        read(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><definitions/>')
    assert refused.value.problems[0].code == "doctype"
    with pytest.raises(DmnRefused) as refused:
        read(b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>')
    assert refused.value.problems[0].code == "not-dmn"
    with pytest.raises(DmnRefused) as refused:
        read(b"x" * 100, max_bytes=50)
    assert refused.value.problems[0].code == "too-large"


def test_required_decisions_and_literal_expressions():
    xml = b"""<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
      <decision id="rabatt" name="Rabatt">
        <informationRequirement><requiredDecision href="#grund"/></informationRequirement>
        <literalExpression><text>Grundgebuehr * 0.5</text></literalExpression>
      </decision>
      <decision id="grund" name="Grundgebuehr">
        <decisionTable hitPolicy="FIRST"><input id="i"><inputExpression><text>Hunde</text></inputExpression></input>
        <output id="o" name="g"/>
        <rule id="r1"><inputEntry><text>&gt; 1</text></inputEntry><outputEntry><text>120</text></outputEntry></rule>
        <rule id="r2"><inputEntry><text>-</text></inputEntry><outputEntry><text>60</text></outputEntry></rule>
        </decisionTable></decision></definitions>"""
    result = read(xml).evaluate("Rabatt", {"Hunde": 2})
    assert result.value == 60
    assert result.required == {"grund": 120}


def test_translation_is_shown_readably():
    assert feel.readable(feel.unary_tests("[1..10]") or "", "betrag") == "(1 <= betrag and betrag <= 10)"
    assert feel.unary_tests('not("a")') == 'not (dmn_input == "a")'
