"""The design system: the stylesheet offers the documented components; charts come with a data table."""

from __future__ import annotations

import re

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

COMPONENTS = [
    ".button",
    ".button--secondary",
    ".button--danger",
    ".button--link",
    ".table-wrapper",
    ".table",
    ".card",
    ".grid",
    ".badge",
    ".badge--success",
    ".badge--warning",
    ".badge--muted",
    ".visually-hidden",
    ".page-header",
    ".form",
    ".errorlist",
    ".messages",
    ".notice",
    ".notice--warning",
    ".chart",
    ".breadcrumbs",
    ".skip-link",
    ".tree",
]


def _stylesheet() -> str:
    path = finders.find("dikom/css/dikom.css")
    assert path, "dikom.css not found by the static files finders"
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_stylesheet_defines_every_component() -> None:
    css = _stylesheet()
    for selector in COMPONENTS:
        assert re.search(re.escape(selector) + r"[\s,{:.\[]", css), selector
    assert "--brand:" in css
    assert ":focus-visible" in css
    assert "@import" not in css and "url(http" not in css  # nothing from other origins


def test_chart_include_has_table_alternative() -> None:
    html = render_to_string(
        "web/includes/chart.html",
        {"chart_id": "visits", "caption": "Visits", "headers": ["Month", "Visits"], "rows": [["Jan", 10], ["Feb", 12]]},
    )
    assert '<figure class="chart" id="chart-visits"' in html
    assert '<figcaption id="chart-visits-caption">Visits</figcaption>' in html
    assert "<details>" in html
    assert '<th scope="row">Feb</th><td class="numeric">12</td>' in html


def test_messages_are_rendered_in_a_status_region(rf) -> None:
    from django.contrib import messages
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.messages.storage.base import Message

    request = rf.get("/")
    request.user = AnonymousUser()
    html = render_to_string(
        "web/base.html",
        {"messages": [Message(messages.SUCCESS, "Saved."), Message(messages.ERROR, "Failed.")]},
        request=request,
    )
    region = re.search(r'<div class="messages" role="status">.*?</div>', html, re.S)
    assert region
    assert '<li class="messages__item messages__item--success">Saved.</li>' in region.group(0)
    assert '<li class="messages__item messages__item--error">Failed.</li>' in region.group(0)
