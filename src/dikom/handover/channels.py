"""The two ways an application reaches a back office: a signed webhook or an e-mail.

Each function makes one attempt and raises :class:`DeliveryError` when it did
not deliver; ``actions.attempt_delivery`` keeps the books.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dikom.handover import payload, transport
from dikom.handover.models import Delivery, DeliveryTarget
from dikom.handover.transport import DeliveryError
from dikom.lib.webhooks import signing


def send(delivery: Delivery) -> int | None:
    """Deliver once; returns the HTTP status for webhooks (None for e-mail)."""
    if delivery.target.kind == DeliveryTarget.Kind.WEBHOOK:
        return send_webhook(delivery)
    send_email(delivery)
    return None


def send_webhook(delivery: Delivery) -> int:
    if payload.attachments_fit(delivery):
        document = payload.build(delivery, mode="inline", attachments=payload.read_attachments(delivery))
    else:
        document = payload.build(delivery, mode="metadata")
    body = payload.encode(document)
    headers = signing.headers(delivery.target.secret, str(delivery.uuid), body)
    return transport.post(delivery.target.url, body, headers)


def _flatten(value: Any, prefix: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        if "file" in value and "content_type" in value:
            return [(prefix, str(value.get("name") or value.get("file")))]
        rows: list[tuple[str, str]] = []
        for key, inner in value.items():
            rows += _flatten(inner, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        rows = []
        for index, inner in enumerate(value, start=1):
            rows += _flatten(inner, f"{prefix}[{index}]")
        return rows
    if value is None or value == "":
        return [(prefix, "–")]
    return [(prefix, str(value))]


def _euros(cents: Any) -> str:
    try:
        amount = int(cents)
    except (TypeError, ValueError):
        return str(cents)
    return f"{amount // 100},{amount % 100:02d} EUR"


def summary_text(document: dict[str, Any]) -> str:
    """The plain-text body of the hand-over e-mail (in the installation's language)."""
    application = document["application"]
    service = application["service"]
    lines = [
        _("A new application was submitted in the citizen portal of %(city)s.")
        % {"city": document["municipality"]["name"]},
        "",
        f"{_('Reference number')}: {application['reference']}",
        f"{_('Online service')}: {service['title']} ({service['slug']}, {_('version')} {service['version']})",
        f"{_('Submitted at')}: {application['submitted_at']}",
        f"{_('Sign-in method')}: {application['auth_method'] or '–'} ({_('trust level')}: {application['trust_level'] or '–'})",
    ]
    if application["fee_lines"]:
        lines += ["", _("Fees") + ":"]
        lines += [f"- {line.get('label')}: {_euros(line.get('amount_cents'))}" for line in application["fee_lines"]]
        lines.append(f"{_('Total')}: {_euros(application['fee_total_cents'])}")
        lines.append(f"{_('Payment reference')}: {application['payment_reference'] or '–'}")
    lines += ["", _("Answers") + ":"]
    lines += [f"- {key}: {value}" for key, value in _flatten(application["answers"], "")]
    files = document["attachments"]["files"]
    if files:
        lines += ["", _("Uploaded files") + ":"]
        lines += [f"- {f['name']} ({f['content_type']}, {f['size']} bytes, SHA-256 {f['sha256']})" for f in files]
        if document["attachments"]["mode"] == "mail":
            lines.append(_("The files are attached to this e-mail."))
        else:
            lines.append(
                _("The files are too large to be sent by e-mail; please fetch them from dikom by the reference number.")
            )
    lines += [
        "",
        _("The attached JSON file holds the complete application in the format %(format)s.")
        % {"format": payload.FORMAT},
        _("Delivery ID (the same in every repeated delivery): %(id)s") % {"id": document["delivery_id"]},
    ]
    return "\n".join(lines) + "\n"


def send_email(delivery: Delivery) -> None:
    attachments = payload.read_attachments(delivery) if payload.attachments_fit(delivery) else []
    document = payload.build(delivery, mode="mail" if attachments else "metadata", attachments=attachments)
    reference = document["application"]["reference"]
    message = EmailMessage(
        subject=_("New application %(reference)s: %(service)s")
        % {"reference": reference, "service": document["application"]["service"]["title"]},
        body=summary_text(document),
        to=[delivery.target.email],
        headers={"X-Dikom-Delivery-Id": str(delivery.uuid)},
        connection=get_connection(fail_silently=False, timeout=settings.DIKOM_HANDOVER_TIMEOUT_SECONDS),
    )
    message.attach(f"{reference}.json", payload.encode(document), "application/json")
    for attachment in attachments:
        message.attach(attachment.name, attachment.content, attachment.content_type)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _message in exc.recipients.values()]
        raise DeliveryError(
            _("The mail server refused the recipient (SMTP %(code)s).") % {"code": codes[0] if codes else "?"},
            retry=not codes or any(code < 500 for code in codes),
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            _("The mail server refused the message (SMTP %(code)s).") % {"code": exc.smtp_code},
            retry=exc.smtp_code < 500,
        ) from exc
    except TimeoutError as exc:
        seconds = settings.DIKOM_HANDOVER_TIMEOUT_SECONDS
        text = ngettext(
            "The mail server did not answer within %(seconds)d second.",
            "The mail server did not answer within %(seconds)d seconds.",
            seconds,
        )
        raise DeliveryError(text % {"seconds": seconds}, retry=True) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            _("The mail server could not be reached (%(reason)s).") % {"reason": exc.__class__.__name__}, retry=True
        ) from exc
