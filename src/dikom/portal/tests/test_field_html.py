"""``portal.fieldhtml.render_fields`` writes the bytes of ``portal/_field.html`` (issue 21).

Every field type, in German and English, with and without help, errors and the required
mark, empty and filled (values with HTML characters, chosen options, an uploaded file),
rendered through the template (as the step page did) and through the renderer: the bytes
must be equal. Values the template would format (numbers, dates) and repeating groups go
through the template itself; they are compared too.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.template import engines
from django.utils import translation

from dikom.portal import fieldhtml, steps

NASTY = "<b>\"Anna\" & 'Ben'</b>"

SPECS: list[dict[str, Any]] = [
    {"key": "name", "type": "text"},
    {"key": "mail", "type": "email"},
    {"key": "tel", "type": "phone"},
    {"key": "born", "type": "date"},
    {"key": "amount", "type": "number"},
    {"key": "plz", "type": "postcode"},
    {"key": "iban", "type": "iban"},
    {"key": "note", "type": "long_text"},
    {
        "key": "kind",
        "type": "select",
        "options": [
            {"value": "a", "label": {"de": "Art <A>", "en": "Kind <A>"}},
            {"value": "b&c", "label": {"de": "B & C"}},
        ],
    },
    {
        "key": "many",
        "type": "multi_select",
        "options": [{"value": "x", "label": {"de": "X"}}, {"value": 'y"', "label": {"de": "Y"}}],
    },
    {"key": "dog", "type": "yes_no"},
    {"key": "home", "type": "address"},
    {"key": "agree", "type": "checkbox"},
    {"key": "proof", "type": "file", "accept": ["application/pdf", "image/png"]},
    {"key": "proof2", "type": "file"},
    {"key": "hint", "type": "info", "text": {"de": "Erste Zeile\nzweite <Zeile>\n\nAbsatz & mehr", "en": "One\ntwo"}},
    {
        "key": "kids",
        "type": "repeating_group",
        "label": {"de": "Kinder"},
        "fields": [{"key": "name", "type": "text", "label": {"de": "Name"}}],
    },
]

VALUES: dict[str, list[Any]] = {
    "name": [None, "", NASTY],
    "mail": [None, "a@example.org"],
    "tel": [None, "+49 6421 1"],
    "born": [None, "2020-02-29"],
    "amount": [None, "12,5", 12.5, 3],  # numbers go through the template (it localises them)
    "plz": [None, "35037"],
    "iban": [None, NASTY],
    "note": [None, "", NASTY + "\nzweite Zeile"],
    "kind": [None, "", "a", "b&c", "zzz"],
    "many": [None, [], ["x"], ["x", 'y"'], "x"],  # a plain string: the template's own rule
    "dog": [None, "", "yes", "no"],
    "home": [
        None,
        {},
        {"street": NASTY, "house_number": "1a", "postcode": "35037", "city": "Marburg"},
        {"street": 7},
        "",
    ],
    "agree": [None, True, False, "on"],
    "proof": [None, {"name": "beleg<1>.pdf", "id": "x"}, {"name": ""}],
    "proof2": [None, {"name": "scan & co.png"}],
    "hint": [None],
    "kids": [None, [{"name": NASTY}, {}], []],
}


def _through_template(bound: list[steps.BoundField]) -> str:
    template = engines["django"].from_string('{% for field in fields %}{% include "portal/_field.html" %}{% endfor %}')
    return str(template.render({"fields": bound}))


def _bound(spec: dict[str, Any], value: Any, *, help_text: bool, required: bool, errors: bool,
           language: str) -> list[steps.BoundField]:  # fmt: skip
    spec = {**spec, "label": spec.get("label") or {"de": f"Feld <{spec['key']}>", "en": f"Field <{spec['key']}>"}}
    if help_text:
        spec["help"] = {"de": 'Hilfe & "Tipps"', "en": "Help & 'tips'"}
    if required:
        spec["required"] = True
    found = {spec["key"]: ["Bitte <angeben>.", "Zweiter Fehler"]} if errors else {}
    if errors and spec["type"] == "repeating_group":
        found["kids[0].name"] = ["Name fehlt"]
    values = {} if value is None else {spec["key"]: value}
    return steps.bind_fields([spec], values, found, {}, prefix="f-", error_prefix="", language=language)


CASES = [
    (spec, value, help_text, required, errors, language)
    for spec in SPECS
    for value in VALUES[spec["key"]]
    for help_text, required, errors in itertools.product((False, True), repeat=3)
    for language in ("de", "en")
]


@pytest.mark.parametrize(
    ("spec", "value", "help_text", "required", "errors", "language"),
    CASES,
    ids=[f"{c[0]['type']}-{i}" for i, c in enumerate(CASES)],
)
def test_the_renderer_writes_the_template_s_bytes(spec: dict[str, Any], value: Any, help_text: bool,
                                                  required: bool, errors: bool, language: str) -> None:  # fmt: skip
    with translation.override(language):
        bound = _bound(spec, value, help_text=help_text, required=required, errors=errors, language=language)
        assert str(fieldhtml.render_fields(bound)) == _through_template(bound)


def test_a_whole_step_of_fields_is_the_template_s() -> None:
    with translation.override("de"):
        specs = [{**s, "label": {"de": s["key"]}} for s in SPECS]
        values = {"name": NASTY, "kind": "a", "many": ['y"'], "dog": "no", "agree": True, "amount": 4.25}
        bound = steps.bind_fields(specs, values, {"name": ["Fehler"]}, {}, prefix="f-", error_prefix="", language="de")
        html = str(fieldhtml.render_fields(bound))
        assert html == _through_template(bound)
        assert "&lt;b&gt;&quot;Anna&quot; &amp; &#x27;Ben&#x27;&lt;/b&gt;" in html  # escaped, never raw
        assert NASTY not in html


def test_plain_values_do_not_go_through_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    # The point of the renderer: the usual fields of a step (string answers) never use the
    # template engine; only repeating groups and formatted values fall back to it.
    def refuse(field: steps.BoundField) -> str:
        raise AssertionError(f"{field.type} went through the template")

    monkeypatch.setattr(fieldhtml, "_template", refuse)
    plain = [s for s in SPECS if s["type"] != "repeating_group"]
    values = {"name": NASTY, "kind": "a", "many": ["x"], "dog": "yes", "agree": True, "home": {"city": "Marburg"},
              "proof": {"name": "a.pdf"}, "amount": "12,5"}  # fmt: skip
    with translation.override("en"):
        bound = steps.bind_fields(plain, values, {"mail": ["Wrong"]}, {}, prefix="f-", error_prefix="", language="en")
        html = str(fieldhtml.render_fields(bound))
    assert html.count('class="form__field"') == len(plain) - 1  # all but the info text
    with translation.override("en"), pytest.raises(AssertionError, match="repeating_group"):
        fieldhtml.render_fields(_bound(SPECS[-1], None, help_text=False, required=False, errors=False, language="en"))
