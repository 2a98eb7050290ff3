"""The case-processing journey as new users make it, in a real browser (Debian's chromium).

The issue's check: "In a browser as new users would: a citizen submits, a caseworker
requests information, the citizen answers, two departments work in parallel, a
decision letter is produced and opened, the case is closed and its xdomea export
validated against the official XSDs; a BPMN file not written for dikom imported and
run; automation rules dry-run and live."

- ``test_case_from_submission_to_the_efile``: Fulda offers the nappy subsidy with the
  demo process (the "Bürgerbüro" and the "Fachbereich Umwelt und Grünflächen" check in
  parallel, then the department decides, a second person signs off). A citizen applies
  in the portal, the citizens' office asks for a receipt, she answers with a PDF, both
  departments do their part, the decision letter is made, opened and downloaded by
  the citizen, the case is closed and its xdomea file dropped and validated.
- ``test_a_camunda_export_is_imported_and_runs``: a process designer uploads a Camunda
  Modeler export in the designer, sees the import notes and the diagram; the version is
  released (approvals through the actions) and adopted with a lane mapped to one of Fulda's
  own units; with a handler for the export's external-task topic (as Camunda needs a worker
  for it) an application gets its first task in that unit's inbox.
- ``test_automation_rule_dry_run_then_live``: Fulda's administrator writes a rule, tries
  it on the past case (dry run), activates it; the next application is routed by it and
  the execution log shows that.

Only the people, cities and the shared service are set up directly; everything the issue
lists happens through the pages. Texts are matched in German or English (the German
catalogue may be compiled or not), so most selectors use form names, values and addresses.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.utils import timezone

from conftest import skip_or_fail
from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import workflow
from dikom.cases.automation.models import Rule, RuleExecution
from dikom.cases.bpmn.engine import ServiceCall
from dikom.cases.efile import xdomea
from dikom.cases.models import Case, CaseDocument, CaseMessage, Task
from dikom.eservices import actions as eservice_actions
from dikom.eservices.models import Adoption, ServiceVersion
from dikom.lib.testing import run_task_worker
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory, OrgUnitFactory
from dikom.portal.models import Application
from dikom.portal.tests.conftest import release_and_adopt
from tests.browser.support import assert_accessible, assert_no_csp_violations, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SRC = Path(__file__).resolve().parents[2] / "src" / "dikom"
NAPPIES_PROCESS = SRC / "eservices" / "demo_processes" / "zuschuss-mehrwegwindeln.bpmn"
CAMUNDA_PROCESS = SRC / "cases" / "tests" / "bpmn" / "camunda7_special_use.bpmn"

UMWELT = "Fachbereich Umwelt und Grünflächen"
BUERGERBUERO = "Bürgerbüro"
NAPPIES_TITLE = "Zuschuss für Mehrwegwindeln"
SPECIAL_USE_TITLE = "Sondernutzung öffentlicher Straßen"
# The demo process's tasks, by BPMN id
RECEIPTS, REGISTRY, DECIDE = "Kaufbelege prüfen", "Meldedaten des Kindes prüfen", "Über den Zuschuss entscheiden"


def _de_en(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


def nappies_content() -> dict[str, Any]:
    """A short form of the demo nappy subsidy, carrying the demo process (two departments, sign-off)."""
    return {
        "format": "dikom.service/1",
        "identity": {
            "title": _de_en(NAPPIES_TITLE, "Subsidy for reusable nappies"),
            "description": _de_en(
                "Die Stadt bezuschusst den Kauf von Mehrwegwindeln.", "The city subsidises reusable nappies."
            ),
            "leika_key": "",
            "ozg_topic": "Umwelt",
            "keywords": ["Windeln", "Zuschuss"],
        },
        "steps": [
            {
                "key": "antragsteller",
                "title": _de_en("Antragstellerin oder Antragsteller", "Applicant"),
                "fields": [
                    {"key": "vorname", "type": "text", "label": _de_en("Vorname", "First name"), "required": True},
                    {"key": "nachname", "type": "text", "label": _de_en("Nachname", "Surname"), "required": True},
                    {
                        "key": "anschrift",
                        "type": "address",
                        "label": _de_en("Anschrift (Hauptwohnsitz)", "Address"),
                        "required": True,
                    },
                    {"key": "email", "type": "email", "label": _de_en("E-Mail-Adresse", "E-mail"), "required": True},
                ],
            },
            {
                "key": "kauf",
                "title": _de_en("Kauf und Auszahlung", "Purchase and payment"),
                "fields": [
                    {
                        "key": "betrag",
                        "type": "number",
                        "label": _de_en("Betrag in Euro", "Amount in euros"),
                        "required": True,
                        "validation": {"min": 1, "max": 2000},
                    },
                    {"key": "iban", "type": "iban", "label": _de_en("IBAN", "IBAN"), "required": True},
                ],
            },
        ],
        "fees": [],
        "summary_step": True,
        "trust_level": "low",
        "auth_methods": ["bundid", "eid"],
        "payment_required": False,
        "processing": {
            "bpmn": NAPPIES_PROCESS.read_text(encoding="utf-8"),
            "sign_off_required": True,
            "letter_template": {
                "de": "<p>Für den Kauf von Mehrwegwindeln über {{ answers.kauf.betrag }} Euro wird ein Zuschuss "
                "gewährt. Er wird auf das Konto {{ answers.kauf.iban }} überwiesen.</p>"
            },
        },
        "documents": [
            {"key": "eingangsbestaetigung", "title": _de_en("Eingangsbestätigung", "Receipt"), "kind": "receipt"}
        ],
    }


def special_use_content() -> dict[str, Any]:
    """A short form without a process yet: the designer uploads one in the browser."""
    return {
        "format": "dikom.service/1",
        "identity": {
            "title": _de_en(SPECIAL_USE_TITLE, "Special use of public roads"),
            "description": _de_en("Erlaubnis für Baugerüste, Container und Stände.", "Permit for scaffolds."),
            "leika_key": "",
            "ozg_topic": "Mobilität und Reisen",
            "keywords": ["Sondernutzung"],
        },
        "steps": [
            {
                "key": "antrag",
                "title": _de_en("Antrag", "Application"),
                "fields": [
                    {"key": "name", "type": "text", "label": _de_en("Name", "Name"), "required": True},
                    {"key": "ort", "type": "text", "label": _de_en("Ort der Nutzung", "Place"), "required": True},
                ],
            }
        ],
        "fees": [],
        "summary_step": True,
        "trust_level": "none",
        "auth_methods": ["none"],
        "payment_required": False,
        "documents": [],
    }


# --- people, cities, the shared service -----------------------------------------------------------


def _member(username: str, municipality: Municipality, role: str, unit: OrgUnit | None = None, **names: str) -> User:
    return MembershipFactory(
        user__username=username,
        user__first_name=names.get("first", ""),
        user__last_name=names.get("last", ""),
        municipality=municipality,
        role=role,
        org_unit=unit,
    ).user


@pytest.fixture
def units(city_a: Municipality) -> dict[str, OrgUnit]:
    """Part of Fulda's organisation chart as in the demo (dikom.demo.data)."""
    return {
        "umwelt": OrgUnitFactory(municipality=city_a, name=UMWELT, short_name="FB 67"),
        "buergerbuero": OrgUnitFactory(municipality=city_a, name=BUERGERBUERO, short_name="32.1"),
        "verkehr": OrgUnitFactory(municipality=city_a, name="Straßenverkehrsamt", short_name="32.4"),
    }


@pytest.fixture
def staff(city_a: Municipality, units: dict[str, OrgUnit]) -> dict[str, User]:
    return {
        "buergerbuero": _member(
            "sb_buergerbuero", city_a, Role.CASEWORKER, units["buergerbuero"], first="Bernd", last="Bürger"
        ),
        "umwelt": _member("sb_umwelt", city_a, Role.CASEWORKER, units["umwelt"], first="Ute", last="Umwelt"),
        "verkehr": _member("sb_verkehr", city_a, Role.CASEWORKER, units["verkehr"], first="Vera", last="Verkehr"),
        "leitung": _member("leitung_umwelt", city_a, Role.CASEWORKER, units["umwelt"], first="Lea", last="Leitung"),
        "admin": _member("admin_fulda", city_a, Role.MUNICIPALITY_ADMIN, first="Anna", last="Admin"),
    }


@pytest.fixture
def nappies(city_a: Municipality, city_b: Municipality, units: dict[str, OrgUnit]) -> Adoption:
    """Released by the cooperation and adopted by Fulda; the environment department is responsible."""
    adoption = release_and_adopt(nappies_content(), city_a)
    adoption.org_unit = units["umwelt"]
    adoption.save(update_fields=["org_unit"])
    return adoption


@pytest.fixture
def journey_settings(browser_settings: LazySettings, tmp_path: Path) -> LazySettings:
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # the 2FA journey is tested elsewhere
    browser_settings.DIKOM_DEMO = True
    browser_settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    browser_settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    browser_settings.MEDIA_ROOT = str(tmp_path / "media")
    return browser_settings


@pytest.fixture
def open_page(new_page: Any, journey_settings: LazySettings) -> Iterator[Callable[..., Any]]:
    """A page in a fresh German browser context that also records every server error (5xx);
    any such error fails the test, also one after the last step's own check."""
    pages: list[Any] = []

    def make(javascript: bool = True) -> Any:
        page = new_page(java_script_enabled=javascript)
        page.server_errors = []

        def on_response(response: Any) -> None:
            if response.status >= 500:
                page.server_errors.append(f"{response.status} {response.url}")

        page.on("response", on_response)
        pages.append(page)
        return page

    yield make
    errors = [error for page in pages for error in page.server_errors]
    assert not errors, f"server errors: {errors}"


# --- helpers --------------------------------------------------------------------------------------


def submit(page: Any, button: Any) -> Any:
    """Click a button or link that loads a new page; return the response of that page."""
    with page.expect_navigation() as navigation:
        button.click()
    response = navigation.value
    assert not page.server_errors, page.server_errors
    return response


def goto(page: Any, url: str) -> Any:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert not page.server_errors, page.server_errors
    return response


def check(page: Any) -> None:
    """axe-core (WCAG 2.1 AA, nothing serious or critical), no blocked content, no server error."""
    assert_accessible(page)
    assert_no_csp_violations(page)
    assert not page.server_errors, page.server_errors


def check_as_with_javascript(page: Any, browser: Any, base_url: str) -> None:
    """axe needs JavaScript: open the page of a no-JavaScript context in a JavaScript one with the same cookies."""
    context = browser.new_context(base_url=base_url, locale="de-DE")
    try:
        context.set_default_timeout(15_000)
        context.add_cookies(page.context.cookies())
        twin = context.new_page()
        blocked: list[str] = []
        twin.on(
            "console",
            lambda m: blocked.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None,
        )
        response = twin.goto(page.url)
        assert response is not None and response.status == 200, page.url
        assert_accessible(twin)
        assert not blocked, "Content-Security-Policy blocked something:\n" + "\n".join(blocked)
    finally:
        context.close()
    assert not page.server_errors, page.server_errors


def text_of(locator: Any) -> str:
    """The visible text with all white space as single spaces."""
    return " ".join(locator.inner_text().replace("\xa0", " ").split())


def one_of(text: str, *options: str) -> bool:
    return any(option in text for option in options)


def small_pdf(line: str) -> bytes:
    """A tiny but well-formed one-page PDF (what a scanned receipt would be)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({line}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def open_service(page: Any, city: str, title: str) -> Application:
    """From the city's portal to the service page, start it; return the new application."""
    goto(page, f"/portal/{city}/")
    submit(page, page.get_by_role("link", name=title).first)
    submit(page, page.locator("main form[action$='/starten/'] button"))
    return Application.objects.get(uuid=page.url.split("/antrag/")[1].split("/")[0])


def finish(page: Any, application: Application) -> Application:
    """From the summary: submit, see the confirmation with the reference."""
    assert page.url.endswith("/zusammenfassung/"), page.url
    submit(page, page.locator("button[name='action'][value='submit']"))
    assert page.url.endswith("/bestaetigung/"), page.url
    application.refresh_from_db()
    assert application.submitted_at is not None and application.reference
    assert application.reference in text_of(page.locator("main"))
    return application


def apply_for_nappies(page: Any, *, amount: str) -> Application:
    """The signed-in citizen applies for the subsidy in Fulda's portal (demo BundID sign-in)."""
    application = open_service(page, "fulda", NAPPIES_TITLE)
    if not page.url.endswith("/schritt/1/"):  # the identity from an earlier sign-in is kept in the session
        assert page.url.endswith("/anmelden/"), page.url
        submit(page, page.locator("form:has(input[name='method'][value='bundid']) button[type='submit']"))
        assert "/anmeldung/demo/" in page.url, page.url
        page.locator("select[name='method']").select_option("bundid")
        submit(page, page.locator("main form button[type='submit']"))
    assert page.url.endswith("/schritt/1/"), page.url
    page.fill("#id-f-vorname", "Erika")
    page.fill("#id-f-nachname", "Mustermann")
    page.fill("#id-f-anschrift-street", "Bonifatiusplatz")
    page.fill("#id-f-anschrift-house_number", "1")
    page.fill("#id-f-anschrift-postcode", "36037")
    page.fill("#id-f-anschrift-city", "Fulda")
    page.fill("#id-f-email", "erika@example.org")
    submit(page, page.locator("button[name='action'][value='next']"))
    assert page.url.endswith("/schritt/2/"), page.url
    page.fill("#id-f-betrag", amount)
    page.fill("#id-f-iban", "DE89370400440532013000")
    submit(page, page.locator("button[name='action'][value='next']"))
    return finish(page, application)


def open_inbox_tab(page: Any, tab: str) -> None:
    goto(page, "/vorgaenge/fulda/")
    submit(page, page.locator(f"nav.case-tabs a[href*='tab={tab}']"))


def task_row(page: Any, reference: str, task_name: str) -> Any:
    return (
        page.locator("#tasks-caption")
        .locator("xpath=..")
        .locator("tbody tr", has=page.locator("th", has_text=reference))
        .filter(has_text=task_name)
    )


def task_article(page: Any, task_name: str) -> Any:
    return page.locator("article.case-task", has=page.locator("h3", has_text=task_name))


def complete_task(page: Any, task_name: str, result: str) -> None:
    """Take over the task on the case page when not yet mine, then mark it as done with a result."""
    article = task_article(page, task_name)
    claim = article.locator("form[action$='/uebernehmen/'] button")
    if claim.count():
        submit(page, claim)
        article = task_article(page, task_name)
    form = article.locator("form[action$='/erledigen/']")
    form.locator("textarea").fill(result)
    submit(page, form.locator("button[type='submit']"))
    assert task_article(page, task_name).count() == 0, f"“{task_name}” is still open"


def fact(page: Any, *labels: str) -> str:
    """The value of the case facts (or e-file facts) entry with one of the labels."""
    for label in labels:
        term = page.locator("dl.case-facts dt", has_text=re.compile(rf"^{re.escape(label)}$"))
        if term.count():
            return text_of(term.first.locator("xpath=following-sibling::dd[1]"))
    raise AssertionError(f"no entry {labels} on {page.url}")


def case_page(page: Any, case: Case) -> None:
    goto(page, f"/vorgaenge/fulda/{case.uuid}/")


# --- 1.–6. from the submission to the e-file --------------------------------------------------------


def test_case_from_submission_to_the_efile(
    open_page: Callable[..., Any],
    journey_settings: LazySettings,
    nappies: Adoption,
    staff: dict[str, User],
    citizen: User,
    password: str,
    tmp_path: Path,
    browser: Any,
    live_server: Any,
) -> None:
    drop = tmp_path / "efile"
    drop.mkdir()  # the mounted drop folder of the e-file system
    journey_settings.DIKOM_EFILE_CONNECTOR = "filedrop"
    journey_settings.DIKOM_EFILE_DROP_DIR = str(drop)

    # 1. The signed-in citizen applies in Fulda's portal
    erika = open_page()
    log_in(erika, citizen.username, password)
    application = apply_for_nappies(erika, amount="90")
    case = Case.objects.get(application=application)
    assert (case.status, case.org_unit.name) == (Case.Status.OPEN, UMWELT)
    assert sorted(case.tasks.values_list("name", "org_unit__name")) == sorted(
        [(RECEIPTS, UMWELT), (REGISTRY, BUERGERBUERO)]
    ), "the demo process starts both checks in parallel, each in its lane's unit"

    # 2. The citizens' office (a browser without JavaScript) finds the case in its unit's inbox
    # and asks for the receipt
    office = open_page(javascript=False)
    log_in(office, staff["buergerbuero"].username, password)
    open_inbox_tab(office, "unit")
    row = task_row(office, case.reference, REGISTRY)
    assert row.count() == 1, text_of(office.locator("main"))
    check_as_with_javascript(office, browser, live_server.url)
    # a search by reference finds it too
    office.fill("#id_q", case.reference)
    submit(office, office.locator("form.case-filter button[type='submit']"))
    assert task_row(office, case.reference, REGISTRY).count() == 1
    assert task_row(office, case.reference, RECEIPTS).count() == 0, "the other unit's task is not in this tab"
    submit(office, task_row(office, case.reference, REGISTRY).locator("a").first)
    assert office.url.endswith(f"/vorgaenge/fulda/{case.uuid}/"), office.url
    check_as_with_javascript(office, browser, live_server.url)
    assert "Erika" in text_of(office.locator("#data").locator("xpath=.."))
    info = office.locator("form[action$='/nachforderung/']")
    info.locator("input[name='info-subject']").fill("Kaufbeleg fehlt")
    info.locator("textarea[name='info-body']").fill("Bitte laden Sie den Kaufbeleg der Windeln als PDF hoch.")
    submit(office, info.locator("button[type='submit']"))
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING
    assert "Kaufbeleg fehlt" in text_of(office.locator("#messages").locator("xpath=.."))

    # 3. The citizen finds the question under "My applications" and answers with text and a PDF
    goto(erika, "/portal/antraege/")
    row = erika.locator("main table tbody tr", has_text=application.reference)
    submit(erika, row.locator(f"a[href='/portal/antraege/{application.uuid}/']").first)
    check(erika)
    request = erika.locator("article", has_text="Kaufbeleg fehlt")
    answer = request.locator("form[id^='answer-']")
    answer.locator("textarea[name='body']").fill("Hier ist der Beleg vom Drogeriemarkt.")
    answer.locator("input[type='file'][name='files']").set_input_files(
        files=[{"name": "beleg.pdf", "mimeType": "application/pdf", "buffer": small_pdf("Beleg 90,00 EUR")}]
    )
    submit(erika, answer.locator("button[type='submit']"))
    assert erika.locator("form[id^='answer-']").count() == 0, text_of(erika.locator("main"))
    check(erika)
    case.refresh_from_db()
    assert case.status == Case.Status.OPEN
    [attachment] = case.documents.filter(kind=CaseDocument.Kind.ATTACHMENT, file_name="beleg.pdf")
    assert attachment.content_type == "application/pdf"

    case_page(office, case)
    messages = text_of(office.locator("#messages").locator("xpath=.."))
    assert "Hier ist der Beleg vom Drogeriemarkt." in messages
    assert fact(office, "Status") in ("offen", "open"), "the case is open again"
    documents = text_of(office.locator("#documents").locator("xpath=.."))
    assert "beleg.pdf" in documents
    check_as_with_javascript(office, browser, live_server.url)

    # 4. Both departments see their own task in their unit's inbox at the same time
    department = open_page()
    log_in(department, staff["umwelt"].username, password)
    open_inbox_tab(department, "unit")
    open_inbox_tab(office, "unit")
    assert task_row(department, case.reference, RECEIPTS).count() == 1
    assert task_row(department, case.reference, REGISTRY).count() == 0
    assert task_row(office, case.reference, REGISTRY).count() == 1
    assert task_row(office, case.reference, RECEIPTS).count() == 0
    check(department)
    # the department takes its task over from the inbox (bulk form), the office on the case page
    task_row(department, case.reference, RECEIPTS).locator("input[type='checkbox'][name='task']").check()
    submit(department, department.locator("button[name='action'][value='claim']"))
    open_inbox_tab(department, "mine")
    assert task_row(department, case.reference, RECEIPTS).count() == 1, "now in “my tasks”"
    submit(office, task_row(office, case.reference, REGISTRY).locator("a").first)
    complete_task(office, REGISTRY, "Kind und Mutter mit Hauptwohnsitz in Fulda gemeldet.")
    submit(department, task_row(department, case.reference, RECEIPTS).locator("a").first)
    assert task_article(department, DECIDE).count() == 0, "the decision waits for both checks"
    complete_task(department, RECEIPTS, "Beleg über 90,00 Euro liegt vor.")

    # then the deciding task appears in the department; it is completed and the decision entered
    assert task_article(department, DECIDE).count() == 1
    complete_task(department, DECIDE, "Alle Voraussetzungen erfüllt.")
    decision = department.locator("form[action$='/entscheidung/']")
    decision.locator("input[name='decision-outcome'][value='approved']").check()
    decision.locator("textarea[name='decision-reasons']").fill("Der Kauf ist belegt; das Kind ist in Fulda gemeldet.")
    submit(department, decision.locator("button[type='submit']"))
    case.refresh_from_db()
    assert case.outcome == Case.Outcome.APPROVED and case.status == Case.Status.OPEN, "waits for the sign-off"
    assert not case.documents.filter(kind=CaseDocument.Kind.LETTER).exists()
    # the decider cannot sign off her own decision
    sign_off = department.locator("article.case-task", has=department.locator("form[action$='/erledigen/']"))
    assert sign_off.count() == 1
    response = submit(department, sign_off.locator("form[action$='/erledigen/'] button[type='submit']"))
    assert response.status == 409, response.status
    assert department.locator("#error").count() == 1
    case.refresh_from_db()
    assert case.signed_off_by is None

    # the head of department signs off from her unit's inbox
    head = open_page()
    log_in(head, staff["leitung"].username, password)
    open_inbox_tab(head, "unit")
    [sign_off_task] = case.tasks.filter(kind=Task.Kind.SIGN_OFF, status=Task.Status.OPEN)
    submit(head, task_row(head, case.reference, sign_off_task.name).locator("a").first)
    article = task_article(head, sign_off_task.name)
    submit(head, article.locator("form[action$='/erledigen/'] button[type='submit']"))
    case.refresh_from_db()
    assert case.status == Case.Status.DECIDED and case.signed_off_by == staff["leitung"]

    # 5. The decision letter: opened from the case page, and in the citizen's mailbox
    letter = case.documents.get(kind=CaseDocument.Kind.LETTER)
    row = head.locator("#documents").locator("xpath=..").locator("tbody tr", has_text=letter.title)
    view = row.locator("a:not([href$='download=1'])").first
    pdf = head.request.get(view.get_attribute("href"))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf", pdf.headers
    assert pdf.body().startswith(b"%PDF-")
    goto(erika, f"/portal/antraege/{application.uuid}/")
    check(erika)
    mailbox = text_of(erika.locator("main"))
    assert case.messages.filter(kind=CaseMessage.Kind.DECISION).exists()
    link = erika.locator(f"main a[href^='/portal/antraege/{application.uuid}/dokumente/{letter.uuid}/']").first
    with erika.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")
    assert download.suggested_filename.endswith(".pdf")
    assert one_of(mailbox, "Entschieden", "Decided") and letter.title in mailbox

    # 6. The department closes the case; the file goes to the e-file drop folder as xdomea
    case_page(department, case)
    submit(department, department.locator("form[action$='/abschluss/'] button[type='submit']"))
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    run_task_worker()
    case_page(department, case)
    assert fact(department, "Übertragung", "Transfer") in ("übertragen", "transferred"), case.efile_error
    check(department)
    [package] = list(drop.glob("*.zip"))
    with zipfile.ZipFile(package) as archive:
        xml_names = [name for name in archive.namelist() if name.endswith(".xml")]
        assert xml_names, archive.namelist()
        message = archive.read(xml_names[0])
        assert any(name.endswith(".pdf") for name in archive.namelist())
    try:
        problems = xdomea.validate(message)
    except xdomea.XsdUnavailable:
        skip_or_fail(f"xdomea 3.0.0 XSDs not found in {xdomea.xsd_dir()} (shared standards folder absent)")
    assert problems == [], problems
    assert case.reference.encode() in message


# --- 7. a BPMN file not written for dikom -----------------------------------------------------------


def test_a_camunda_export_is_imported_and_runs(
    open_page: Callable[..., Any],
    city_a: Municipality,
    city_b: Municipality,
    units: dict[str, OrgUnit],
    staff: dict[str, User],
    citizen: User,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The export's external task (topic "sondernutzung-pruefen") needs a worker, as in Camunda: an
    # installation registers a handler for the topic. This one checks completeness from the answers;
    # the gateway "Vollständig?" after it reads the variable it sets.
    def completeness_check(call: ServiceCall, context: Mapping[str, Any]) -> dict[str, Any]:
        answers = call.data.get("answers", {}).get("antrag", {})
        return {"vollstaendig": bool(answers.get("name") and answers.get("ort"))}

    monkeypatch.setitem(workflow.SERVICE_TASKS, "sondernutzung-pruefen", completeness_check)
    marburg = MunicipalityFactory(name="Marburg", slug="marburg", ags="06534014", district=DistrictFactory(key="06534"))
    designer = _member("planerin_marburg", marburg, Role.PROCESS_DESIGNER)
    version = eservice_actions.create_service(
        municipality=marburg, actor=designer, title=SPECIAL_USE_TITLE, content=special_use_content()
    )
    slug = version.definition.slug
    base = f"/dienste/{slug}/v1/bearbeiten/"

    # The designer uploads the Camunda Modeler export in the designer's process section
    page = open_page()
    log_in(page, designer.username, password)
    goto(page, base)
    submit(page, page.locator(f"a[href='{base}prozess/']").first)
    form = page.locator(f"form[action='{base}prozess/hochladen/']")
    form.locator("input[type='file']").set_input_files(str(CAMUNDA_PROCESS))
    submit(page, form.locator("button[type='submit']"))
    assert page.url.split("#")[0].endswith(f"{base}prozess/"), page.url
    version.refresh_from_db()
    assert version.content["processing"]["bpmn"] == CAMUNDA_PROCESS.read_text(encoding="utf-8")
    # the import notes (vendor settings ignored or converted), the diagram and its lanes
    process = page.locator("#process")
    notes = process.locator("table", has=page.locator("caption[id$='-notes']"))
    assert notes.locator("tbody tr").count() >= 3
    assert "camunda:formKey" in text_of(notes)
    assert process.locator("svg.bpmn-diagram").count() == 1
    steps = text_of(process.locator("ol.bpmn-steps"))
    assert "Bürgerbüro" in steps and "Straßenverkehrsbehörde" in steps and "Antrag fachlich prüfen" in steps
    check(page)

    # It is submitted for review in the designer; two cities approve and so release it
    goto(page, base)
    submit(page, page.locator(f"form[action='{base}einreichen/'] button[type='submit']"))
    version.refresh_from_db()
    assert version.status == ServiceVersion.Status.IN_REVIEW
    wetzlar = MunicipalityFactory(name="Wetzlar", slug="wetzlar", ags="06532023", district=DistrictFactory(key="06532"))
    for city in (city_b, wetzlar):
        reviewer = _member(f"pruefer_{city.slug}", city, Role.REVIEWER)
        eservice_actions.review_version(version, actor=reviewer, municipality=city, decision="approve")
    version.refresh_from_db()
    assert version.status == ServiceVersion.Status.RELEASED

    # Fulda's administrator adopts it: the citizens' office is responsible, the road lane goes to
    # Fulda's "Straßenverkehrsamt"
    admin = open_page()
    log_in(admin, staff["admin"].username, password)
    goto(admin, f"/dienste/{slug}/uebernahme/fulda/")
    admin.locator("select[name='org_unit']").select_option(label=BUERGERBUERO)
    admin.fill("input[name='start_date']", timezone.localdate().isoformat())
    admin.fill("input[name='contact_email']", "buergerbuero@fulda.example")
    lanes = admin.locator("#lanes select")
    assert lanes.count() == 2
    admin.locator("#lanes").get_by_label(re.compile("Straßenverkehrsbehörde")).select_option(label="Straßenverkehrsamt")
    submit(admin, admin.locator(f"main form[action='/dienste/{slug}/uebernahme/fulda/'] button[type='submit']"))
    adoption = Adoption.objects.get(definition__slug=slug, municipality=city_a)
    assert adoption.lanes == {"Straßenverkehrsbehörde": units["verkehr"].pk}, adoption.lanes

    # A citizen applies; the case follows the imported process to its first user task
    erika = open_page()
    log_in(erika, citizen.username, password)
    application = open_service(erika, "fulda", SPECIAL_USE_TITLE)
    assert erika.url.endswith("/schritt/1/"), erika.url
    erika.fill("#id-f-name", "Gerüstbau Muster GmbH")
    erika.fill("#id-f-ort", "Bonifatiusplatz 3")
    submit(erika, erika.locator("button[name='action'][value='next']"))
    application = finish(erika, application)
    case = Case.objects.get(application=application)
    [task] = case.tasks.filter(status=Task.Status.OPEN)
    # complete, so the road traffic lane's review is first; Fulda chose its Straßenverkehrsamt for that lane
    assert (task.bpmn_id, task.name, task.org_unit) == ("Activity_0s1kq4e", "Antrag fachlich prüfen", units["verkehr"])

    office = open_page()
    log_in(office, staff["verkehr"].username, password)
    open_inbox_tab(office, "unit")
    assert task_row(office, case.reference, task.name).count() == 1
    check(office)
    submit(office, task_row(office, case.reference, task.name).locator("a").first)
    process_steps = text_of(office.locator("ol.process-steps"))
    assert task.name in process_steps
    # the task (and its reminder timer) is the current step in the diagram's text alternative
    active = office.locator("ol.process-steps li[data-state='active']")
    assert active.filter(has_text=task.name).count() == 1, text_of(office.locator("ol.process-steps"))
    check(office)


# --- 8. automation rules: dry run, then live --------------------------------------------------------


def test_automation_rule_dry_run_then_live(
    open_page: Callable[..., Any],
    nappies: Adoption,
    units: dict[str, OrgUnit],
    staff: dict[str, User],
    citizen: User,
    password: str,
) -> None:
    slug = nappies.definition.slug
    # A past case: the receipts are checked by the environment department, as the process says
    erika = open_page()
    log_in(erika, citizen.username, password)
    past = Case.objects.get(application=apply_for_nappies(erika, amount="80"))
    run_task_worker()  # the background worker handles the submission at once, before any rule exists
    assert past.tasks.get(bpmn_id="Belege_pruefen").org_unit == units["umwelt"]

    # Fulda's administrator writes a rule: small amounts are checked by the citizens' office
    admin = open_page()
    log_in(admin, staff["admin"].username, password)
    goto(admin, "/automatisierung/fulda/")
    check(admin)
    submit(admin, admin.locator("main a[href='/automatisierung/fulda/neu/']"))
    form = admin.locator("main form[action='/automatisierung/fulda/neu/']")
    form.locator("input[name='name']").fill("Kleine Beträge ins Bürgerbüro")
    form.locator("input[name='trigger'][value='submitted']").check()
    form.locator("select[name='service_slug']").select_option(slug)
    form.locator("textarea[name='condition']").fill('{"<=": [{"var": "answers.kauf.betrag"}, 100]}')
    form.locator("textarea[name='actions']").fill(
        '[{"type": "assign_to_unit", "unit": "Bürgerbüro", "task": "Belege_pruefen"}]'
    )
    # a dry run of the rule as entered, before saving
    submit(admin, form.locator("button[name='action'][value='dry_run']"))
    results = admin.locator("section[aria-labelledby='dry-run-results']")
    row = results.locator("tbody tr", has=admin.locator("th", has_text=past.reference))
    assert row.count() == 1, text_of(results)
    assert one_of(text_of(row), "Bürgerbüro") and RECEIPTS in text_of(row), text_of(row)
    check(admin)
    assert not Rule.objects.exists(), "a dry run saves nothing"
    submit(admin, admin.locator("main form button[name='action'][value='save']"))
    rule = Rule.objects.get()
    assert not rule.active and admin.url.endswith("/automatisierung/fulda/"), admin.url

    # the saved rule's dry run over the past cases, kept in the log as a dry run
    submit(admin, admin.locator(f"main a[href='/automatisierung/fulda/regeln/{rule.uuid}/probelauf/']"))
    submit(admin, admin.locator("main form[action$='/probelauf/'] button[type='submit']"))
    row = admin.locator("section[aria-labelledby='dry-run-results'] tbody tr", has_text=past.reference)
    assert row.count() == 1 and "Bürgerbüro" in text_of(row)
    past.refresh_from_db()
    assert past.tasks.get(bpmn_id="Belege_pruefen").org_unit == units["umwelt"], "the dry run changed nothing"
    assert RuleExecution.objects.filter(rule=rule, dry_run=True, case=past).exists()

    # activated, the rule acts on the next application
    goto(admin, "/automatisierung/fulda/")
    activate = admin.locator(f"main form[action='/automatisierung/fulda/regeln/{rule.uuid}/aktiv/']")
    submit(admin, activate.locator("button[type='submit']"))
    rule.refresh_from_db()
    assert rule.active

    new = Case.objects.get(application=apply_for_nappies(erika, amount="60"))
    run_task_worker()  # the rules run in the background after the submission
    assert new.tasks.get(bpmn_id="Belege_pruefen").org_unit == units["buergerbuero"]
    office = open_page()
    log_in(office, staff["buergerbuero"].username, password)
    open_inbox_tab(office, "unit")
    assert task_row(office, new.reference, RECEIPTS).count() == 1, "routed to the citizens' office"
    assert task_row(office, new.reference, REGISTRY).count() == 1
    assert task_row(office, past.reference, RECEIPTS).count() == 0, "the past case stays as it was"

    # the execution log shows it
    goto(admin, "/automatisierung/fulda/protokoll/")
    entry = admin.locator("main table tbody tr", has_text=new.reference)
    assert entry.count() == 1, text_of(admin.locator("main table"))
    assert "Kleine Beträge ins Bürgerbüro" in text_of(entry) and "assign_to_unit" in text_of(entry)
    execution = RuleExecution.objects.get(rule=rule, case=new, dry_run=False)
    assert execution.outcome == RuleExecution.Outcome.DONE, (execution.outcome, execution.error)
    check(admin)
    # the case's history marks the automatic step
    case_page(office, new)
    history = text_of(office.locator("#history").locator("xpath=.."))
    assert "Kleine Beträge ins Bürgerbüro" in history
