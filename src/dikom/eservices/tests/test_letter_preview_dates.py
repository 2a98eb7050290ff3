"""The designer's letter preview shows dates as the letter will: in German, never ISO."""

from __future__ import annotations

import re

import pytest

from dikom.eservices import process
from dikom.eservices.models import ServiceVersion
from dikom.lib import letterhead

pytestmark = pytest.mark.django_db


@pytest.fixture
def designer(as_user, designer_a):
    return as_user(designer_a)


def _url(version: ServiceVersion) -> str:
    return f"/dienste/{version.definition.slug}/v{version.number}/bearbeiten/prozess/"


def test_the_preview_writes_dates_in_german(draft, designer):
    draft.refresh_from_db()
    template = (
        "<p>Entschieden am {{ case.decided_at_long }} ({{ case.decided_at }}), beantragt am {{ case.submitted_at }}.</p>"
        "<p>Bei {{ municipality.authority }}, {{ municipality.head }}.</p>"
    )
    response = designer.post(
        _url(draft), {"content_hash": draft.content_hash, "letter_template_de": template, "action": "preview"}
    )
    assert response.status_code == 200
    preview = response.content.decode().split('class="letter-preview">', 1)[1].split("</div>", 1)[0]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", preview), preview
    assert re.search(r"Entschieden am \d{1,2}\. [A-Z][a-zä]+ 20\d\d \(\d{2}\.\d{2}\.20\d\d\)", preview), preview
    assert "Der Oberbürgermeister" in preview


def test_the_preview_writes_date_answers_in_german(draft):
    # Given a service with a date field (the parking permit has none), as the designer's page renders it.
    content = dict(draft.content)
    content["steps"] = [
        *content["steps"],
        {"key": "termin", "title": {"de": "Termin"},
         "fields": [{"key": "beginn", "type": "date", "label": {"de": "Beginn"}, "required": True}]},
    ]  # fmt: skip
    preview = process.render_letter_preview("<p>Beginn: {{ answers.termin.beginn }}</p>", content)
    assert re.fullmatch(r"<p>Beginn: \d{2}\.\d{2}\.20\d\d</p>", str(preview)), preview


def test_german_dates_in_answers_are_converted_where_they_are_dates_only():
    answers = {"s": {"d": "2027-01-01", "x": "2027-13-45", "t": "Nr. 2027-01-01-A", "l": [{"d": "2026-12-31"}]}}
    assert letterhead.german_dates(answers) == {
        "s": {"d": "01.01.2027", "x": "2027-13-45", "t": "Nr. 2027-01-01-A", "l": [{"d": "31.12.2026"}]}
    }
    assert letterhead.long_date(letterhead.dt.date(2027, 1, 1)) == "1. Januar 2027"
    assert letterhead.long_date(letterhead.dt.date(2027, 3, 9)) == "9. März 2027"
