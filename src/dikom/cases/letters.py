"""Decision letters (Bescheide) as PDF/A-3b, from the service's HTML template and the case data.

A shared service may carry ``processing.letter_template`` ({"de": "<p>…</p>"}),
a Django template *fragment* that sees only plain data: ``case`` (reference,
service, outcome, reasons, dates as ``01.01.2027`` and, in ``*_long``, as
``1. Januar 2027``), ``answers`` (the submitted answers by step and field key,
dates in German), ``fees`` and ``municipality`` (name, authority, head, address). It is rendered in a
sandbox (:mod:`dikom.lib.template_sandbox`: allowed tags and filters only,
read-only data, size and time limits, autoescaping), then placed into the city's letter frame after DIN 5008 form B
(``web/pdf/letter_frame.html``: letterhead, address field, information block,
reference line, decision, reasons, legal remedy naming the authority and its
address from the municipality's settings, "decided automatically" note).
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import mark_safe

from dikom.cases.models import Case
from dikom.lib import letterhead, pdf, template_sandbox

#: A template the sandbox refuses (kept under this name for the callers in eservices and automation).
LetterTemplateError = template_sandbox.TemplateRefused


def check_template(source: str) -> None:
    """Raise LetterTemplateError for a template the sandbox would refuse (used on save and release)."""
    template_sandbox.check(source)


def _euros(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", ".") + f",{rest:02d} €"


def letter_context(case: Case) -> dict[str, Any]:
    """The plain data letter templates and automation texts see; every date in German."""
    data = case.application.submission_data or {}
    outcome_labels = {"approved": "bewilligt", "partly_approved": "teilweise bewilligt", "rejected": "abgelehnt"}
    submitted = case.application.submitted_at or case.opened_at
    decided = case.decided_at or timezone.now()
    return {
        "case": {
            "reference": case.reference,
            "service": case.service_title,
            "outcome": case.outcome,
            "outcome_label": outcome_labels.get(case.outcome, ""),
            "reasons": case.decision_reasons,
            "submitted_at": letterhead.short_date(submitted),
            "submitted_at_long": letterhead.long_date(submitted),
            "decided_at": letterhead.short_date(decided),
            "decided_at_long": letterhead.long_date(decided),
            "automatic": case.decided_automatically,
        },
        "answers": letterhead.german_dates(data.get("answers") or {}),
        "fees": {
            "lines": data.get("fee_lines") or [],
            "total_cents": data.get("fee_total_cents") or 0,
            "total": _euros(int(data.get("fee_total_cents") or 0)),
        },
        "municipality": {
            "name": case.municipality.name,
            "authority": case.municipality.official_name,
            "head": case.municipality.authority_head,
            "address": case.municipality.postal_address,
        },
    }


def render_body(case: Case, context: dict[str, Any]) -> str:
    content = case.application.version.content
    template = ((content.get("processing") or {}).get("letter_template") or {}) if isinstance(content, dict) else {}
    source = template.get("de") if isinstance(template, dict) else None
    if not source:
        return ""
    try:
        return template_sandbox.render(source, context, autoescape=True)
    except LetterTemplateError:
        return "<p>" + escape("(Die Textvorlage des Dienstes konnte nicht verwendet werden.)") + "</p>"


def render_letter_html(case: Case) -> str:
    context = letter_context(case)
    office = letterhead.authority(case.municipality, case.org_unit)
    with translation.override("de"):
        return render_to_string(
            "cases/letter.html",
            {
                **context,
                "body": mark_safe(render_body(case, context)),  # noqa: S308 - rendered by the autoescaping sandbox
                "recipient": letterhead.recipient(context["answers"], case.application.citizen),
                "office": office,
                "remedy_office": letterhead.remedy_office(office),
                "info": {
                    "application_date": context["case"]["submitted_at"],
                    "our_reference": case.reference,
                    "date": context["case"]["decided_at"],
                },
                "city": case.municipality,
                "signed_off": case.signed_off_at is not None,
            },
        )


def render_decision_letter(case: Case) -> bytes:
    """The letter as PDF/A-3b (archivable; fonts embedded); raises :class:`dikom.lib.pdf.PdfError`."""
    return pdf.render_pdf(render_letter_html(case), pdf_variant="pdf/a-3b")
