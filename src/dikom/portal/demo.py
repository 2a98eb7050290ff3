"""DEMO applications: a few applications of the demo citizen for the three demo services.

Loaded by ``manage.py load_demo`` after the demo services. They go through the
same actions as the portal (sign-in binding, answers checked by the service's
own rules, demo payment, submission), so they are what the portal would have
stored. Every person in them is invented and named so ("Demo").
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from dikom.authproviders.base import Identity
from dikom.demo.data import CITIZEN_USERNAME
from dikom.eservices.definition.fields import clean_answers
from dikom.eservices.service import adoption_for
from dikom.municipalities.models import Municipality
from dikom.portal import actions, steps
from dikom.portal.models import Application

logger = logging.getLogger(__name__)


@dataclass
class DemoApplicationsResult:
    submitted: list[str] = field(default_factory=list)
    drafts: int = 0
    # Services whose application stayed a draft because no payment platform is enabled (their fee
    # cannot be paid): their cases are missing from the caseworkers' inboxes.
    unpaid: list[str] = field(default_factory=list)
    skipped_reason: str = ""


def _pdf(title: str) -> bytes:
    """A tiny, valid one-page PDF labelled as demo data."""
    text = f"DEMO - {title}".encode("latin-1", "replace")
    stream = b"BT /F1 14 Tf 50 780 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _person(given: str, family: str, city: Municipality, street: str, postcode: str) -> dict[str, Any]:
    return {
        "vorname": given,
        "nachname": f"{family} (Demo)",
        "anschrift": {"street": street, "house_number": "1", "postcode": postcode, "city": city.name},
        "email": f"{given.lower()}.{family.lower()}@example.org",
        "telefon": "",
    }


def _answers(slug: str, city: Municipality, today: dt.date) -> dict[str, dict[str, Any]]:
    if slug == "bewohnerparkausweis":
        return {
            "antragsteller": _person("Erika", "Mustermann", city, "Universitätsstraße", "35037"),
            "fahrzeug": {"kennzeichen": "MR-EM 123", "halter": "yes", "zone": "a",
                         "beginn": (today + dt.timedelta(days=7)).isoformat()},
        }  # fmt: skip
    if slug == "hundesteuer-anmeldung":
        return {
            "antragsteller": _person("Max", "Beispiel", city, "Bahnhofstraße", "36037"),
            "hund": {"name": "Bello", "rasse": "Labrador-Mischling", "gefaehrlich": "no", "weitere_hunde": "0",
                     "geburtsdatum": (today - dt.timedelta(days=800)).isoformat(),
                     "aufnahme": (today - dt.timedelta(days=10)).isoformat()},
            "ermaessigung": {"beantragt": False},
        }  # fmt: skip
    return {
        "antragsteller": _person("Lena", "Probe", city, "Ludwigstraße", "35390"),
        "kind": {"vorname": "Mia", "geburtsdatum": (today - dt.timedelta(days=200)).isoformat()},
        "kauf": {"belege": [{"datum": (today - dt.timedelta(days=12)).isoformat(), "betrag": "89.90"}],
                 "kontoinhaber": "Lena Probe (Demo)", "iban": "DE89370400440532013000", "bestaetigung": True},
    }  # fmt: skip


def _fill(application: Application, raw_by_step: dict[str, dict[str, Any]]) -> None:
    """Answer every visible step through the service's own validation (files uploaded as demo PDFs)."""
    content = application.content
    cleaned_so_far: dict[str, Any] = {}
    for number, step in enumerate(steps.steps_of(content), start=1):
        if not steps.step_visible(step, cleaned_so_far):
            continue
        key = str(step.get("key"))
        raw = dict(raw_by_step.get(key) or {})
        for spec in step.get("fields") or []:
            if spec.get("type") == "repeating_group":
                for index, item in enumerate(raw.get(str(spec["key"])) or []):
                    for sub in spec.get("fields") or []:
                        if sub.get("type") == "file":
                            upload = SimpleUploadedFile("beleg.pdf", _pdf("Kaufbeleg"), "application/pdf")
                            path = f"{key}.{spec['key']}[{index}].{sub['key']}"
                            item[str(sub["key"])] = actions.store_upload(application, sub, path, upload).value
        result = clean_answers(step, raw, all_answers=cleaned_so_far, today=steps.today())
        if result.errors:
            raise ValueError(f"demo answers of step {key} are invalid: {result.errors}")
        cleaned_so_far[key] = result.values
        actions.save_step_answers(application, key, result.values, next_step=number)


def _pay(application: Application) -> None:
    from dikom.payments.actions import record_status
    from dikom.payments.models import EventSource, PaymentStatus

    cleaned, _broken = actions.validate_all(application)
    due = actions.amount_due(application, cleaned)
    if not due:
        return
    payment = actions.start_payment(application, amount_cents=due, description="DEMO", return_url="/portal/antraege/")
    record_status(payment.pk, PaymentStatus.PENDING, source=EventSource.SYSTEM, note="demo data")
    record_status(payment.pk, PaymentStatus.PAID, source=EventSource.ADMIN, method="creditcard", note="demo data")


PLAN = (
    # (city, service, submit?)
    ("marburg", "bewohnerparkausweis", True),
    ("fulda", "hundesteuer-anmeldung", True),
    ("giessen", "zuschuss-mehrwegwindeln", True),
    ("wetzlar", "hundesteuer-anmeldung", True),
    # A second parking permit that stays open: Marburg's demo caseworker decides it.
    ("marburg", "bewohnerparkausweis", True),
    ("offenbach", "zuschuss-mehrwegwindeln", False),
)


def load_demo_applications() -> DemoApplicationsResult:
    """Create the demo citizen's applications once (idempotent: nothing happens if she has any)."""
    result = DemoApplicationsResult()
    citizen = get_user_model().objects.filter(username=CITIZEN_USERNAME).first()
    if citizen is None:
        result.skipped_reason = "demo citizen missing"
        return result
    if Application.objects.filter(citizen=citizen).exists():
        result.skipped_reason = "already loaded"
        return result
    identity = Identity(provider="demo", method="bundid", trust_level="substantial", subject="demo-buergerin")
    today = timezone.localdate()
    for city_slug, slug, submit in PLAN:
        city = Municipality.objects.filter(slug=city_slug).first()
        offered = adoption_for(city, slug) if city is not None else None
        if city is None or offered is None:
            logger.info("demo applications: %s does not offer %s", city_slug, slug)
            continue
        application = actions.start_application(adopted=offered, citizen=citizen)
        actions.record_sign_in(application, identity)
        _fill(application, _answers(slug, city, today))
        if not submit:
            result.drafts += 1
            continue
        try:
            _pay(application)
        except ImproperlyConfigured:
            logger.warning("demo applications: no payment platform enabled, %s stays a draft", slug)
            result.drafts += 1
            result.unpaid.append(f"{city_slug}/{slug}")
            continue
        application.refresh_from_db()
        application, _won = actions.submit_application(application, submission_key=application.submission_key)
        result.submitted.append(str(application.reference))
    return result
