"""DEMO cases: the demo citizen's applications worked through to the end, with the real actions.

- Marburg, resident parking permit: the demo caseworker of the citizens' office asks
  the citizen for a missing document, she answers in the portal, he checks and
  issues, decides and closes the case; its file is exported as xdomea. Marburg's
  second parking permit stays open for the caseworker's inbox.
- Gießen, nappy subsidy: the citizens' office and the environment department
  check in parallel, the subsidy is decided and signed off by a second person,
  closed and exported.
- Fulda, dog tax: decided automatically by the city's demo rule (see
  ``cases.automation``); Wetzlar's dog tax case stays open for the demo inbox.

Idempotent: a case that is no longer open is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from dikom.cases import actions
from dikom.cases.models import Case, CaseMessage, Task

logger = logging.getLogger(__name__)


@dataclass
class DemoCasesResult:
    worked: list[str] = field(default_factory=list)
    skipped_reason: str = ""


def _user(slug: str, suffix: str) -> Any:
    return get_user_model().objects.filter(username=f"{slug}-{suffix}").first()


def _complete_all(case: Case, by: Any, result: str) -> None:
    """Complete the open workflow and consultation tasks one after the other (parallel ones too)."""
    for _round in range(10):
        task = case.tasks.filter(status=Task.Status.OPEN).exclude(kind=Task.Kind.SIGN_OFF).first()
        if task is None:
            return
        task = actions.claim_task(task, by, expected_version=task.lock_version)
        actions.complete_task(task, by, expected_version=task.lock_version, result=result)
        case.refresh_from_db()


def _parking(case: Case) -> None:
    caseworker = _user(case.municipality.slug, "caseworker")
    citizen = case.application.citizen
    request = actions.request_information(
        case,
        caseworker,
        subject="Nachweis der Halterschaft",
        body="Bitte senden Sie uns den Fahrzeugschein (Zulassungsbescheinigung Teil I) als PDF.",
    )
    case.refresh_from_db()
    from dikom.portal.demo import _pdf

    scan = SimpleUploadedFile("fahrzeugschein.pdf", _pdf("Zulassungsbescheinigung Teil I"), "application/pdf")
    actions.answer_information(case, citizen, request, "Anbei der Fahrzeugschein.", [scan])
    case.refresh_from_db()
    _complete_all(case, caseworker, "Wohnsitz in Zone A und Halterschaft geprüft.")
    actions.decide(case, caseworker, outcome=Case.Outcome.APPROVED, reasons="Alle Voraussetzungen liegen vor.")
    actions.close_case(case, caseworker)


def _nappies(case: Case) -> None:
    caseworker = _user(case.municipality.slug, "caseworker")
    admin = _user(case.municipality.slug, "admin")
    _complete_all(case, admin, "Geprüft, keine Einwände.")
    actions.decide(
        case, caseworker, outcome=Case.Outcome.PARTLY_APPROVED,
        reasons="Gefördert werden 50 % der Kosten, höchstens 100 Euro; der Beleg über 89,90 Euro wird anerkannt.",
    )  # fmt: skip
    case.refresh_from_db()
    sign_off = case.tasks.get(kind=Task.Kind.SIGN_OFF, status=Task.Status.OPEN)
    actions.sign_off(case, admin, sign_off, expected_version=sign_off.lock_version)
    actions.close_case(case, admin)


DOG_TAX_RULE = "Hundesteuer ohne Besonderheiten (Demo)"


def _dog_tax_rule() -> None:
    """Fulda's demo rule: dog tax registrations of non-dangerous dogs are decided and closed automatically."""
    from dikom.cases.automation import actions as automation
    from dikom.cases.automation import runner
    from dikom.cases.automation.models import Rule
    from dikom.municipalities.models import Municipality

    fulda = Municipality.objects.filter(slug="fulda").first()
    if fulda is None or Rule.objects.filter(municipality=fulda, name=DOG_TAX_RULE).exists():
        return
    automation.create_rule(
        municipality=fulda,
        actor=_user("fulda", "admin"),
        name=DOG_TAX_RULE,
        description="DEMO: vollständig regelbasierte Entscheidung nach § 35a VwVfG.",
        active=True,
        trigger="submitted",
        service_slug="hundesteuer-anmeldung",
        condition={"==": [{"var": "answers.hund.gefaehrlich"}, "no"]},
        actions=[
            {"type": "decide", "outcome": "approved",
             "reasons": "Der Hund ist kein gefährlicher Hund; die Anmeldung erfüllt alle Voraussetzungen."},
            {"type": "set_status", "status": "closed"},
        ],
    )  # fmt: skip
    # The demo application was submitted before the rule existed: run it once for that case.
    for case in Case.objects.filter(municipality=fulda, service_slug="hundesteuer-anmeldung", status="open"):
        runner.run(case, "submitted", None)


def load_demo_cases() -> DemoCasesResult:
    """Work the demo cases (call after the demo applications exist)."""
    result = DemoCasesResult()
    drop = getattr(settings, "DIKOM_EFILE_DROP_DIR", None)
    if drop:
        Path(drop).mkdir(parents=True, exist_ok=True)  # the demo's "mounted" e-file folder
    plans = {("marburg", "bewohnerparkausweis"): _parking, ("giessen", "zuschuss-mehrwegwindeln"): _nappies}
    for (city, service), work in plans.items():
        # The city's first application of the service is worked; later ones stay open for the inbox.
        case = Case.objects.filter(municipality__slug=city, service_slug=service).order_by("opened_at", "pk").first()
        if (
            case is None
            or case.status != Case.Status.OPEN
            or case.messages.filter(kind=CaseMessage.Kind.INFORMATION_REQUEST).exists()
        ):
            continue
        work(case)
        result.worked.append(case.reference)
    _dog_tax_rule()
    return result
