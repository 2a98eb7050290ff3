"""Decision tables (DMN) of a service: upload with checks in the designer, the readable table page with its test
form, the service checks that refuse a process calling a missing decision, and a case whose business rule task
evaluates the released table."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dikom.eservices.definition import validate_definition
from dikom.eservices.models import ServiceVersion

pytestmark = pytest.mark.django_db

TCK = Path(__file__).resolve().parents[2] / "cases" / "tests" / "data" / "dmn-tck"

BEZIRK = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="zustaendigkeit" name="Zuständigkeit"
    namespace="https://dikom.example/dmn">
  <decision id="bezirk" name="Bezirk">
    <decisionTable id="t" hitPolicy="FIRST">
      <input id="plz" label="Postleitzahl"><inputExpression typeRef="string"><text>answers.person.plz</text></inputExpression></input>
      <output id="o" name="bezirk" typeRef="string"/>
      <rule id="r1"><description>Innenstadt</description><inputEntry><text>"36037","36039"</text></inputEntry><outputEntry><text>"Mitte"</text></outputEntry></rule>
      <rule id="r2"><inputEntry><text>-</text></inputEntry><outputEntry><text>"Außenbezirk"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="zustaendig" name="Bezirk bestimmen" camunda:decisionRef="bezirk" camunda:resultVariable="bezirk">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:exclusiveGateway id="g" default="f4"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="mitte" name="Bürgerbüro Mitte prüft"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="aussen" name="Außenstelle prüft"><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f5</bpmn:incoming><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="zustaendig"/>
    <bpmn:sequenceFlow id="f2" sourceRef="zustaendig" targetRef="g"/>
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="mitte"><bpmn:conditionExpression>${bezirk == "Mitte"}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="aussen"/>
    <bpmn:sequenceFlow id="f5" sourceRef="mitte" targetRef="e"/>
    <bpmn:sequenceFlow id="f6" sourceRef="aussen" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def designer(as_user, designer_a):
    return as_user(designer_a)


def _base(version: ServiceVersion) -> str:
    return f"/dienste/{version.definition.slug}/v{version.number}/"


def _upload(client, version: ServiceVersion, data: bytes, name: str = "regeln.dmn") -> Any:
    version.refresh_from_db()
    upload = SimpleUploadedFile(name, data, "application/xml")
    return client.post(
        _base(version) + "bearbeiten/entscheidungen/hochladen/", {"content_hash": version.content_hash, "file": upload}
    )


def test_a_dmn_file_is_stored_listed_and_shown_as_a_table_with_a_test_form(draft, designer):
    response = _upload(designer, draft, (TCK / "0004-simpletable-U.dmn").read_bytes(), "0004-simpletable-U.dmn")
    assert response.status_code == 302 and response["Location"].endswith("/prozess/#decisions")
    draft.refresh_from_db()
    key = "_edbd2d8e-a5a8-4660-9bb9-adaa792d900c"
    assert list(draft.content["processing"]["decisions"]) == [key]
    html = designer.get(_base(draft) + "bearbeiten/prozess/").content.decode()
    assert "The decision tables “0004-simpletable-U” were stored (1 decision)." in html
    assert "Approval Status · UNIQUE" in html

    page = designer.get(_base(draft) + f"entscheidungen/{key}/")
    html = page.content.decode()
    assert page.status_code == 200
    # a real table: caption, column headers for inputs and outputs, one row header per rule
    assert re.search(r"<caption[^>]*>Decision table “Approval Status” with 4 rules</caption>", html)
    assert html.count('<th scope="row">') == 4
    assert "If Age" in html and "If RiskCategory" in html and "Then" in html
    assert "Hit policy" in html and "<strong>UNIQUE</strong>" in html
    assert "(Age &gt;= 18)" not in html and "Age &gt;= 18" in html  # the translated test, readable

    # the test form: values per input column, the result and the matching rule
    tested = designer.get(
        _base(draft) + f"entscheidungen/{key}/",
        {"entscheidung": "_3b2953a3-745f-4d2e-b55d-75c8c5ae653c", "input_0": "17", "input_1": "Low", "input_2": "true"},
    ).content.decode()
    assert "Result: <code>Declined</code>" in tested
    assert "Matching rules: 2" in tested
    assert 'class="decision-table__matched"' in tested
    bad = designer.get(
        _base(draft) + f"entscheidungen/{key}/",
        {"entscheidung": "_3b2953a3-745f-4d2e-b55d-75c8c5ae653c", "input_0": "siebzehn"},
    )
    assert bad.status_code == 200 and "Enter a number." in bad.content.decode()


def test_the_decision_pages_are_german(draft, designer_a, login):
    from django.test import Client

    from dikom.lib.langcheck import foreign_text

    german = login(Client(), designer_a)
    assert _upload(german, draft, BEZIRK.encode()).status_code == 302
    for url in (_base(draft) + "bearbeiten/prozess/", _base(draft) + "entscheidungen/zustaendigkeit/"):
        html = german.get(url, {"entscheidung": "bezirk", "input_0": "36037"} if "prozess" not in url else {})
        assert html.status_code == 200
        assert foreign_text(html.content.decode(), "de") == [], url
    page = german.get(_base(draft) + "entscheidungen/zustaendigkeit/").content.decode()
    assert "Trefferrichtlinie" in page and "Entscheidung ausprobieren" in page


def test_untranslatable_feel_is_refused_with_element_line_and_expression(draft, designer):
    broken = BEZIRK.replace('"36037","36039"', "matches(plz, &quot;^36&quot;)")
    response = _upload(designer, draft, broken.encode())
    html = response.content.decode()
    assert response.status_code == 400
    assert "The decision tables were not stored" in html
    assert "<code>r1</code>" in html and "<td>8</td>" in html
    assert "<code>matches(plz, &quot;^36&quot;)</code>" in html
    draft.refresh_from_db()
    assert "decisions" not in (draft.content.get("processing") or {})
    doctype = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><definitions/>'
    assert _upload(designer, draft, doctype).status_code == 400
    assert _upload(designer, draft, b"<x/>", "regeln.txt").status_code == 400


def test_other_cities_see_the_table_only_with_the_version_and_cannot_change_it(
    draft, designer, as_user, owner, outsider
):
    assert _upload(designer, draft, BEZIRK.encode()).status_code == 302
    # the authoring city's admin may look at its draft, but not change it (no designer role)
    admin_of_city = as_user(owner)
    assert admin_of_city.get(_base(draft) + "entscheidungen/zustaendigkeit/").status_code == 200
    draft.refresh_from_db()
    response = admin_of_city.post(
        _base(draft) + "bearbeiten/entscheidungen/zustaendigkeit/entfernen/", {"content_hash": draft.content_hash}
    )
    assert response.status_code == 403
    outsider_city_admin = as_user(outsider)  # another city: an unsubmitted draft is not visible
    assert outsider_city_admin.get(_base(draft) + "entscheidungen/zustaendigkeit/").status_code == 404
    draft.refresh_from_db()
    response = outsider_city_admin.post(
        _base(draft) + "bearbeiten/entscheidungen/zustaendigkeit/entfernen/", {"content_hash": draft.content_hash}
    )
    assert response.status_code in {403, 404}
    draft.refresh_from_db()
    assert "zustaendigkeit" in draft.content["processing"]["decisions"]
    assert designer.get(_base(draft) + "entscheidungen/unbekannt/").status_code == 404
    # the designer removes it
    response = designer.post(
        _base(draft) + "bearbeiten/entscheidungen/zustaendigkeit/entfernen/", {"content_hash": draft.content_hash}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert "decisions" not in draft.content.get("processing", {})


def test_a_process_calling_a_missing_decision_is_refused_by_the_service_checks(parking):
    content = copy.deepcopy(parking)
    content["processing"] = {"bpmn": PROCESS}
    problems = [p for p in validate_definition(content) if p.code == "missing_decision"]
    assert len(problems) == 1 and "bezirk" in problems[0].message
    content["processing"]["decisions"] = {"zustaendigkeit": BEZIRK}
    assert not [p for p in validate_definition(content) if p.path.startswith("processing")]
    content["processing"]["decisions"] = {"kaputt": BEZIRK.replace("<text>-</text>", "<text>? &gt; 1</text>")}
    codes = {p.code for p in validate_definition(content)}
    assert "unsupported_dmn" in codes


@pytest.mark.django_db(transaction=True)
def test_a_case_evaluates_the_released_decision_table_in_its_business_rule_task(city_a):
    from dikom.cases.models import Case
    from dikom.eservices.tests.test_designer_process import _submit
    from dikom.portal.tests.conftest import FAMILY, release_and_adopt

    content = copy.deepcopy(FAMILY)
    content["processing"] = {"bpmn": PROCESS, "decisions": {"zustaendigkeit": BEZIRK}}
    adoption = release_and_adopt(content, city_a)
    case = Case.objects.get(application=_submit(adoption))  # postcode 36037
    assert [task.name for task in case.tasks.all()] == ["Bürgerbüro Mitte prüft"]
    event = case.events.get(kind="decision_table")
    assert event.data["decision"] == "bezirk" and event.data["rules"] == [1]
    assert case.workflow_state  # the process, not the fallback: no workflow_error
    assert not case.events.filter(kind="workflow_error").exists()


def test_decision_tables_travel_with_the_service_package(draft, designer, city_b, as_user):
    from dikom.accounts.roles import Role
    from dikom.accounts.tests.factories import MembershipFactory
    from dikom.eservices.models import ServiceVersion

    assert _upload(designer, draft, BEZIRK.encode()).status_code == 302
    archive = designer.get(_base(draft) + "export.zip")
    assert archive.status_code == 200
    other = as_user(MembershipFactory(municipality=city_b, role=Role.PROCESS_DESIGNER).user)
    upload = SimpleUploadedFile(
        "paket.zip", b"".join(archive.streaming_content) if archive.streaming else archive.content
    )
    response = other.post("/dienste/importieren/", {"municipality": city_b.pk, "file": upload})
    assert response.status_code == 302
    imported = ServiceVersion.objects.filter(municipality=city_b).latest("pk")
    assert imported.content["processing"]["decisions"] == {"zustaendigkeit": BEZIRK}
    # the version page links to the table
    assert _base(imported) + "entscheidungen/zustaendigkeit/" in other.get(_base(imported)).content.decode()
    assert other.get(_base(imported) + "entscheidungen/zustaendigkeit/").status_code == 200
