"""The application as a document: the receipt (Eingangsbestätigung) the citizen downloads is
the same PDF/A that goes into the e-file as the application (``dikom.cases.efile_export``).

German like every official document, with every answer as submitted, the list of attached
files, the sign-in used and the payment.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from dikom.eservices.definition.schema import text
from dikom.lib import letterhead
from dikom.lib.pdf import render_pdf
from dikom.portal import steps
from dikom.portal.models import Application

#: The receipt is archived in the e-file, so it is a PDF/A like the decision letters.
PDF_VARIANT = "pdf/a-3b"

# The receipt is German whatever the citizen's language (see portal/receipt.html).
AUTH_METHODS = {
    "bundid": "BundID",
    "elster": "ELSTER-Zertifikat",
    "eid": "Online-Ausweisfunktion (eID)",
    "eu_wallet": "EUDI-Wallet",
    "organisation_account": "Organisationskonto",
}
TRUST_LEVELS = {"low": "niedrig", "substantial": "substanziell", "high": "hoch"}


def receipt_html(application: Application) -> str:
    """The receipt's HTML; the same for the citizen's download and the e-file."""
    municipality = application.municipality
    data = application.submission_data
    answers = data.get("answers") or {}
    sections = []
    for step_def in steps.steps_of(application.content):
        key = str(step_def.get("key"))
        if key in answers:
            sections.append(
                {
                    "title": text(step_def.get("title"), "de"),
                    "rows": steps.summary_rows(step_def.get("fields") or [], answers[key], "de"),
                }
            )
    submitted = application.submitted_at or application.updated_at
    content = application.content or {}
    title = data.get("title") or text((content.get("identity") or {}).get("title"), "de") or application.reference
    files = [
        {"name": f.original_name, "size_kb": max(1, round(f.size / 1024))}
        for f in application.files.order_by("created_at", "pk")
    ]
    my_applications_url = (
        str(settings.SITE_URL or "").rstrip("/") + reverse("portal:my_applications") if application.citizen_id else ""
    )
    with translation.override("de"):
        return render_to_string(
            "portal/receipt.html",
            {
                "application": application,
                "title": title,
                "office": letterhead.authority(municipality),
                "recipient": letterhead.recipient(answers, application.citizen),
                "info": {"our_reference": application.reference, "date": letterhead.short_date(submitted)},
                "submitted_on": letterhead.long_date(submitted),
                "submitted_time": letterhead.clock_time(submitted),
                "my_applications_url": my_applications_url,
                "data": data,
                "sections": sections,
                "files": files,
                "auth_method": AUTH_METHODS.get(application.auth_method, application.auth_method)
                if application.auth_method != "none"
                else "",
                "trust_level": TRUST_LEVELS.get(application.trust_level, ""),
                "fee_total": data.get("fee_total_cents", 0),
                "payment": data.get("payment"),
                "payment_method": _payment_method_label((data.get("payment") or {}).get("method") or ""),
                "payment_reference": data.get("payment_reference") or "",
            },
        )


def _payment_method_label(method: str) -> str:
    """The payment method as the citizen knows it ("Kreditkarte", "SEPA-Lastschrift"), not its stored code."""
    from dikom.payments.models import PaymentMethod

    try:
        return str(PaymentMethod(method).label)
    except ValueError:
        return method


def receipt_pdf(application: Application) -> bytes:
    """The receipt as PDF/A-3b (raises ``dikom.lib.pdf.PdfError`` when it cannot be made)."""
    return render_pdf(receipt_html(application), pdf_variant=PDF_VARIANT)
