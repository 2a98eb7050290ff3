"""The decision letter and the receipt read like a German authority's letter (DIN 5008): the authority's
name, head and address from the city's settings in the letterhead and the legal remedy, the applicant's
name in the salutation, every date in German, and the letter still PDF/A-3b."""

from __future__ import annotations

import copy
import datetime as dt
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from dikom.accounts.roles import Role
from dikom.accounts.tests.factories import MembershipFactory
from dikom.cases import actions
from dikom.cases.models import Case, CaseDocument
from dikom.eservices.service import adoption_for
from dikom.lib.testing import run_task_worker
from dikom.municipalities.tests.factories import OrgUnitFactory
from dikom.portal import actions as portal_actions
from dikom.portal.tests.conftest import release_and_adopt

pytestmark = pytest.mark.django_db(transaction=True)

MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")

SERVICE = {
    "format": "dikom.service/1",
    "identity": {"title": {"de": "Sondernutzung Gehweg"}, "description": {"de": "Gehweg nutzen."}},
    "steps": [
        {
            "key": "antragsteller",
            "title": {"de": "Antragsteller"},
            "fields": [
                {"key": "anrede", "type": "select", "label": {"de": "Anrede"}, "required": False,
                 "options": [{"value": "frau", "label": {"de": "Frau"}}, {"value": "herr", "label": {"de": "Herr"}},
                             {"value": "keine", "label": {"de": "keine Angabe"}}]},
                {"key": "vorname", "type": "text", "label": {"de": "Vorname"}, "required": True},
                {"key": "nachname", "type": "text", "label": {"de": "Nachname"}, "required": True},
                {"key": "anschrift", "type": "address", "label": {"de": "Anschrift"}, "required": True},
                {"key": "email", "type": "email", "label": {"de": "E-Mail"}, "required": True},
            ],
        },
        {
            "key": "nutzung",
            "title": {"de": "Nutzung"},
            "fields": [{"key": "beginn", "type": "date", "label": {"de": "Beginn"}, "required": True}],
        },
    ],
    "fees": [],
    "summary_step": True,
    "trust_level": "none",
    "auth_methods": ["none"],
    "payment_required": False,
    "documents": [{"key": "quittung", "title": {"de": "Eingangsbestätigung"}, "kind": "receipt"}],
    "processing": {
        # Staff's letter text with the answered date: the letter must show it in German, too.
        "letter_template": {"de": "<p>Die Nutzung beginnt am {{ answers.nutzung.beginn }}.</p>"}
    },
}  # fmt: skip

AUTHORITIES = {
    "fulda": {"authority_name": "Stadt Fulda", "authority_head": "Der Oberbürgermeister",
              "street_address": "Schlossstraße 1", "postcode": "36037", "locality": "Fulda",
              "phone": "0661 102-0", "email": "buergerbuero@fulda.example"},
    "giessen": {"authority_name": "Universitätsstadt Gießen", "authority_head": "Der Magistrat",
                "street_address": "Berliner Platz 1", "postcode": "35390", "locality": "Gießen",
                "phone": "0641 306-0", "email": "buergerbuero@giessen.example"},
}  # fmt: skip


def text_of(pdf: bytes) -> str:
    """The PDF's text with runs of white space made single spaces (line breaks fall anywhere)."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def keep(name: str, pdf: bytes) -> None:
    """With DIKOM_KEEP_LETTERS=<folder> the PDFs are kept there to be looked at."""
    folder = os.environ.get("DIKOM_KEEP_LETTERS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(pdf)


def set_authority(client: Client, login: Any, city: Any) -> None:
    """The city's administrator enters the authority's details on the administration page."""
    admin = MembershipFactory(municipality=city, role=Role.MUNICIPALITY_ADMIN).user
    login(client, admin)
    url = f"/verwaltung/{city.slug}/behoerde/"
    assert client.get(url).status_code == 200
    response = client.post(url, AUTHORITIES[city.slug])
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()


def submit(city: Any, citizen: Any, salutation: str) -> Any:
    unit = OrgUnitFactory(municipality=city, name="Ordnungsamt", short_name="OA", email="ordnungsamt@city.example")
    adoption = release_and_adopt(copy.deepcopy(SERVICE), city, suffix=f" {city.slug}")
    adoption.org_unit = unit
    adoption.save(update_fields=["org_unit"])
    application = portal_actions.start_application(adopted=adoption_for(city, adoption.definition.slug),
                                                   citizen=citizen)  # fmt: skip
    person = {"anrede": salutation, "vorname": "Erika", "nachname": "Muster", "email": "erika@example.org",
              "anschrift": {"street": "Am Plan", "house_number": "3", "postcode": "35037", "city": "Marburg"}}  # fmt: skip
    portal_actions.save_step_answers(application, "antragsteller", person, next_step=2)
    portal_actions.save_step_answers(application, "nutzung", {"beginn": "2027-01-01"}, next_step=3)
    application, won = portal_actions.submit_application(application, submission_key=application.submission_key)
    assert won
    return application


def decide(application: Any) -> bytes:
    case = Case.objects.get(application=application)
    caseworker = MembershipFactory(municipality=case.municipality, role=Role.CASEWORKER, org_unit=case.org_unit).user
    task = case.tasks.get()
    task = actions.claim_task(task, caseworker, expected_version=task.lock_version)
    actions.complete_task(task, caseworker, expected_version=task.lock_version, result="Vollständig.")
    actions.decide(Case.objects.get(pk=case.pk), caseworker, outcome="approved", reasons="Alles liegt vor.")
    return bytes(Case.objects.get(pk=case.pk).documents.get(kind=CaseDocument.Kind.LETTER).file.read())


@pytest.mark.parametrize(
    ("salutation", "greeting"),
    [("frau", "Sehr geehrte Frau Muster,"), ("herr", "Sehr geehrter Herr Muster,"),
     ("keine", "Guten Tag Erika Muster,")],
)  # fmt: skip
def test_the_letter_names_the_applicant_in_the_salutation(
    city_a: Any, city_b: Any, citizen: Any, client: Client, login: Any, settings: Any, tmp_path: Any,
    salutation: str, greeting: str,
) -> None:  # fmt: skip
    settings.MEDIA_ROOT = str(tmp_path)
    text = text_of(decide(submit(city_a, citizen, salutation)))
    assert greeting in text
    assert "Sehr geehrte Damen und Herren" not in text


def test_letter_and_receipt_carry_each_citys_authority_with_german_dates(
    city_a: Any, city_b: Any, citizen: Any, client: Client, login: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    for city in (city_a, city_b):
        set_authority(client, login, city)
    for city in (city_a, city_b):
        values = AUTHORITIES[city.slug]
        application = submit(city, citizen, "frau")
        # Given the citizen's receipt, downloaded as the citizen does.
        login(client, citizen)
        response = client.get(f"/portal/{city.slug}/antrag/{application.uuid}/quittung.pdf")
        assert response.status_code == 200
        receipt = response.content
        client.logout()
        letter = decide(application)
        keep(f"receipt-{city.slug}.pdf", receipt)
        keep(f"letter-{city.slug}.pdf", letter)

        for pdf in (receipt, letter):
            text = text_of(pdf)
            # The letterhead, the return line and the information block name the authority from its settings.
            assert values["authority_name"] in text and values["authority_head"] in text
            assert f"{values['street_address']} · {values['postcode']} {values['locality']}" in text
            assert values["phone"] in text and "Unser Zeichen" in text and application.reference in text
            assert "Sehr geehrte Frau Muster," in text and "Frau Erika Muster Am Plan 3 35037 Marburg" in text
            # Dates in German: long in the text, short in the information block; nothing in ISO.
            assert re.search(rf"\b\d{{1,2}}\. ({MONTHS}) 20\d\d\b", text), text
            assert re.search(r"Datum \d{2}\.\d{2}\.20\d\d", text), text
            assert not ISO.search(text), ISO.search(text)
            other = AUTHORITIES["giessen" if city.slug == "fulda" else "fulda"]
            assert other["authority_name"] not in text and other["street_address"] not in text

        letter_text = text_of(letter)
        office = (
            f"bei der {values['authority_name']}, {values['authority_head']}, {values['street_address']}, "
            f"{values['postcode']} {values['locality']} schriftlich"
        )
        assert "Rechtsbehelfsbelehrung" in letter_text and office in letter_text, letter_text
        # The service's own letter text shows the answered date in German.
        assert "Die Nutzung beginnt am 01.01.2027." in letter_text
        assert "01.01.2027" in text_of(receipt)  # the answer in the receipt's table


def test_the_letter_is_still_pdf_a(city_a: Any, city_b: Any, citizen: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    letter = decide(submit(city_a, citizen, "frau"))
    reader = PdfReader(io.BytesIO(letter))
    metadata = reader.xmp_metadata
    assert metadata is not None
    xml = metadata.stream.get_data().decode()
    assert 'pdfaid:part="3"' in xml or "<pdfaid:part>3</pdfaid:part>" in xml
    assert 'pdfaid:conformance="B"' in xml or "<pdfaid:conformance>B</pdfaid:conformance>" in xml
    assert "/OutputIntents" in reader.trailer["/Root"]
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = (
                font.get_object().get("/FontDescriptor")
                or font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            )
            descriptor = descriptor.get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font  # embedded
            fonts.add(re.sub(r"^/?[A-Z]{6}\+", "", str(font.get_object()["/BaseFont"])).split("-")[0])
    assert len(fonts) == 1, fonts  # one font family
    assert (reader.metadata or {}).get("/Title", "").startswith("Bescheid")


def test_the_overdue_reminder_gives_the_due_date_in_german(
    city_a: Any, city_b: Any, citizen: Any, mailoutbox: Any
) -> None:
    application = submit(city_a, citizen, "frau")
    task = Case.objects.get(application=application).tasks.get()
    task.due_at = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 5))  # noqa: DTZ001 - made aware here
    task.save(update_fields=["due_at"])
    assert actions.send_reminders() == 1
    run_task_worker()
    [mail] = mailoutbox
    assert "02.03.2026, 9:05 Uhr" in mail.body and not ISO.search(mail.body), mail.body
