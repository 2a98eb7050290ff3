"""The online-services journey as new users make it, in a real browser (Debian's chromium).

A process designer of Marburg drafts a service in the shared library, reviewers of
Gießen and Fulda review and release it, Wetzlar adopts it with its own fee, a
citizen completes it in Wetzlar's portal with and without JavaScript (demo sign-in,
demo payment platform, one cancelled payment), and Wetzlar's analyst finds both
applications in the usage dashboard. A second test imports the shared FIM samples
and a ZIP export through the designer's import page.

Everything happens through the pages; only the people and cities are set up directly.
Texts are matched in German or English (the German catalogue may be compiled or not),
so most selectors use form names, values and addresses.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import LazySettings
from django.utils import timezone

from conftest import skip_or_fail
from dikom.accounts.models import User
from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.analytics.models import Service as AnalyticsService
from dikom.eservices import actions as eservice_actions
from dikom.eservices.models import Adoption, ReviewComment, ServiceVersion
from dikom.lib.testing import run_task_worker
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory, OrgUnitFactory
from dikom.payments.models import Payment
from dikom.portal.models import Application
from tests.browser.support import assert_accessible, assert_no_csp_violations, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STANDARDS = Path(__file__).resolve().parents[2].parent / "shared" / "standards"
TITLE = "Bewohnerparkausweis Lahn"
WETZLAR_FEE = "45,00 €"


# --- people and cities ----------------------------------------------------------------------------


@pytest.fixture
def marburg(db: Any) -> Municipality:
    district = DistrictFactory(key="06534", name="Landkreis Marburg-Biedenkopf")
    return MunicipalityFactory(name="Marburg", slug="marburg", ags="06534014", district=district)


@pytest.fixture
def wetzlar(db: Any) -> Municipality:
    district = DistrictFactory(key="06532", name="Lahn-Dill-Kreis")
    return MunicipalityFactory(name="Wetzlar", slug="wetzlar", ags="06532023", district=district)


def _member(username: str, municipality: Municipality, role: str) -> User:
    return MembershipFactory(user__username=username, municipality=municipality, role=role).user


@pytest.fixture
def people(marburg: Municipality, city_a: Municipality, city_b: Municipality, wetzlar: Municipality) -> dict[str, User]:
    """Designer of Marburg, reviewers of Gießen (city B) and Fulda (city A), admin and analyst of Wetzlar."""
    return {
        "designer": _member("planerin_marburg", marburg, Role.PROCESS_DESIGNER),
        "reviewer_giessen": _member("pruefer_giessen", city_b, Role.REVIEWER),
        "reviewer_fulda": _member("prueferin_fulda", city_a, Role.REVIEWER),
        "admin_wetzlar": _member("admin_wetzlar", wetzlar, Role.MUNICIPALITY_ADMIN),
        "analyst_wetzlar": _member("analyst_wetzlar", wetzlar, Role.ANALYST),
    }


@pytest.fixture
def office_wetzlar(wetzlar: Municipality) -> OrgUnit:
    return OrgUnitFactory(municipality=wetzlar, name="Ordnungsamt Wetzlar")


@pytest.fixture
def journey_settings(browser_settings: LazySettings) -> LazySettings:
    browser_settings.DIKOM_REQUIRE_2FA_FOR_STAFF = False  # the 2FA journey is tested elsewhere
    browser_settings.DIKOM_DEMO = True
    browser_settings.DIKOM_AUTH_PROVIDERS = ["demo"]
    browser_settings.DIKOM_PAYMENT_PROVIDERS = ["demo"]
    return browser_settings


@pytest.fixture
def open_page(new_page: Any, journey_settings: LazySettings) -> Callable[..., Any]:
    """A page in a fresh German browser context that also records every server error (5xx)."""

    def make(javascript: bool = True) -> Any:
        page = new_page(java_script_enabled=javascript)
        page.server_errors = []

        def on_response(response: Any) -> None:
            if response.status >= 500:
                page.server_errors.append(f"{response.status} {response.url}")

        page.on("response", on_response)
        return page

    return make


# --- helpers --------------------------------------------------------------------------------------


def submit(page: Any, button: Any) -> Any:
    """Click a button or link that loads a new page; return the response of that page."""
    with page.expect_navigation() as navigation:
        button.click()
    response = navigation.value
    assert not page.server_errors, page.server_errors
    return response


def check(page: Any) -> None:
    """axe-core (WCAG 2.1 AA, nothing serious or critical) and no blocked content on a JavaScript page."""
    assert_accessible(page)
    assert_no_csp_violations(page)


def check_as_with_javascript(page: Any, browser: Any, base_url: str) -> None:
    """axe needs JavaScript: open the page of a no-JavaScript context in a JavaScript one with the same cookies."""
    context = browser.new_context(base_url=base_url, locale="de-DE")
    try:
        context.set_default_timeout(15_000)
        context.add_cookies(page.context.cookies())
        twin = context.new_page()
        response = twin.goto(page.url)
        assert response is not None and response.status == 200, page.url
        assert_accessible(twin)
    finally:
        context.close()


def text_of(locator: Any) -> str:
    """The visible text with all white space (also the no-break space in "45,00 €") as single spaces."""
    return " ".join(locator.inner_text().replace("\xa0", " ").split())


# --- 1. the designer ------------------------------------------------------------------------------


def design_service(page: Any) -> str:
    """Draft, edit and submit the service as the designer of Marburg; return its address (slug)."""
    page.goto("/dienste/")
    submit(page, page.locator("main a[href='/dienste/neu/']"))
    assert page.locator("select[name='municipality'] option:checked").inner_text() == "Marburg"
    page.fill("#id_title", TITLE)
    submit(page, page.locator("main form[action='/dienste/neu/'] button[type='submit']"))
    match = re.search(r"/dienste/([a-z0-9-]+)/v1/bearbeiten/$", page.url)
    assert match, page.url
    slug = match.group(1)
    base = f"/dienste/{slug}/v1/bearbeiten/"
    check(page)

    # Identity
    page.fill("#id_description_de", "Parkausweis für Bewohnerinnen und Bewohner beantragen.")
    page.fill("#id_keywords", "Parken, Anwohner")
    submit(page, page.locator(f"form[action='{base}identitaet/'] button[type='submit']"))

    # The first step: a new title, a text field with the live preview, a yes/no field
    submit(page, page.locator(f"#steps a[href='{base}schritte/0/']").first)
    page.fill("#id_title_de", "Antragsteller")
    submit(page, page.locator(f"form[action='{base}schritte/0/'] button[type='submit']"))
    assert page.locator("#preview").get_by_text("Antragsteller").count() >= 1

    add_field = page.locator(f"form[action='{base}schritte/0/felder/neu/']")
    add_field.locator("select[name='type']").select_option("text")
    add_field.locator("input[name='label_de']").fill("Name")
    submit(page, add_field.locator("button[type='submit']"))
    assert page.url.endswith(f"{base}schritte/0/felder/1/"), page.url
    check(page)
    # The live preview follows typing (JavaScript), nothing is stored until saved
    page.fill("#id_label_de", "Vor- und Nachname")
    page.locator("#preview").get_by_text("Vor- und Nachname").wait_for()
    page.fill("#id_key", "name")
    page.fill("#id_help_de", "Wie im Personalausweis")
    assert page.locator("#id_required").is_checked()
    submit(page, page.locator("#field-form button[type='submit']"))
    assert page.locator("#preview").get_by_text("Wie im Personalausweis").count() == 1

    add_field = page.locator(f"form[action='{base}schritte/0/felder/neu/']")
    add_field.locator("select[name='type']").select_option("yes_no")
    add_field.locator("input[name='label_de']").fill("Haben Sie ein Zweitfahrzeug?")
    submit(page, add_field.locator("button[type='submit']"))
    page.fill("#id_key", "zweitwagen")
    submit(page, page.locator("#field-form button[type='submit']"))
    preview = page.locator("#preview")
    assert preview.get_by_text("Haben Sie ein Zweitfahrzeug?").count() >= 1
    assert preview.locator("input[type='radio']").count() == 2

    # A second step with the licence plate
    page.goto(base)
    add_step = page.locator(f"form[action='{base}schritte/neu/']")
    add_step.locator("input[name='title_de']").fill("Fahrzeug")
    submit(page, add_step.locator("button[type='submit']"))
    assert page.url.endswith(f"{base}schritte/1/"), page.url
    add_field = page.locator(f"form[action='{base}schritte/1/felder/neu/']")
    add_field.locator("select[name='type']").select_option("text")
    add_field.locator("input[name='label_de']").fill("Kennzeichen")
    submit(page, add_field.locator("button[type='submit']"))
    page.fill("#id_key", "kennzeichen")
    submit(page, page.locator("#field-form button[type='submit']"))

    # The fee: 30 euros, each city may set its own amount
    submit(page, page.locator(f"nav.subnav a[href='{base}gebuehren/']"))
    page.fill("#id_label_de", "Ausweisgebühr")
    page.fill("#id_key", "ausweis")
    page.fill("#id_amount", "30,00")
    page.check("#id_locally_adjustable")
    submit(page, page.locator(f"form[action='{base}gebuehren/'] button[type='submit']"))
    fee_row = page.locator("table tbody tr", has_text="Ausweisgebühr")
    assert "30,00 €" in text_of(fee_row)
    check(page)

    # Settings: payment before submission, BundID or eID at trust level "substantial"
    submit(page, page.locator(f"nav.subnav a[href='{base}einstellungen/']"))
    page.check("input[name='trust_level'][value='substantial']")
    page.uncheck("input[name='auth_methods'][value='none']")
    page.check("input[name='auth_methods'][value='bundid']")
    page.check("input[name='auth_methods'][value='eid']")
    page.check("#id_payment_required")
    submit(page, page.locator(f"form[action='{base}einstellungen/'] button[type='submit']"))
    assert page.locator("input[name='trust_level'][value='substantial']").is_checked()
    assert page.locator("#id_payment_required").is_checked()
    check(page)

    # Submit for review from the overview
    page.goto(base)
    response = submit(page, page.locator(f"form[action='{base}einreichen/'] button[type='submit']"))
    assert response.status == 200 and page.url.endswith(f"/dienste/{slug}/v1/"), (response.status, page.url)
    assert_no_csp_violations(page)
    return slug


# --- 2. review ------------------------------------------------------------------------------------


def review(page: Any, slug: str, *, comment_on: str | None) -> None:
    """A reviewer finds the version under "my city's services", comments (optionally) and approves."""
    page.goto("/dienste/meine/")
    submit(page, page.locator(f"main a[href='/dienste/{slug}/v1/']").first)
    check(page)
    if comment_on is not None:
        page.locator("#comment-path").select_option(comment_on)
        page.fill("#comment-body", "Bitte den Hinweis zum Personalausweis auch auf Englisch anbieten.")
        submit(page, page.locator("#comment-form button[type='submit']"))
        # The comment stands next to the field it is about
        field = page.locator("#content li", has_text="Vor- und Nachname").first
        assert "auch auf Englisch" in field.inner_text()
    page.check("#decision input[name='decision'][value='approve']")
    submit(page, page.locator("#decision button[type='submit']"))


# --- 4. the citizen -------------------------------------------------------------------------------


def sign_in_and_fill_in(page: Any, plate: str) -> None:
    """From the portal's sign-in page through the demo identity service (BundID, "substantial") and both steps."""
    submit(page, page.locator("form:has(input[name='method'][value='bundid']) button[type='submit']"))
    assert "/anmeldung/demo/" in page.url, page.url
    page.locator("select[name='method']").select_option("bundid")
    page.locator("select[name='trust_level']").select_option("substantial")
    submit(page, page.locator("main form button[type='submit']"))
    assert page.url.endswith("/schritt/1/"), page.url

    # The steps
    page.fill("#id-f-name", "Erika Mustermann")
    page.check("#id-f-zweitwagen-no")
    submit(page, page.locator("button[name='action'][value='next']"))
    assert page.url.endswith("/schritt/2/"), page.url
    page.fill("#id-f-kennzeichen", plate)
    submit(page, page.locator("button[name='action'][value='next']"))
    assert page.url.endswith("/zusammenfassung/"), page.url


def pay(page: Any, outcome: str) -> None:
    """From the summary through the payment page to the demo platform, choose ``outcome``, come back."""
    submit(page, page.locator("button[name='action'][value='pay']"))
    submit(page, page.locator("main form[action*='/zahlung/'] button[type='submit']"))
    submit(page, page.locator(f"main form:has(input[name='status'][value='{outcome}']) button[type='submit']"))
    submit(page, page.locator("main a[href*='/zusammenfassung/']"))
    assert page.url.endswith("/zusammenfassung/"), page.url


def finish(page: Any, application: Application) -> str:
    """Submit, check the reference, fetch the receipt PDF, give feedback; return the reference."""
    submit(page, page.locator("button[name='action'][value='submit']"))
    assert page.url.endswith("/bestaetigung/"), page.url
    application.refresh_from_db()
    # submitted, and possibly already taken into case processing
    assert application.status in (Application.Status.SUBMITTED, Application.Status.IN_PROCESSING)
    assert application.submitted_at is not None
    assert application.reference and application.reference in page.locator("main strong").inner_text()

    receipt = page.locator("main a[href$='/quittung.pdf']")
    pdf = page.request.get(receipt.get_attribute("href"))
    assert pdf.status == 200
    assert pdf.headers["content-type"].startswith("application/pdf"), pdf.headers
    assert pdf.body().startswith(b"%PDF")

    page.check("#id-rating-5")
    page.fill("#id-comment", "Ging schnell und ohne Papier.")
    submit(page, page.locator("main form button[type='submit']"))
    assert page.locator("#id-rating-5").count() == 0, "the feedback form is gone once feedback was given"
    application.refresh_from_db()
    assert application.feedback_given
    return application.reference


def citizen_journey(
    page: Any, browser: Any, base_url: str, *, javascript: bool, cancel_first: bool, plate: str
) -> Application:
    page.goto("/portal/wetzlar/")
    assert page.locator("h1").count() == 1
    page.fill("#id-q", "parkausweis")
    submit(page, page.locator("form[role='search'] button[type='submit']"))
    submit(page, page.get_by_role("link", name=TITLE))
    fees = text_of(page.locator("main table"))
    assert "Ausweisgebühr" in fees and WETZLAR_FEE in fees, f"Wetzlar's own fee on the service page: {fees}"
    assert "30,00" not in fees, "not the common amount"
    submit(page, page.locator("main form[action$='/starten/'] button"))
    assert page.url.endswith("/anmelden/"), page.url
    application = Application.objects.get(uuid=page.url.split("/antrag/")[1].split("/")[0])
    if javascript:
        check(page)
    else:
        check_as_with_javascript(page, browser, base_url)

    sign_in_and_fill_in(page, plate)
    summary = text_of(page.locator("main"))
    assert "Erika Mustermann" in summary and plate in summary
    assert "Ausweisgebühr" in summary and WETZLAR_FEE in summary, "the summary shows Wetzlar's fee"
    if javascript:
        check(page)
    else:
        check_as_with_javascript(page, browser, base_url)
    assert page.locator("button[name='action'][value='submit']").count() == 0, "no submission before paying"

    if cancel_first:
        pay(page, "cancelled")
        assert page.locator("main [role='alert']").count() == 1, "the summary says the payment was not completed"
        assert page.locator("button[name='action'][value='submit']").count() == 0
    pay(page, "paid")
    finish(page, application)
    return application


# --- the journey ----------------------------------------------------------------------------------


def test_online_service_from_draft_to_dashboard(
    open_page: Callable[..., Any],
    browser: Any,
    live_server: Any,
    people: dict[str, User],
    office_wetzlar: OrgUnit,
    wetzlar: Municipality,
    password: str,
) -> None:
    assert eservice_actions.release_quorum() == 2, "two approvals of other cities release a version"

    # 1. The process designer of Marburg drafts the service and submits it for review
    designer = open_page()
    log_in(designer, people["designer"].username, password)
    slug = design_service(designer)
    version = ServiceVersion.objects.get(definition__slug=slug, number=1)
    assert version.status == ServiceVersion.Status.IN_REVIEW
    assert version.municipality.name == "Marburg"
    content = version.content
    assert [s["key"] for s in content["steps"]] == ["start", "fahrzeug"]
    assert [f["key"] for f in content["steps"][0]["fields"]] == ["hinweis", "name", "zweitwagen"]
    assert content["steps"][0]["fields"][2]["type"] == "yes_no"
    assert content["fees"] == [
        {"key": "ausweis", "label": {"de": "Ausweisgebühr"}, "amount_cents": 3000, "locally_adjustable": True}
    ]
    assert (content["trust_level"], content["payment_required"]) == ("substantial", True)
    assert sorted(content["auth_methods"]) == ["bundid", "eid"]

    # 2. Gießen comments on one field and approves; Fulda approves; Marburg resolves the comment: released
    giessen = open_page()
    log_in(giessen, people["reviewer_giessen"].username, password)
    review(giessen, slug, comment_on="steps[0].fields[1]")
    comment = ReviewComment.objects.get(version=version)
    assert (comment.path, comment.municipality.name) == ("steps[0].fields[1]", "Gießen")
    version.refresh_from_db()
    assert version.status == ServiceVersion.Status.IN_REVIEW, "one approval is not enough"

    fulda = open_page()
    log_in(fulda, people["reviewer_fulda"].username, password)
    review(fulda, slug, comment_on=None)
    version.refresh_from_db()
    # Gießen's comment is still open: the quorum alone does not release the version, and Fulda is told why
    assert version.status == ServiceVersion.Status.IN_REVIEW
    assert "noch nicht freigegeben" in fulda.locator("body").inner_text()
    # Marburg's designer resolves the comment: now the version is released
    designer.goto(f"/dienste/{slug}/v1/")
    submit(designer, designer.locator(f"form[action='/dienste/{slug}/v1/kommentar/{comment.pk}/erledigt/'] button"))
    version.refresh_from_db()
    assert version.status == ServiceVersion.Status.RELEASED
    assert sorted(a["municipality_name"] for a in version.release_quorum["approvals"]) == ["Fulda", "Gießen"]

    # 3. Wetzlar adopts it with its own fee and office, from today
    admin = open_page()
    log_in(admin, people["admin_wetzlar"].username, password)
    admin.goto("/dienste/")
    submit(admin, admin.get_by_role("link", name=TITLE))
    submit(admin, admin.locator(f"main a[href='/dienste/{slug}/uebernahme/wetzlar/']").first)
    check(admin)
    admin.locator("select[name='org_unit']").select_option(label="Ordnungsamt Wetzlar")
    admin.fill("input[name='start_date']", timezone.localdate().isoformat())
    admin.fill("input[name='fee_ausweis']", "45,00")
    admin.fill("input[name='contact_email']", "ordnungsamt@wetzlar.example")
    submit(admin, admin.locator(f"main form[action='/dienste/{slug}/uebernahme/wetzlar/'] button[type='submit']"))
    adoption = Adoption.objects.get(definition__slug=slug, municipality=wetzlar)
    assert adoption.fees == {"ausweis": 4500} and adoption.org_unit_id == office_wetzlar.pk
    assert adoption.active and adoption.start_date == timezone.localdate()
    check(admin)

    # 4. A citizen applies in Wetzlar's portal: with JavaScript (a cancelled payment first), then without
    with_js = citizen_journey(
        open_page(), browser, live_server.url, javascript=True, cancel_first=True, plate="WZ-AB 123"
    )
    without_js = citizen_journey(
        open_page(javascript=False), browser, live_server.url, javascript=False, cancel_first=False, plate="WZ-CD 456"
    )
    started = Application.objects.filter(adoption=adoption)
    submitted = started.filter(submitted_at__isnull=False)
    assert set(submitted.values_list("pk", flat=True)) == {with_js.pk, without_js.pk}
    assert started.count() == 2
    for application in (with_js, without_js):
        application.refresh_from_db()
        assert application.submission_data["payment"]["amount_cents"] == 4500
        assert application.submission_data["auth_method"] == "bundid"
    assert Payment.objects.filter(status="cancelled").count() == 1
    assert Payment.objects.filter(status="paid", amount_cents=4500).count() == 2

    # 5. Wetzlar's analyst sees both starts and submissions and the funnel of the service's steps
    run_task_worker()  # the rollups are built by background tasks
    analytics_service = AnalyticsService.objects.get(municipality=wetzlar, external_key=slug)
    analyst = open_page()
    log_in(analyst, people["analyst_wetzlar"].username, password)
    analyst.goto("/analytics/wetzlar/")
    # The presets end yesterday (today's figures still grow); the applications were made today.
    analyst.locator("select[name='period']").select_option("today")
    submit(analyst, analyst.locator("form.filters button[type='submit']"))
    assert "period=today" in analyst.url, analyst.url
    table = analyst.locator("table[aria-labelledby='services-heading']")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    row = table.locator("tbody tr", has=analyst.locator("th", has_text=TITLE))
    assert row.count() == 1
    cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
    by_header = dict(zip(headers, cells, strict=False))
    starts = next(v for k, v in by_header.items() if k.startswith("Starts"))
    completions = next(v for k, v in by_header.items() if k.startswith(("Abschlüsse", "Completions")))
    assert (starts, completions) == (str(started.count()), str(submitted.count())), by_header
    check(analyst)

    submit(analyst, table.get_by_role("link", name=TITLE))
    assert str(analytics_service.uuid) in analyst.url
    kpis = {
        row.locator("th").inner_text().strip(): row.locator("td").first.inner_text().strip()
        for row in analyst.locator("table[aria-labelledby='kpi-heading'] tbody tr").all()
    }
    assert kpis.get("Starts") == str(started.count()), kpis
    assert (kpis.get("Abschlüsse") or kpis.get("Completions")) == str(submitted.count()), kpis
    given = submitted.filter(feedback_given=True).count()
    assert (kpis.get("Rückmeldungen") or kpis.get("Feedbacks")) == str(given) == "2", kpis
    funnel = analyst.locator("section", has=analyst.locator("#chart-trichter-caption"))
    funnel_rows = [
        [cell.strip() for cell in row.locator("th, td").all_text_contents()]
        for row in funnel.locator("table tbody tr").all()
    ]
    # step (its title from the definition, not its key), position, viewed, completed: each step was seen and
    # completed by both applicants
    assert [row[:4] for row in funnel_rows] == [["Antragsteller", "1", "2", "2"], ["Fahrzeug", "2", "2", "2"]], (
        funnel_rows
    )
    check(analyst)


# --- 6. imports -----------------------------------------------------------------------------------


def open_import_page(page: Any) -> Any:
    page.goto("/dienste/meine/")
    submit(page, page.locator("main a[href='/dienste/importieren/']"))
    return page.locator("main form[action='/dienste/importieren/']")


def test_fim_and_zip_imports_through_the_designer(
    open_page: Callable[..., Any], people: dict[str, User], marburg: Municipality, password: str
) -> None:
    blue_card = STANDARDS / "fim" / "xdatenfelder2" / "S00000121-BlaueKarte.xml"
    invalid = STANDARDS / "fim" / "xdatenfelder3" / "invalid-freigabestatus.xml"
    if not (blue_card.exists() and invalid.exists()):
        skip_or_fail(f"the shared FIM samples are not at {STANDARDS} (the shared standards folder is absent)")
    page = open_page()
    log_in(page, people["designer"].username, password)

    # A real FIM schema ("Antrag auf Blaue Karte EU") becomes a usable draft of Marburg
    form = open_import_page(page)
    check(page)
    assert form.locator("select[name='municipality'] option:checked").inner_text() == "Marburg"
    form.locator("input[name='file']").set_input_files(str(blue_card))
    submit(page, form.locator("button[type='submit']"))
    match = re.search(r"/dienste/([a-z0-9-]+)/v1/bearbeiten/$", page.url)
    assert match, page.url
    imported = ServiceVersion.objects.get(definition__slug=match.group(1), number=1)
    assert imported.status == ServiceVersion.Status.DRAFT and imported.municipality == marburg
    assert imported.definition.title == "Antrag auf Blaue Karte EU"
    assert len(imported.content["steps"]) == 12
    assert page.locator("#steps ol.step-list > li").count() == 12, "the designer lists the twelve steps"
    assert page.locator("#problems.problems--open").count() == 0, "nothing to fix before submitting"
    check(page)
    # Its first step opens in the designer with the citizen's preview
    submit(page, page.locator("#steps ol.step-list > li").first.locator("a").first)
    assert page.locator("#preview input, #preview select, #preview textarea").count() > 0

    # An invalid schema is refused with the reason, next to the file field
    form = open_import_page(page)
    form.locator("input[name='file']").set_input_files(str(invalid))
    response = submit(page, form.locator("button[type='submit']"))
    assert response.status == 400 and page.url.endswith("/dienste/importieren/")
    error = text_of(page.locator("main form .errorlist"))
    assert "G123" in error and "freigabestatus" in error.lower() and "10" in error, error
    assert page.locator("input[name='file'][aria-invalid='true']").count() == 1
    check(page)
    assert ServiceVersion.objects.count() == 1, "nothing was created"

    # A service exported as ZIP and imported again gives an identical draft
    page.goto(f"/dienste/{imported.definition.slug}/v1/")
    with page.expect_download() as download_info:
        page.locator(f"main a[href='/dienste/{imported.definition.slug}/v1/export.zip']").click()
    archive_path = download_info.value.path()
    with zipfile.ZipFile(archive_path) as archive:
        assert sorted(archive.namelist()) == ["definition.json", "metadata.json"]
        assert json.loads(archive.read("definition.json")) == imported.content
    form = open_import_page(page)
    form.locator("input[name='file']").set_input_files(
        files=[{"name": "blaue-karte.zip", "mimeType": "application/zip", "buffer": Path(archive_path).read_bytes()}]
    )
    submit(page, form.locator("button[type='submit']"))
    copy = ServiceVersion.objects.exclude(pk=imported.pk).get()
    assert page.url.endswith(f"/dienste/{copy.definition.slug}/v1/bearbeiten/"), page.url
    assert copy.definition.slug != imported.definition.slug
    assert copy.content == imported.content and copy.content_hash == imported.content_hash
    assert page.locator("#steps ol.step-list > li").count() == 12
    assert_no_csp_violations(page)
