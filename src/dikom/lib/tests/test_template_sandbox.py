"""The sandbox for staff-written templates: allowed tags and filters only, plain read-only data, limits."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from dikom.lib import template_sandbox
from dikom.lib.template_sandbox import TemplateRefused, check, render


@pytest.fixture(autouse=True)
def _english() -> Any:
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    "source",
    [
        "{%load static%}",
        "{%  load   i18n %}",
        "{% include 'cases/letter.html' %}",
        "{% extends 'base.html' %}",
        "{% block x %}{% endblock %}",
        "{% debug %}",
        "{% url 'portal:finder' 'fulda' %}",
        "{% csrf_token %}",
        "{% lorem 100000 w %}",
        "{% autoescape off %}{% endautoescape %}",
        "{% comment %}{% load static %}{% endcomment %}",
        "{{ case.__class__ }}",
        "{{ case._meta }}",
        "{% with x=case.__dict__ %}{% endwith %}",
        "{{ answers|safe }}",
        "{{ answers|pprint }}",
        "{{ case.reference|ljust:'100000000' }}",
        "{{ case.reference|stringformat:'100000000s' }}",
        "{{ case.reference|urlize }}",
    ],
)
def test_forbidden_tags_filters_and_names_are_refused(source: str) -> None:
    with pytest.raises(TemplateRefused):
        check(source)


def test_the_data_is_a_read_only_copy(settings: Any) -> None:
    answers = {"person": {"plz": "36037"}}
    lines = [{"label": "Gebühr"}]
    output = render(
        "{{ settings.SECRET_KEY }}|{{ answers.clear }}|{{ answers.person.popitem }}|{{ lines.pop }}|"
        "{% for line in lines %}{{ line.label }}{% endfor %}|{{ answers.person.plz }}",
        {"answers": answers, "lines": lines},
    )
    assert output == "||||Gebühr|36037"
    assert answers == {"person": {"plz": "36037"}} and lines == [{"label": "Gebühr"}]


def test_model_instances_are_passed_as_text_only(owner: Any) -> None:
    output = render("{{ user.username }}|{{ user }}", {"user": owner})
    assert output == f"|{owner}"


def test_a_huge_template_is_refused_before_it_runs() -> None:
    with pytest.raises(TemplateRefused, match="too long"):
        render("x" * (template_sandbox.MAX_SOURCE_CHARS + 1), {})


def test_output_that_grows_without_bound_is_stopped() -> None:
    with pytest.raises(TemplateRefused, match="too much text"):
        render("{% for a in s %}{% for b in s %}{% for c in s %}xxxxxxxxxx{% endfor %}{% endfor %}{% endfor %}",
               {"s": "y" * 1000})  # fmt: skip
    with pytest.raises(TemplateRefused, match="too much text"):
        render("{% with t=s|add:s %}{% with u=t|add:t %}{{ u|add:u|add:u|add:u|add:u }}{% endwith %}{% endwith %}",
               {"s": "y" * 300_000})  # fmt: skip


def test_a_render_past_its_time_is_stopped(monkeypatch: Any) -> None:
    # No time left at all: the first node already stops the render (the limit itself is a setting of the module).
    monkeypatch.setattr(template_sandbox, "MAX_SECONDS", -1.0)
    with pytest.raises(TemplateRefused, match="takes too long"):
        render("<p>{{ case.reference }}</p>", {"case": {"reference": "X"}})


def test_a_huge_precision_is_refused() -> None:
    with pytest.raises(TemplateRefused, match="too large"):
        render("{{ n|floatformat:'99999' }}", {"n": 1.5})


def test_ordinary_letter_templates_still_work() -> None:
    source = (
        "<p>Ihr Antrag {{ case.reference }} wurde {{ case.outcome_label }}.</p>"
        "{% if fees.lines %}<ul>{% for line in fees.lines %}<li>{{ line.label|capfirst }}</li>{% endfor %}</ul>{% endif %}"
        "<p>{{ answers.person.name|default:'—'|upper }} {{ fees.total }}</p>"
    )
    context = {
        "case": {"reference": "FD-1", "outcome_label": "bewilligt"},
        "fees": {"lines": [{"label": "gebühr <b>"}], "total": "5,00 €"},
        "answers": {"person": {"name": "Erika"}},
    }
    assert render(source, context) == (
        "<p>Ihr Antrag FD-1 wurde bewilligt.</p><ul><li>Gebühr &lt;b&gt;</li></ul><p>ERIKA 5,00 €</p>"
    )
