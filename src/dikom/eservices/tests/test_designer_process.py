"""The process of a service in the designer, on the review and library pages, and on adoption:
BPMN upload with import report and diagram, lanes, decision settings, letter template preview,
and the adopting city's own org unit per lane, used when a case opens."""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.eservices import actions
from dikom.eservices.models import Adoption, ReviewComment, ServiceVersion
from dikom.municipalities.tests.factories import OrgUnitFactory

pytestmark = pytest.mark.django_db

SRC = Path(__file__).resolve().parents[2]
DEMO = SRC / "eservices" / "demo_processes"
FIXTURES = SRC / "cases" / "tests" / "bpmn"
PARKING_PROCESS = DEMO / "bewohnerparkausweis.bpmn"
NAPPIES_PROCESS = DEMO / "zuschuss-mehrwegwindeln.bpmn"
UNSUPPORTED = FIXTURES / "unsupported_elements.bpmn"
CAMUNDA = FIXTURES / "camunda7_special_use.bpmn"
NO_LAYOUT = FIXTURES / "zeebe_no_diagram.bpmn"


@pytest.fixture
def designer(as_user, designer_a):
    return as_user(designer_a)


def _url(version: ServiceVersion, tail: str = "") -> str:
    return f"/dienste/{version.definition.slug}/v{version.number}/bearbeiten/prozess/{tail}"


def _h(version: ServiceVersion) -> str:
    version.refresh_from_db()
    return version.content_hash


def _upload(client: Client, version: ServiceVersion, path: Path | None = None, *, data: bytes | None = None,
            name: str | None = None) -> Any:  # fmt: skip
    payload = path.read_bytes() if data is None and path is not None else data
    upload = SimpleUploadedFile(name or (path.name if path else "process.bpmn"), payload or b"", "application/xml")
    return client.post(_url(version, "hochladen/"), {"content_hash": _h(version), "file": upload})


def _line_of(path: Path, needle: str) -> int:
    return next(n for n, text in enumerate(path.read_text("utf-8").splitlines(), start=1) if needle in text)


def test_a_supported_process_is_stored_and_shown_as_diagram_with_lanes(draft, designer):
    # When the designer uploads the demo process of the parking permit
    response = _upload(designer, draft, PARKING_PROCESS)
    assert response.status_code == 302 and response["Location"].endswith("/prozess/#process")
    draft.refresh_from_db()
    # Then the definition carries it as the file's text
    assert draft.content["processing"]["bpmn"] == PARKING_PROCESS.read_text("utf-8")

    page = designer.get(_url(draft))
    html = page.content.decode()
    assert page.status_code == 200
    assert "The process was stored." in html
    # the diagram as inline SVG with its title and description, and the text alternative
    svg = re.search(r'<svg[^>]*class="bpmn-diagram"[^>]*>.*?</svg>', html, re.S)
    assert svg is not None and 'role="img"' in svg.group(0) and "<title" in svg.group(0)
    assert "<script" not in svg.group(0)
    steps = re.search(r'<ol class="bpmn-steps"[^>]*>(.*?)</ol>', html, re.S)
    assert steps is not None and "(Straßenverkehrsbehörde)" in steps.group(1)
    assert "User task:" in steps.group(1)
    # the lane can be mapped to a unit name
    assert "Lane “Straßenverkehrsbehörde”" in html
    assert "The import report is empty" in html

    # The lane mapping and the decision settings are saved with the process
    response = designer.post(
        _url(draft),
        {
            "content_hash": _h(draft),
            "lane_0": "Ordnungsamt",
            "sign_off_required": "on",
            "letter_template_de": "<p>Ihr Antrag {{ case.reference }}.</p>",
            "action": "save",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    processing = draft.content["processing"]
    assert processing["lanes"] == {"Straßenverkehrsbehörde": "Ordnungsamt"}
    assert processing["sign_off_required"] is True and processing["automatic_decision_allowed"] is False
    assert processing["letter_template"] == {"de": "<p>Ihr Antrag {{ case.reference }}.</p>"}
    assert processing["bpmn"] == PARKING_PROCESS.read_text("utf-8")


def test_a_file_in_another_encoding_is_stored_as_utf8_text(draft, designer):
    text = PARKING_PROCESS.read_text("utf-8").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"', 1)
    assert _upload(designer, draft, data=text.encode("iso-8859-1"), name="parken.xml").status_code == 302
    draft.refresh_from_db()
    stored = draft.content["processing"]["bpmn"]
    assert stored == PARKING_PROCESS.read_text("utf-8")  # declaration now says UTF-8, text unchanged
    assert "Lane “Straßenverkehrsbehörde”" in designer.get(_url(draft)).content.decode()


def test_unsupported_elements_are_refused_with_element_and_line_and_nothing_is_lost(draft, designer):
    _upload(designer, draft, PARKING_PROCESS)
    designer.post(
        _url(draft), {"content_hash": _h(draft), "lane_0": "Ordnungsamt", "letter_template_de": "<p>Text</p>"}
    )
    before = _h(draft)

    response = _upload(designer, draft, UNSUPPORTED)

    assert response.status_code == 400
    html = response.content.decode()
    assert "The process was not stored" in html
    report = html.split('id="refused-heading"', 1)[1].split("</table>", 1)[0]
    line = _line_of(UNSUPPORTED, "<bpmn:complexGateway")
    row = next(r for r in report.split("<tr>") if "bpmn:complexGateway" in r)
    assert "Two of three" in row and f"<td>{line}</td>" in row and "not supported" in row
    assert "Boundary_Compensate" in report  # compensation: also refused
    # the stored process, its lanes and the letter template are untouched
    assert _h(draft) == before
    assert draft.content["processing"]["lanes"] == {"Straßenverkehrsbehörde": "Ordnungsamt"}
    assert "Lane “Straßenverkehrsbehörde”" in html  # the stored process is still shown


def test_a_camunda_export_imports_with_notes(draft, designer):
    response = _upload(designer, draft, CAMUNDA)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.content["processing"]["bpmn"] == CAMUNDA.read_text("utf-8")
    html = designer.get(_url(draft)).content.decode()
    assert re.search(r"The process was stored\. The import report lists \d+ notes\.", html)
    assert "notes: ignored or converted on import" in html
    assert "Tool-specific settings of" in html and "camunda:formKey" in html
    assert "made with Camunda Modeler 5.17.0" in html
    assert "Lane “Bürgerbüro”" in html and "Lane “Straßenverkehrsbehörde”" in html


def test_a_process_without_layout_lists_its_steps_instead(draft, designer):
    assert _upload(designer, draft, NO_LAYOUT).status_code == 302
    html = designer.get(_url(draft)).content.decode()
    assert "contains no diagram layout (BPMNDI)" in html
    assert "<svg" not in html.split('id="process"', 1)[1].split("</section>", 1)[0]
    steps = re.search(r'<ol class="bpmn-steps"[^>]*>(.*?)</ol>', html, re.S)
    assert steps is not None and "Calculate fee" in steps.group(1)


def test_oversized_non_xml_and_wrong_files_are_refused_in_german(draft, designer_a, login):
    client = login(Client(), designer_a)  # German, the default language
    before = _h(draft)

    too_big = b'<?xml version="1.0"?><definitions>' + b" " * (5 * 1024 * 1024) + b"</definitions>"
    response = _upload(client, draft, data=too_big, name="gross.bpmn")
    assert response.status_code == 400
    assert "Die Datei ist größer als 5 MB." in response.content.decode()

    response = _upload(client, draft, data=b"Das ist kein XML, sondern Text.", name="prozess.bpmn")
    assert response.status_code == 400
    assert "Die Datei ist kein wohlgeformtes XML." in response.content.decode()

    response = _upload(client, draft, data=PARKING_PROCESS.read_bytes(), name="prozess.pdf")
    assert response.status_code == 400
    error = re.search(r'<ul class="errorlist" id="upload-file_error">(.*?)</ul>', response.content.decode(), re.S)
    assert error is not None and ".bpmn" in error.group(1) and ".xml" in error.group(1)
    assert _h(draft) == before


def test_an_upload_on_a_stale_page_does_not_overwrite_a_colleagues_change(draft, designer):
    stale = _h(draft)
    actions.update_draft(draft, actor=None, content={**draft.content, "summary_step": False})
    upload = SimpleUploadedFile("p.bpmn", PARKING_PROCESS.read_bytes(), "application/xml")
    response = designer.post(_url(draft, "hochladen/"), {"content_hash": stale, "file": upload}, follow=True)
    assert "was changed meanwhile" in response.content.decode()
    draft.refresh_from_db()
    assert "processing" not in draft.content


def test_letter_template_preview_from_sample_data_and_errors(draft, designer):
    template = (
        "<p>Ihr Antrag {{ case.reference }} ({{ case.service }}) wurde {{ case.outcome_label }}.</p>"
        "<p>Kennzeichen: {{ answers.fahrzeug.kennzeichen }}, Gebühr {{ fees.total }}</p>"
        '<script>alert("x")</script><p onclick="x()">Ende</p>'
    )
    before = _h(draft)
    response = designer.post(_url(draft), {"content_hash": before, "letter_template_de": template, "action": "preview"})
    assert response.status_code == 200
    html = response.content.decode()
    preview = html.split('class="letter-preview">', 1)[1].split("</div>", 1)[0]
    assert "MU-2026-000123" in preview and "(Bewohnerparkausweis)" in preview and "bewilligt" in preview
    assert "Kennzeichen: Beispiel" in preview and "30,85 €" in preview  # 30,00 € permit + 0,85 € postage
    assert "<script" not in preview and "onclick" not in preview and "<p>Ende</p>" in preview
    assert "It is not saved yet" in html
    assert _h(draft) == before  # a preview stores nothing

    response = designer.post(
        _url(draft), {"content_hash": before, "letter_template_de": "{% include 'secret.html' %}", "action": "save"}
    )
    assert response.status_code == 400
    assert "The letter template cannot be used:" in response.content.decode()
    assert _h(draft) == before

    response = designer.post(
        _url(draft), {"content_hash": before, "sign_off_required": "on", "automatic_decision_allowed": "on"}
    )
    assert response.status_code == 400
    assert "cannot be decided automatically" in response.content.decode()
    assert _h(draft) == before

    # A saved template is previewed on the page itself
    designer.post(_url(draft), {"content_hash": before, "letter_template_de": template, "action": "save"})
    html = designer.get(_url(draft)).content.decode()
    assert "MU-2026-000123" in html.split('class="letter-preview">', 1)[1]


def test_removing_the_process_keeps_the_other_settings(draft, designer):
    _upload(designer, draft, PARKING_PROCESS)
    designer.post(_url(draft), {"content_hash": _h(draft), "lane_0": "Ordnungsamt", "sign_off_required": "on"})
    response = designer.post(_url(draft, "entfernen/"), {"content_hash": _h(draft)})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.content["processing"] == {"sign_off_required": True, "automatic_decision_allowed": False}


def test_only_designers_of_the_authoring_city_edit_the_process(draft, designer_a, city_a, city_b, owner, as_user):
    foreign_designer = MembershipFactory(municipality=city_b, role=Role.PROCESS_DESIGNER).user
    before = _h(draft)
    # another city's designer does not see the draft at all
    client = as_user(foreign_designer)
    assert client.get(_url(draft)).status_code == 404
    assert _upload(client, draft, PARKING_PROCESS).status_code == 404
    # the authoring city's administrator sees it but does not design
    client = as_user(owner)
    assert client.get(_url(draft)).status_code == 403
    assert _upload(client, draft, PARKING_PROCESS).status_code == 403
    assert client.post(_url(draft, "entfernen/"), {"content_hash": before}).status_code == 403
    # anonymous visitors are sent to sign in
    assert Client().get(_url(draft)).status_code == 302
    assert _h(draft) == before


def test_reviewers_see_the_diagram_and_comment_on_the_process(draft, designer_a, reviewer_b, as_user):
    content = copy.deepcopy(draft.content)
    content["processing"] = {"bpmn": PARKING_PROCESS.read_text("utf-8"), "lanes": {"Straßenverkehrsbehörde": "SVB"}}
    actions.update_draft(draft, actor=designer_a, content=content)
    version = actions.submit_for_review(draft, actor=designer_a)
    client = as_user(reviewer_b)
    page = client.get(f"/dienste/{version.definition.slug}/v{version.number}/?pfad=processing.bpmn")
    html = page.content.decode()
    section = html.split('id="process"', 1)[1].split("</section>", 1)[0]
    assert "<svg" in section and 'class="bpmn-steps"' in section
    assert "Straßenverkehrsbehörde" in section and "SVB" in section
    assert 'value="processing.bpmn" selected' in html  # the comment form is about the process

    response = client.post(
        f"/dienste/{version.definition.slug}/v{version.number}/kommentar/",
        {"path": "processing.bpmn", "body": "Die Frist der Prüfung fehlt."},
    )
    assert response.status_code == 302
    comment = ReviewComment.objects.get(version=version)
    assert comment.path == "processing.bpmn"
    html = client.get(f"/dienste/{version.definition.slug}/v{version.number}/").content.decode()
    section = html.split('id="process"', 1)[1].split('id="comments"', 1)[0]
    assert "Die Frist der Prüfung fehlt." in section


def test_the_released_process_is_shown_on_the_library_and_version_pages(
    draft, designer_a, reviewer_b, reviewer_c, city_b, city_c
):
    content = copy.deepcopy(draft.content)
    content["processing"] = {"bpmn": NAPPIES_PROCESS.read_text("utf-8"), "sign_off_required": True}
    actions.update_draft(draft, actor=designer_a, content=content)
    version = actions.submit_for_review(draft, actor=designer_a)
    actions.review_version(version, actor=reviewer_b, municipality=city_b, decision="approve")
    actions.review_version(version, actor=reviewer_c, municipality=city_c, decision="approve")
    version.refresh_from_db()
    assert version.status == "released"
    for url in (f"/dienste/{version.definition.slug}/", f"/dienste/{version.definition.slug}/v1/"):
        client = Client()  # public, without an account
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        html = client.get(url).content.decode()
        section = html.split('id="process"', 1)[1].split("</section>", 1)[0]
        assert "<svg" in section and "Kaufbelege prüfen" in section
        assert "(Fachbereich Umwelt und Grünflächen)" in section  # text alternative with lanes
        assert "Second sign-off</dt><dd>required" in section
        assert "a unit of the same name, else the responsible unit" in section


# --- adoption: the city's own org unit per lane, used when a case opens -------------------------


def _submit(adoption: Any) -> Any:
    """A citizen's submission through the portal's actions (as in cases/tests/test_case_lifecycle.py)."""
    from dikom.eservices.service import adoption_for
    from dikom.portal import actions as portal_actions
    from dikom.portal.tests.conftest import VALID_IBAN

    offered = adoption_for(adoption.municipality, adoption.definition.slug)
    application = portal_actions.start_application(adopted=offered)
    portal_actions.save_step_answers(
        application,
        "person",
        {"name": "Erika Muster", "email": "erika@example.org", "plz": "36037", "hat_kinder": "no"},
        next_step=3,
    )
    portal_actions.save_step_answers(application, "bank", {"iban": VALID_IBAN}, next_step=3)
    application, won = portal_actions.submit_application(application, submission_key=application.submission_key)
    assert won
    return application


@pytest.mark.django_db(transaction=True)
def test_the_adopting_city_chooses_its_own_unit_per_lane_and_cases_use_it(city_a, city_b, owner, as_user):
    from dikom.cases.models import Case
    from dikom.portal.tests.conftest import FAMILY, release_and_adopt

    content = copy.deepcopy(FAMILY)
    content["processing"] = {
        "bpmn": NAPPIES_PROCESS.read_text("utf-8"),
        "lanes": {"Fachbereich Umwelt und Grünflächen": "Umweltamt"},
    }
    adoption = release_and_adopt(content, city_a)
    citizens_office = OrgUnitFactory(municipality=city_a, name="Bürgerbüro")
    environment = OrgUnitFactory(municipality=city_a, name="Amt für Umwelt", short_name="Umweltamt")
    social = OrgUnitFactory(municipality=city_a, name="Sozialamt")
    foreign = OrgUnitFactory(municipality=city_b, name="Sozialamt Gießen")
    url = f"/dienste/{adoption.definition.slug}/uebernahme/{city_a.slug}/"
    client = as_user(owner)

    # The adoption page names where each lane's tasks go without a choice
    html = client.get(url).content.decode()
    assert "Tasks of the lane “Fachbereich Umwelt und Grünflächen” go to" in html
    assert "Without a choice: Amt für Umwelt" in html and "shared mapping “Umweltamt”" in html
    assert "Without a choice: Bürgerbüro (same name as the lane)" in html

    form = {
        "org_unit": citizens_office.pk,
        "start_date": "2020-01-01",
        "contact_email": "buergerbuero@example.org",
        "active": "on",
        "lane_0": social.pk,
        "lane_1": "",
    }
    # another city's unit is refused
    response = client.post(url, {**form, "lane_0": foreign.pk})
    assert response.status_code == 400
    adoption.refresh_from_db()
    assert adoption.lanes == {}
    # the city's own choice is stored
    assert client.post(url, form).status_code == 302
    adoption.refresh_from_db()
    assert adoption.lanes == {"Fachbereich Umwelt und Grünflächen": social.pk}
    assert adoption.org_unit == citizens_office

    # When a citizen submits, the case's tasks go to the chosen unit, the other lane by its name
    case = Case.objects.get(application=_submit(adoption))
    units = {task.name: task.org_unit for task in case.tasks.all()}
    assert units == {"Kaufbelege prüfen": social, "Meldedaten des Kindes prüfen": citizens_office}
    assert environment not in units.values()


def test_lane_choices_must_be_lanes_of_the_version_and_units_of_the_city(released, city_d, admin_d, org_unit_d):
    local = actions.LocalSettings(start_date=dt.date(2026, 1, 1), lanes={"Keine solche Bahn": org_unit_d.pk})
    with pytest.raises(ValidationError, match="no lane"):
        actions.adopt_service(municipality=city_d, version=released, actor=admin_d, local=local)
    assert not Adoption.objects.filter(municipality=city_d).exists()


def _bpmn(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">'
        f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    ).encode()


def _nested(levels: int) -> str:
    inner = '<bpmn:startEvent id="s0"/>'
    for level in range(levels):
        inner = f'<bpmn:subProcess id="sub{level}"><bpmn:startEvent id="st{level}"/>{inner}</bpmn:subProcess>'
    return '<bpmn:startEvent id="start"/>' + inner


@pytest.mark.parametrize(
    ("body", "limit"),
    [
        ('<bpmn:startEvent id="start"/>' + "".join(f'<bpmn:task id="t{i}"/>' for i in range(40_000)), "1000"),
        (
            '<bpmn:startEvent id="start"/><bpmn:task id="t"/>'
            + "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="start" targetRef="t"/>' for i in range(3500)),
            "3000",
        ),
        (_nested(12), "10"),
    ],
    ids=["40000-tasks", "3500-flows", "12-nested-subprocesses"],
)
def test_a_process_beyond_the_limits_is_not_stored_and_the_limit_is_named(designer, draft, body, limit):
    response = _upload(designer, draft, data=_bpmn(body))

    assert response.status_code == 400
    html = response.content.decode()
    assert "The process was not stored" in html and f"at most {limit}" in html
    draft.refresh_from_db()
    assert not (draft.content.get("processing") or {}).get("bpmn")


def test_an_imported_archive_with_a_process_beyond_the_limits_is_refused(client, login, designer_a, city_a):
    import io
    import json
    import zipfile

    from dikom.eservices.definition import FORMAT
    from dikom.eservices.definition.interchange import checksum
    from dikom.eservices.models import ServiceDefinition

    definition = {
        "format": FORMAT,
        "processing": {"bpmn": _bpmn("".join(f'<bpmn:task id="t{i}"/>' for i in range(2000))).decode()},
    }
    metadata = {"format": "dikom.service-archive/1", "definition_sha256": checksum(definition)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("definition.json", json.dumps(definition))
        archive.writestr("metadata.json", json.dumps(metadata))
    login(client, designer_a)

    response = client.post(
        "/dienste/importieren/",
        {"municipality": city_a.pk, "file": SimpleUploadedFile("x.zip", buffer.getvalue(), "application/zip")},
    )

    assert response.status_code == 400
    assert "höchstens 1000" in response.content.decode()
    assert not ServiceDefinition.objects.exists()
