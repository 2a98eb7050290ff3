"""The three demo services of the demo cooperation, co-developed as the founding
cities agreed: Marburg drafts, Gießen and Fulda review and approve, the version
is released and all six founding cities adopt it with their own settings
(each with its own fee for the resident parking permit).

Called through ``service.load_demo_services()`` after the demo cooperation
(``dikom.demo``) exists. Idempotent: a service that already exists is left
alone, a missing adoption is added. Fees and texts are invented for the demo;
LeiKa keys are left empty because they are not verified here.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from dikom.accounts.models import User
from dikom.eservices import actions
from dikom.eservices.models import Adoption, Review, ServiceDefinition
from dikom.municipalities.models import Municipality, OrgUnit

AUTHOR = "marburg"
REVIEWERS = ("giessen", "fulda")
ADOPTERS = ("fulda", "giessen", "limburg", "marburg", "offenbach", "wetzlar")
START = dt.date(2026, 1, 1)


def _de_en(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


ADDRESS_STEP = {
    "key": "antragsteller",
    "title": _de_en("Antragstellerin oder Antragsteller", "Applicant"),
    "fields": [
        {
            "key": "vorname",
            "type": "text",
            "label": _de_en("Vorname", "First name"),
            "required": True,
            "validation": {"max_length": 100},
        },
        {
            "key": "nachname",
            "type": "text",
            "label": _de_en("Nachname", "Surname"),
            "required": True,
            "validation": {"max_length": 100},
        },
        {
            "key": "anschrift",
            "type": "address",
            "label": _de_en("Anschrift (Hauptwohnsitz)", "Address (main residence)"),
            "required": True,
        },
        {
            "key": "email",
            "type": "email",
            "label": _de_en("E-Mail-Adresse", "E-mail address"),
            "required": True,
            "help": _de_en("Hierhin schicken wir die Eingangsbestätigung.", "We send the receipt to this address."),
        },
        {
            "key": "telefon",
            "type": "phone",
            "label": _de_en("Telefon für Rückfragen", "Phone for questions"),
            "required": False,
        },
    ],
}

PROCESSES = Path(__file__).resolve().parent / "demo_processes"


def _process(name: str) -> str:
    """A demo BPMN process (written for the demo; lanes are units of the demo organisation chart)."""
    return (PROCESSES / f"{name}.bpmn").read_text(encoding="utf-8")


PERMIT_LETTER = (
    "<p>Für das Fahrzeug mit dem Kennzeichen {{ answers.fahrzeug.kennzeichen }} wird ein "
    "Bewohnerparkausweis für die Zone {{ answers.fahrzeug.zone|upper }} ab dem "
    "{{ answers.fahrzeug.beginn }} für ein Jahr erteilt.</p>"
)
DOG_TAX_LETTER = (
    "<p>Ihr Hund „{{ answers.hund.name }}“ ({{ answers.hund.rasse }}) ist ab dem "
    "{{ answers.hund.aufnahme }} zur Hundesteuer angemeldet. Die Steuermarke erhalten Sie mit der Post.</p>"
)

RECEIPT = {"key": "eingangsbestaetigung", "title": _de_en("Eingangsbestätigung", "Receipt"), "kind": "receipt"}

PARKING: dict[str, Any] = {
    "format": "dikom.service/1",
    "identity": {
        "title": _de_en("Bewohnerparkausweis", "Resident parking permit"),
        "description": _de_en(
            "Parkausweis für Bewohnerinnen und Bewohner einer Bewohnerparkzone beantragen oder verlängern.",
            "Apply for or renew the parking permit for residents of a residents' parking zone.",
        ),
        "leika_key": "99035005001000",
        "ozg_topic": "Mobilität und Reisen",
        "keywords": ["Parken", "Anwohnerparken", "Bewohnerparken", "Parkausweis"],
    },
    "steps": [
        copy.deepcopy(ADDRESS_STEP),
        {
            "key": "fahrzeug",
            "title": _de_en("Fahrzeug", "Vehicle"),
            "fields": [
                {
                    "key": "kennzeichen",
                    "type": "text",
                    "label": _de_en("Amtliches Kennzeichen", "Licence plate"),
                    "required": True,
                    "validation": {
                        "pattern": "^[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} ?[0-9]{1,4}[EH]?$",
                        "message": {"de": "Bitte im Format MR-AB 123 eingeben."},
                    },
                    "help": _de_en("Zum Beispiel MR-AB 123.", "For example MR-AB 123."),
                },
                {
                    "key": "halter",
                    "type": "yes_no",
                    "label": _de_en(
                        "Sind Sie Halterin oder Halter des Fahrzeugs?", "Are you the registered keeper of the vehicle?"
                    ),
                    "required": True,
                },
                {
                    "key": "nutzungsnachweis",
                    "type": "file",
                    "label": _de_en(
                        "Nachweis der dauerhaften Nutzung (z. B. Bescheinigung des Arbeitgebers)",
                        "Proof of permanent use (e.g. employer's certificate)",
                    ),
                    "required": False,
                    "required_if": {"==": [{"var": "fahrzeug.halter"}, "no"]},
                    "visible_if": {"==": [{"var": "fahrzeug.halter"}, "no"]},
                    "accept": ["application/pdf", "image/jpeg", "image/png"],
                    "max_bytes": 10 * 1024 * 1024,
                },
                {
                    "key": "zone",
                    "type": "select",
                    "label": _de_en("Bewohnerparkzone", "Residents' parking zone"),
                    "required": True,
                    "options": [
                        {"value": "a", "label": _de_en("Zone A (Innenstadt)", "Zone A (city centre)")},
                        {"value": "b", "label": _de_en("Zone B (Bahnhof)", "Zone B (station)")},
                        {"value": "c", "label": _de_en("Zone C (Altstadt)", "Zone C (old town)")},
                    ],
                },
                {
                    "key": "beginn",
                    "type": "date",
                    "label": _de_en("Gültig ab", "Valid from"),
                    "required": True,
                    "validation": {"min_date": "today", "max_date": "today+90"},
                },
            ],
        },
    ],
    "fees": [
        {
            "key": "ausweis",
            "label": _de_en(
                "Gebühr für den Bewohnerparkausweis (ein Jahr)", "Fee for the resident parking permit (one year)"
            ),
            "amount_cents": 3070,
            "locally_adjustable": True,
        },
    ],
    "summary_step": True,
    "trust_level": "substantial",
    "auth_methods": ["bundid", "eid", "eu_wallet"],
    "payment_required": True,
    "processing": {"bpmn": _process("bewohnerparkausweis"), "letter_template": {"de": PERMIT_LETTER}},
    "documents": [
        RECEIPT,
        {"key": "parkausweis", "title": _de_en("Bewohnerparkausweis", "Resident parking permit"), "kind": "decision"},
    ],
}

DOG_TAX: dict[str, Any] = {
    "format": "dikom.service/1",
    "identity": {
        "title": _de_en("Hundesteuer-Anmeldung", "Dog tax registration"),
        "description": _de_en(
            "Einen Hund zur Hundesteuer anmelden. Die Steuer setzt die Stadt per Bescheid fest.",
            "Register a dog for the dog tax. The city sets the tax in a tax notice.",
        ),
        "leika_key": "99089001001000",
        "ozg_topic": "Steuern und Abgaben",
        "keywords": ["Hund", "Hundesteuer", "Steuermarke"],
    },
    "steps": [
        copy.deepcopy(ADDRESS_STEP),
        {
            "key": "hund",
            "title": _de_en("Angaben zum Hund", "About the dog"),
            "fields": [
                {
                    "key": "hinweis",
                    "type": "info",
                    "label": _de_en("Hinweis", "Note"),
                    "text": _de_en(
                        "Bitte melden Sie jeden Hund innerhalb von zwei Wochen nach der Aufnahme an.",
                        "Please register every dog within two weeks of taking it in.",
                    ),
                },
                {
                    "key": "name",
                    "type": "text",
                    "label": _de_en("Name des Hundes", "Name of the dog"),
                    "required": True,
                },
                {"key": "rasse", "type": "text", "label": _de_en("Rasse", "Breed"), "required": True},
                {
                    "key": "geburtsdatum",
                    "type": "date",
                    "label": _de_en("Geburtsdatum (ungefähr)", "Date of birth (approx.)"),
                    "required": True,
                    "validation": {"max_date": "today"},
                },
                {
                    "key": "aufnahme",
                    "type": "date",
                    "label": _de_en("Im Haushalt seit", "In the household since"),
                    "required": True,
                    "validation": {"min_date": "today-365", "max_date": "today"},
                },
                {
                    "key": "gefaehrlich",
                    "type": "yes_no",
                    "label": _de_en(
                        "Handelt es sich um einen gefährlichen Hund nach der Hessischen Hundeverordnung?",
                        "Is it a dangerous dog under the Hessian dog regulation?",
                    ),
                    "required": True,
                },
                {
                    "key": "erlaubnis",
                    "type": "file",
                    "label": _de_en(
                        "Erlaubnis zur Haltung eines gefährlichen Hundes", "Permit to keep a dangerous dog"
                    ),
                    "required": False,
                    "visible_if": {"==": [{"var": "hund.gefaehrlich"}, "yes"]},
                    "required_if": {"==": [{"var": "hund.gefaehrlich"}, "yes"]},
                    "accept": ["application/pdf", "image/jpeg"],
                    "max_bytes": 10 * 1024 * 1024,
                },
                {
                    "key": "weitere_hunde",
                    "type": "number",
                    "label": _de_en("Wie viele Hunde halten Sie bereits?", "How many dogs do you keep already?"),
                    "required": True,
                    "validation": {"min": 0, "max": 20},
                },
            ],
        },
        {
            "key": "ermaessigung",
            "title": _de_en("Ermäßigung", "Reduction"),
            "fields": [
                {
                    "key": "beantragt",
                    "type": "checkbox",
                    "label": _de_en(
                        "Ich beantrage eine Steuerermäßigung (z. B. Blindenführhund, Sozialleistungen).",
                        "I apply for a tax reduction (e.g. guide dog, social benefits).",
                    ),
                    "required": False,
                },
                {
                    "key": "nachweis",
                    "type": "file",
                    "label": _de_en("Nachweis", "Proof"),
                    "required": False,
                    "visible_if": {"==": [{"var": "ermaessigung.beantragt"}, True]},
                    "required_if": {"==": [{"var": "ermaessigung.beantragt"}, True]},
                    "accept": ["application/pdf", "image/jpeg", "image/png"],
                    "max_bytes": 10 * 1024 * 1024,
                },
            ],
        },
    ],
    "fees": [],
    "summary_step": True,
    "trust_level": "low",
    "auth_methods": ["bundid", "elster", "eid"],
    "payment_required": False,
    "processing": {
        "bpmn": _process("hundesteuer"),
        # Fully rule-based when the dog is not dangerous: the cities' automation rule decides.
        "automatic_decision_allowed": True,
        "letter_template": {"de": DOG_TAX_LETTER},
    },
    "documents": [
        RECEIPT,
        {"key": "steuerbescheid", "title": _de_en("Hundesteuerbescheid", "Dog tax notice"), "kind": "decision"},
    ],
}

NAPPIES: dict[str, Any] = {
    "format": "dikom.service/1",
    "identity": {
        "title": _de_en("Zuschuss für Mehrwegwindeln", "Subsidy for reusable nappies"),
        "description": _de_en(
            "Die Stadt bezuschusst den Kauf von Mehrwegwindeln für Kinder bis drei Jahre, um Müll zu vermeiden.",
            "The city subsidises reusable nappies for children up to three years to reduce waste.",
        ),
        "leika_key": "",
        "ozg_topic": "Umwelt",
        "keywords": ["Windeln", "Mehrwegwindeln", "Zuschuss", "Abfallvermeidung"],
    },
    "steps": [
        copy.deepcopy(ADDRESS_STEP),
        {
            "key": "kind",
            "title": _de_en("Kind", "Child"),
            "fields": [
                {
                    "key": "vorname",
                    "type": "text",
                    "label": _de_en("Vorname des Kindes", "Child's first name"),
                    "required": True,
                },
                {
                    "key": "geburtsdatum",
                    "type": "date",
                    "label": _de_en("Geburtsdatum", "Date of birth"),
                    "required": True,
                    "validation": {
                        "min_date": "today-1095",
                        "max_date": "today+120",
                        "message": {"de": "Der Zuschuss gilt für Kinder bis drei Jahre."},
                    },
                },
            ],
        },
        {
            "key": "kauf",
            "title": _de_en("Kauf und Auszahlung", "Purchase and payment"),
            "fields": [
                {
                    "key": "belege",
                    "type": "repeating_group",
                    "label": _de_en("Kaufbelege", "Receipts"),
                    "min_items": 1,
                    "max_items": 5,
                    "fields": [
                        {
                            "key": "datum",
                            "type": "date",
                            "label": _de_en("Kaufdatum", "Date of purchase"),
                            "required": True,
                            "validation": {"min_date": "today-365", "max_date": "today"},
                        },
                        {
                            "key": "betrag",
                            "type": "number",
                            "label": _de_en("Betrag in Euro", "Amount in euros"),
                            "required": True,
                            "validation": {"min": 1, "max": 2000},
                        },
                        {
                            "key": "beleg",
                            "type": "file",
                            "label": _de_en("Beleg", "Receipt"),
                            "required": True,
                            "accept": ["application/pdf", "image/jpeg", "image/png"],
                            "max_bytes": 5 * 1024 * 1024,
                        },
                    ],
                },
                {
                    "key": "kontoinhaber",
                    "type": "text",
                    "label": _de_en("Kontoinhaberin oder Kontoinhaber", "Account holder"),
                    "required": True,
                },
                {"key": "iban", "type": "iban", "label": _de_en("IBAN", "IBAN"), "required": True},
                {
                    "key": "bestaetigung",
                    "type": "checkbox",
                    "label": _de_en(
                        "Ich bestätige, dass ich für dieses Kind noch keinen Zuschuss erhalten habe.",
                        "I confirm that I have not received a subsidy for this child before.",
                    ),
                    "required": True,
                },
            ],
        },
    ],
    "fees": [],
    "summary_step": True,
    "trust_level": "low",
    "auth_methods": ["bundid", "eid"],
    "payment_required": False,
    "processing": {"bpmn": _process("zuschuss-mehrwegwindeln"), "sign_off_required": True},
    "documents": [
        RECEIPT,
        {"key": "bewilligung", "title": _de_en("Bewilligungsbescheid", "Notice of approval"), "kind": "decision"},
    ],
}

# Each founding city's own fee for the resident parking permit, in cents (invented demo values).
PARKING_FEES = {
    "fulda": 3000,
    "giessen": 6000,
    "limburg": 4000,
    "marburg": 5000,
    "offenbach": 12000,
    "wetzlar": 4500,
}


@dataclass(frozen=True)
class DemoService:
    slug: str
    definition: dict[str, Any]
    org_unit_short: str  # the responsible unit in the demo org chart
    comment: tuple[str, str]  # (path, text) Gießen's remark during review
    fees: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Lanes of the process whose work the responsible unit does in the demo cities (the other
    #: lanes go to the unit of the same name, e.g. the environment department for the nappies).
    lanes_of_responsible_unit: tuple[str, ...] = ()


#: In the demo cities the citizens' office (Bürgerbüro, where the demo caseworker works) is
#: responsible for all three services: every demo application lands in the demo caseworker's
#: inbox, who can take it to the decision. Only the nappy subsidy's receipts are checked by the
#: environment department (its own lane), which shows how a task of another unit looks.
DEMO_CASEWORK_UNIT = "32.1"

SERVICES = (
    DemoService(
        "bewohnerparkausweis",
        PARKING,
        DEMO_CASEWORK_UNIT,
        ("steps[1].fields[3]", "Gut, dass nur gültige Zonen wählbar sind. Jede Stadt pflegt ihre Zonen selbst?"),
        fees={slug: {"ausweis": cents} for slug, cents in PARKING_FEES.items()},
        lanes_of_responsible_unit=("Straßenverkehrsbehörde",),
    ),
    DemoService(
        "hundesteuer-anmeldung",
        DOG_TAX,
        DEMO_CASEWORK_UNIT,
        ("steps[1].fields[5]", "Bitte den Verweis auf die Hundeverordnung in den Hilfetext aufnehmen."),
        lanes_of_responsible_unit=("Steueramt",),
    ),
    DemoService(
        "zuschuss-mehrwegwindeln",
        NAPPIES,
        DEMO_CASEWORK_UNIT,
        ("steps[2].fields[0]", "Fünf Belege reichen nach unserer Erfahrung aus."),
    ),
)


@dataclass
class DemoServicesResult:
    created: list[str] = field(default_factory=list)
    adopted: int = 0
    skipped_reason: str = ""


def _person(slug: str, suffix: str) -> User | None:
    return User.objects.filter(username=f"{slug}-{suffix}").first()


@transaction.atomic
def load_demo_services() -> DemoServicesResult:
    """Create, review, release and adopt the demo services (idempotent).

    Needs the demo cooperation (``dikom.demo``): without the six founding cities
    nothing is created and ``skipped_reason`` says why.
    """
    result = DemoServicesResult()
    cities = {m.slug: m for m in Municipality.objects.filter(slug__in={AUTHOR, *REVIEWERS, *ADOPTERS})}
    missing = sorted({AUTHOR, *REVIEWERS, *ADOPTERS} - set(cities))
    if missing:
        result.skipped_reason = f"demo cities missing: {', '.join(missing)}"
        return result
    for demo in SERVICES:
        definition = ServiceDefinition.objects.filter(slug=demo.slug).first()
        if definition is None:
            definition = _create_and_release(demo, cities)
            result.created.append(demo.slug)
        if definition.latest_released is None:
            continue
        result.adopted += _adopt_everywhere(demo, definition, cities)
    return result


def _create_and_release(demo: DemoService, cities: dict[str, Municipality]) -> ServiceDefinition:
    author = cities[AUTHOR]
    designer = _person(AUTHOR, "designer")
    version = actions.create_service(
        municipality=author,
        actor=designer,
        title=demo.definition["identity"]["title"]["de"],
        content=demo.definition,
        slug=demo.slug,
        is_demo=True,
    )
    definition = version.definition
    version = actions.submit_for_review(version, actor=designer)
    first_reviewer = cities[REVIEWERS[0]]
    path, text = demo.comment
    comment = actions.add_comment(
        version, actor=_person(first_reviewer.slug, "reviewer"), municipality=first_reviewer, body=text, path=path
    )
    # The authoring city answers the remark; an open comment would hold the release back.
    actions.resolve_comment(comment, actor=designer)
    for slug in REVIEWERS:
        actions.review_version(
            version,
            actor=_person(slug, "reviewer"),
            municipality=cities[slug],
            decision=Review.Decision.APPROVE,
            body="Fachlich und technisch geprüft.",
        )
    definition.refresh_from_db()
    if definition.latest_released_id is None:  # the quorum setting asks for more than two cities
        raise actions.WorkflowError(f"demo service {demo.slug} was not released; is the release quorum above 2?")
    return definition


def _adopt_everywhere(demo: DemoService, definition: ServiceDefinition, cities: dict[str, Municipality]) -> int:
    adopted = set(Adoption.objects.filter(definition=definition).values_list("municipality__slug", flat=True))
    count = 0
    for slug in ADOPTERS:
        if slug in adopted:
            continue
        city = cities[slug]
        unit = OrgUnit.objects.filter(municipality=city, short_name=demo.org_unit_short).first()
        lanes = dict.fromkeys(demo.lanes_of_responsible_unit, unit.pk) if unit is not None else {}
        actions.adopt_service(
            municipality=city,
            version=definition.latest_released,  # type: ignore[arg-type]
            actor=_person(slug, "admin"),
            local=actions.LocalSettings(
                start_date=START,
                org_unit=unit,
                fees=demo.fees.get(slug, {}),
                contact_email=unit.email if unit and unit.email else f"buergerservice@{slug}.demo.dikom.invalid",
                hint_de=f"Fragen beantwortet die Stadt {city.name} gern.",
                hint_en=f"The city of {city.name} is happy to answer questions.",
                lanes=lanes,
            ),
            is_demo=True,
        )
        count += 1
    return count
