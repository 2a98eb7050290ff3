"""Staff-written templates (rule documents and texts, service letter templates) cannot read server files, reach
the network, reach Django's internals or tie up the worker (issue 13, item 1)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dikom.cases.automation.models import RuleExecution
from dikom.cases.automation.tests.conftest import _adopt, submit
from dikom.cases.models import Case, CaseDocument
from dikom.lib.testing import english_client, run_task_worker
from dikom.lib.tests import hostile
from dikom.lib.tests.hostile import SECRET, hostile_markup, pdf_text
from dikom.portal.tests.conftest import FAMILY

loopback, secret_file = hostile.loopback, hostile.secret_file  # the fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rule_document_fetches_no_file_and_no_url(
    adoption: Any, make_rule: Any, loopback: tuple[str, list[str]], secret_file: Path
) -> None:
    # Given a rule whose document template names the server's files, loopback URLs, data: and a redirect
    base, hits = loopback
    make_rule(
        name="Vermerk",
        actions=[{"type": "generate_document", "title": "Vermerk", "template": hostile_markup(base, secret_file)}],
    )
    # When a case triggers it
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()

    # Then the document exists, without the file's content, and the server was never asked
    document = case.documents.get(kind=CaseDocument.Kind.OTHER)
    text = pdf_text(document.file.read())
    assert "Inhalt" in text
    assert SECRET not in text
    assert hits == []


def test_a_service_letter_template_fetches_no_file_and_no_url(
    city_a: Any, city_b: Any, unit: Any, make_rule: Any, loopback: tuple[str, list[str]], secret_file: Path
) -> None:
    # Given a rule-based service whose letter template (written by a process designer) names files and URLs
    base, hits = loopback
    content = copy.deepcopy(FAMILY)
    content["processing"] = {
        "automatic_decision_allowed": True,
        "letter_template": {"de": hostile_markup(base, secret_file)},
    }
    adoption = _adopt(content, city_a, unit, suffix=" (Brief)")
    make_rule(
        name="Bewilligen",
        service_slug=adoption.definition.slug,
        actions=[{"type": "decide", "outcome": "approved", "reasons": "Alles da."}],
    )
    # When a case is decided automatically and the letter is generated
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()

    # Then the letter is there, without the secret, and nothing was fetched
    case.refresh_from_db()
    assert case.status == "decided"
    letter = pdf_text(case.documents.get(kind=CaseDocument.Kind.LETTER).file.read())
    assert "Inhalt" in letter and case.reference in letter
    assert SECRET not in letter
    assert hits == []


def test_rule_texts_see_plain_data_only(adoption: Any, make_rule: Any, mailoutbox: Any, settings: Any) -> None:
    # A text that tries Django's internals, settings and a method that would change the submitted answers
    make_rule(
        name="Neugierig",
        actions=[
            {
                "type": "notify",
                "to": "unit",
                "subject": "Neu",
                "body": "[{{ settings.SECRET_KEY }}][{{ answers.clear }}][{{ fees.lines.pop }}][{{ case.reference }}]",
            }
        ],
    )
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()

    [mail] = [m for m in mailoutbox if m.subject == "Neu"]
    assert mail.body == f"[][][][{case.reference}]"
    assert settings.SECRET_KEY not in mail.body
    case.application.refresh_from_db()
    assert case.application.submission_data["answers"]["person"]["plz"] == "36037"


def test_a_template_that_would_run_long_fails_with_a_reason(adoption: Any, make_rule: Any) -> None:
    # Nested loops over the reference (about 15 characters): 15^6 iterations, if nothing stopped them
    loops = "{% for a in case.reference %}" * 6 + "x" + "{% endfor %}" * 6
    rule = make_rule(name="Langsam", actions=[{"type": "generate_document", "title": "Langsam", "template": loops}])
    case = Case.objects.get(application=submit(adoption))
    run_task_worker()

    execution = RuleExecution.objects.get(rule=rule, case=case)
    assert execution.outcome == "refused"  # a reason the author must fix; not retried
    assert "too much text" in execution.error
    assert not case.documents.filter(kind=CaseDocument.Kind.OTHER).exists()


FORM = {
    "name": "Dokument",
    "trigger": "submitted",
    "service_slug": "",
    "task_filter": "",
    "condition": "",
    "active": "on",
    "action": "save",
}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{%load static%}{% static 'x' %}", "The tag “load” is not allowed"),
        ("{%include 'cases/letter.html'%}", "The tag “include” is not allowed"),
        ("{% extends 'base.html' %}", "The tag “extends” is not allowed"),
        ("{% debug %}", "The tag “debug” is not allowed"),
        ("{{ case.__class__ }}", "Names that begin with an underscore are not allowed"),
        ("{{ answers|pprint }}", "The filter “pprint” is not allowed"),
        ("{% autoescape off %}{{ answers }}{% endautoescape %}", "The tag “autoescape” is not allowed"),
        ("<p>" + "x" * 50_001 + "</p>", "The template is too long"),
    ],
)
def test_the_rule_form_refuses_templates_the_sandbox_would_not_run(
    owner: Any, login: Any, template: str, message: str
) -> None:
    import json

    from dikom.cases.automation.models import Rule

    client = login(english_client(), owner)
    actions = [{"type": "generate_document", "title": "T", "template": template}]
    response = client.post("/automatisierung/fulda/neu/", {**FORM, "actions": json.dumps(actions)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Rule.objects.exists()


def test_the_refusal_is_explained_in_german(owner: Any, login: Any) -> None:
    import json

    from django.test import Client

    client = login(Client(), owner)  # German is the default language
    actions = [{"type": "notify", "to": "unit", "subject": "Neu", "body": "{%load static%}"}]
    response = client.post("/automatisierung/fulda/neu/", {**FORM, "actions": json.dumps(actions)})
    assert response.status_code == 400
    assert "Das Tag „load“ ist in Vorlagen nicht erlaubt" in response.content.decode()


def test_every_text_of_a_rule_is_checked_when_saved(owner: Any, login: Any, adoption: Any) -> None:
    import json

    client = login(english_client(), owner)
    for actions in (
        [{"type": "generate_document", "title": "{% debug %}", "template": "<p>x</p>"}],
        [{"type": "decide", "outcome": "rejected", "reasons": "{%include 'x.html'%}"}],
        [{"type": "complete_task", "task": "Prüfen", "result": "{{ case.__dict__ }}"}],
    ):
        response = client.post("/automatisierung/fulda/neu/", {**FORM, "actions": json.dumps(actions)})
        assert response.status_code == 400, actions
        assert "cannot be used" in response.content.decode(), actions
