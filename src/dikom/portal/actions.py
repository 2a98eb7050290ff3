"""The only code that changes portal state."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.eservices.definition import fees as fee_rules
from dikom.eservices.definition.fields import clean_answers
from dikom.eservices.definition.schema import text
from dikom.eservices.service import AdoptedService, local_fees
from dikom.portal import scanning, sniffing, steps
from dikom.portal.models import Application, ApplicationFile, ReferenceCounter

logger = logging.getLogger(__name__)

PLATFORM_MAX_UPLOAD = 25 * 1024 * 1024


class SubmissionError(Exception):
    """The application cannot be submitted yet (``step``: the first step to fix, if any)."""

    def __init__(self, message: str, step: int | None = None) -> None:
        super().__init__(message)
        self.step = step


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_application(*, adopted: AdoptedService, citizen: Any = None) -> Application:
    """A new draft on the version the city offers today."""
    user = citizen if citizen is not None and getattr(citizen, "is_authenticated", False) else None
    with transaction.atomic():
        return Application.objects.create(
            municipality=adopted.adoption.municipality,
            adoption=adopted.adoption,
            version=adopted.version,
            citizen=user,
            current_step=(steps.visible_numbers(adopted.version.content, {}) or [1])[0],
        )


# --- Sign-in ------------------------------------------------------------------------


def needs_sign_in(content: dict[str, Any]) -> bool:
    """A service needs a sign-in unless it allows "none" at trust level none."""
    methods = [str(m) for m in content.get("auth_methods") or []]
    level = str(content.get("trust_level") or "none")
    return bool(methods) and ("none" not in methods or level != "none")


def sign_in_problem(content: dict[str, Any], identity: Any) -> str | None:
    """Why ``identity`` is not good enough for this service (a message for the citizen), or None."""
    methods = [str(m) for m in content.get("auth_methods") or []]
    level = str(content.get("trust_level") or "none")
    if identity.method not in methods:
        return _("This service cannot be used with the sign-in method you chose. Please choose another one.")
    if not identity.meets(level):
        return _("Your sign-in does not reach the trust level this service needs. Please choose another method.")
    return None


def identity_hash(identity: Any) -> str:
    return hashlib.sha256(f"{identity.provider}|{identity.subject}".encode()).hexdigest()


def record_sign_in(application: Application, identity: Any) -> bool:
    """Bind a draft to a sign-in (method, trust level, pseudonym hash). False if it already was bound."""
    with transaction.atomic():
        changed = Application.objects.filter(
            pk=application.pk, status=Application.Status.DRAFT, identity_hash=""
        ).update(
            auth_method=identity.method,
            trust_level=identity.trust_level,
            identity_hash=identity_hash(identity),
            updated_at=timezone.now(),
        )
    application.refresh_from_db()
    return bool(changed)


def is_signed_in(application: Application) -> bool:
    return not needs_sign_in(application.content) or bool(application.identity_hash)


# --- Payment ------------------------------------------------------------------------


def amount_due(application: Application, cleaned: dict[str, Any]) -> int:
    """The total to pay before submission (0 when the service takes no payment online)."""
    if not application.content.get("payment_required"):
        return 0
    return sum(line["amount_cents"] for line in fee_lines(application, cleaned))


def payment_of(application: Application) -> Any:
    """The first attempt of the application's payment, or None."""
    from dikom.payments import service as payments

    if not application.payment_reference:
        return None
    return payments.get_payment(application.payment_reference)


def application_for_payment(payment: Any) -> Application | None:
    """The application a payment belongs to, whichever of its attempts ``payment`` is; None for other payments.

    The application names one attempt in ``payment_reference`` (the first; once submitted, the paid one).
    Payments made before readable references carried the application's UUID as their reference.
    """
    import uuid as uuid_module

    from dikom.payments.actions import attempt_chain

    match = Q(payment_reference__in=[str(p.uuid) for p in attempt_chain(payment)])
    with contextlib.suppress(ValueError):
        match |= Q(uuid=uuid_module.UUID(str(payment.reference)))
    return (
        Application.objects.filter(match, municipality_id=payment.municipality_id)
        .select_related("adoption__definition", "version", "municipality")
        .first()
    )


def paid_attempt(application: Application) -> Any:
    from dikom.payments import service as payments
    from dikom.payments.actions import attempt_chain

    payment = payment_of(application)
    if payment is None:
        return None
    return next((p for p in attempt_chain(payment) if p.status == payments.PaymentStatus.PAID), None)


def answers_locked(application: Application) -> bool:
    """Once a payment is paid or under way, the answers (and so the amount) no longer change."""
    from dikom.payments import service as payments

    payment = payment_of(application)
    if payment is None:
        return False
    return payments.is_paid(payment) or payments.latest_attempt(payment).status in {
        payments.PaymentStatus.CREATED,
        payments.PaymentStatus.PENDING,
    }


def payment_reference_for(application: Application) -> str:
    """A short reference a citizen can read out and a cash office can reconcile by: ``ZA-2026-000123``.

    "ZA" for Zahlung; the number is the application's, so every attempt of its payment keeps it
    (a retry keeps the reference, see ``dikom.payments.actions``), and it stays within the 27
    characters of a SEPA purpose line.
    """
    return f"ZA-{timezone.localdate(application.created_at).year}-{application.pk:06d}"


def start_payment(application: Application, *, amount_cents: int, description: str, return_url: str) -> Any:
    """The payment attempt to send the citizen to (one payment per application and amount)."""
    from dikom.payments import service as payments

    payment = payments.create_payment(
        municipality=application.municipality,
        amount_cents=amount_cents,
        description=description,
        reference=payment_reference_for(application),
        return_url=return_url,
        idempotency_key=f"portal:{application.uuid}:{amount_cents}",
    )
    with transaction.atomic():
        Application.objects.filter(pk=application.pk, status=Application.Status.DRAFT).update(
            payment_reference=str(payment.uuid), updated_at=timezone.now()
        )
    application.refresh_from_db()
    return payment


def save_step_answers(application: Application, step_key: str, values: dict[str, Any], *, next_step: int) -> None:
    """Store one step's answers (cleaned, or raw when saving for later) and where the citizen is."""
    answers = dict(application.answers)
    answers[step_key] = values
    application.answers = answers
    application.current_step = next_step
    with transaction.atomic():
        application.save(update_fields=["answers", "current_step", "updated_at"])


def issue_resume_token(application: Application) -> str:
    """A new resume token for an anonymous draft; only its hash is stored, earlier tokens stop working."""
    token = secrets.token_urlsafe(32)
    application.resume_token_hash = hash_token(token)
    with transaction.atomic():
        application.save(update_fields=["resume_token_hash", "updated_at"])
    return token


def cancel_application(application: Application) -> bool:
    """The citizen abandons a draft; its files are deleted. False if it was no longer a draft."""
    with transaction.atomic():
        changed = Application.objects.filter(pk=application.pk, status=Application.Status.DRAFT).update(
            status=Application.Status.CANCELLED, answers={}, updated_at=timezone.now()
        )
        if changed:
            stored = [(u.file.storage, u.file.name) for u in application.files.all() if u.file.name]

            def delete_files() -> None:
                for storage, name in stored:
                    storage.delete(str(name))

            transaction.on_commit(delete_files)
            application.files.all().delete()
    application.refresh_from_db()
    return bool(changed)


@dataclass
class UploadResult:
    value: dict[str, Any] | None
    error: str | None


def store_upload(application: Application, spec: dict[str, Any], field_path: str, upload: Any) -> UploadResult:
    """Check an uploaded file (size, real type vs. accept list and extension, virus scan) and keep it."""
    name = sniffing.safe_name(str(upload.name or ""))
    field_limit = spec.get("max_bytes")
    limit: int = min(
        field_limit if isinstance(field_limit, int) else PLATFORM_MAX_UPLOAD,
        int(getattr(settings, "DIKOM_PORTAL_MAX_UPLOAD_BYTES", PLATFORM_MAX_UPLOAD)),
    )
    if upload.size > limit:
        return UploadResult(
            None, _("The file is too large (at most %(size)s MB).") % {"size": round(limit / (1024 * 1024), 1)}
        )
    if upload.size == 0:
        return UploadResult(None, _("The file is empty."))
    stream: IO[bytes] = upload.file if hasattr(upload, "file") else upload
    detected = sniffing.detect(stream)
    accept = [str(a) for a in spec.get("accept") or []]
    if detected is None or (accept and detected not in accept):
        return UploadResult(
            None,
            _("This file type is not allowed or could not be recognised. Allowed: %(types)s.")
            % {"types": ", ".join(accept)},
        )
    if not sniffing.extension_matches(name, detected):
        return UploadResult(
            None, _("The file name extension does not match the file's content. Please upload the original file.")
        )
    result = scanning.scan(stream)
    refused = scanning.refusal_message(result)
    if refused:
        return UploadResult(None, refused)
    active_content = scanning.pdf_active_content(stream, detected)
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(65536), b""):
        digest.update(chunk)
    stream.seek(0)
    with transaction.atomic():
        stored = ApplicationFile(
            application=application,
            field_path=field_path,
            original_name=name,
            content_type=detected,
            size=upload.size,
            sha256=digest.hexdigest(),
            scan_status=result.status,
            active_content=active_content,
        )
        stored.file.save(name, File(stream), save=False)
        stored.save()
    return UploadResult({"name": name, "size": upload.size, "content_type": detected, "file": str(stored.uuid)}, None)


def validate_all(application: Application) -> tuple[dict[str, Any], int | None]:
    """Cleaned answers of every visible step and the number of the first step with problems (or None)."""
    content = application.content
    cleaned: dict[str, Any] = {}
    today = steps.today()
    for number, step in enumerate(steps.steps_of(content), start=1):
        if not steps.step_visible(step, cleaned):
            continue
        key = str(step.get("key"))
        result = clean_answers(step, application.answers.get(key) or {}, all_answers=cleaned, today=today)
        if result.errors:
            return cleaned, number
        cleaned[key] = result.values
    return cleaned, None


def fee_lines(application: Application, answers: dict[str, Any], language: str = "de") -> list[dict[str, Any]]:
    lines = fee_rules.calculate(application.content, answers, local_fees(application.adoption), language=language)
    return [{"key": ln.key, "label": ln.label, "amount_cents": ln.amount_cents} for ln in lines]


def next_reference(municipality: Any, year: int) -> str:
    """The next reference number of ``municipality`` in ``year`` (call inside a transaction)."""
    counter = ReferenceCounter.objects.filter(municipality=municipality, year=year)
    if not counter.update(last=F("last") + 1):
        try:
            with transaction.atomic():
                ReferenceCounter.objects.create(municipality=municipality, year=year, last=1)
        except IntegrityError:
            counter.update(last=F("last") + 1)
    last = ReferenceCounter.objects.get(municipality=municipality, year=year).last
    prefix = "".join(ch for ch in municipality.slug.upper() if ch.isalpha())[:2] or "XX"
    return f"{prefix}-{year}-{last:06d}"


def submit_application(application: Application, *, submission_key: str) -> tuple[Application, bool]:
    """Submit a draft exactly once. Returns (application, whether this call submitted it).

    Two tabs, the back button or a retried request may post the same form: the
    conditional UPDATE on ``status = draft`` lets exactly one of them win; the
    others get the already submitted application and False.
    """
    if not application.is_draft:
        return application, False
    cleaned, broken = validate_all(application)
    if broken is not None:
        raise SubmissionError(_("Please check your answers."), step=broken)
    if not is_signed_in(application):
        raise SubmissionError(_("Please sign in first."))
    lines = fee_lines(application, cleaned)
    due = amount_due(application, cleaned)
    paid = paid_attempt(application) if due else None
    if due and (paid is None or paid.amount_cents != due):
        raise SubmissionError(_("Please pay the fee first."))
    now = timezone.now()
    with transaction.atomic():
        won = Application.objects.filter(
            pk=application.pk, status=Application.Status.DRAFT, submission_key=submission_key
        ).update(status=Application.Status.SUBMITTED, submitted_at=now, updated_at=now)
        if not won:
            application.refresh_from_db()
            return application, False
        reference = next_reference(application.municipality, timezone.localdate(now).year)
        files = [
            {
                "field": f.field_path,
                "name": f.original_name,
                "content_type": f.content_type,
                "size": f.size,
                "sha256": f.sha256,
                "scan_status": f.scan_status,
                "active_content": f.active_content,
                "path": f.file.name,
            }
            for f in application.files.all()
        ]
        referenced = _referenced_files(cleaned)
        files = [f for f, obj in zip(files, application.files.all(), strict=True) if str(obj.uuid) in referenced]
        snapshot = {
            "service": application.adoption.definition.slug,
            "title": text((application.content.get("identity") or {}).get("title")),
            "version": application.version.number,
            "reference": reference,
            "submitted_at": now.isoformat(),
            "answers": cleaned,
            "files": files,
            "auth_method": application.auth_method,
            "trust_level": application.trust_level,
            "fee_lines": lines,
            "fee_total_cents": sum(ln["amount_cents"] for ln in lines),
            # The attempt that was paid, not the first one (which may have failed).
            "payment_reference": paid.reference if paid is not None else application.payment_reference,
            "payment": (
                {
                    "uuid": str(paid.uuid),
                    "reference": paid.reference,
                    "provider_reference": paid.provider_reference,
                    "provider": paid.provider,
                    "method": paid.method,
                    "amount_cents": paid.amount_cents,
                    "paid_at": paid.paid_at.isoformat() if paid.paid_at else None,
                }
                if paid is not None
                else None
            ),
        }
        Application.objects.filter(pk=application.pk).update(
            reference=reference,
            submission_data=snapshot,
            answers=cleaned,
            resume_token_hash="",
            visit_id="",
            payment_reference=str(paid.uuid) if paid is not None else application.payment_reference,
        )
        visit_id = application.visit_id
        application.refresh_from_db()
        # Gone from the database; kept in memory for this request's "submitted" usage event only.
        application.visit_id = visit_id
        submitted_pk = application.pk
        transaction.on_commit(lambda: _announce_submission(submitted_pk))
    return application, True


def _announce_submission(application_pk: int) -> None:
    """Tell listeners (hand-over, cases) about a committed submission; their failures stay theirs."""
    from dikom.portal.signals import application_submitted

    application = Application.objects.get(pk=application_pk)
    for receiver, result in application_submitted.send_robust(sender=Application, application=application):
        if isinstance(result, Exception):
            logger.error("portal: %r failed on submission %s", receiver, application.reference, exc_info=result)


def _referenced_files(values: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(values, dict):
        if "file" in values and "content_type" in values and isinstance(values.get("file"), str):
            found.add(values["file"])
        for value in values.values():
            found |= _referenced_files(value)
    elif isinstance(values, list):
        for value in values:
            found |= _referenced_files(value)
    return found


def record_feedback(application: Application) -> bool:
    """Feedback is asked once per application; True if this is the first time."""
    with transaction.atomic():
        return bool(Application.objects.filter(pk=application.pk, feedback_given=False).update(feedback_given=True))


def delete_expired_drafts(now: dt.datetime | None = None) -> int:
    """Delete drafts untouched for ``DIKOM_PORTAL_DRAFT_DAYS`` days (with their files)."""
    now = now or timezone.now()
    days = getattr(settings, "DIKOM_PORTAL_DRAFT_DAYS", 30)
    expired = Application.objects.filter(status=Application.Status.DRAFT, updated_at__lt=now - dt.timedelta(days=days))
    count = 0
    for application in expired.prefetch_related("files"):
        for upload in application.files.all():
            upload.file.delete(save=False)
        application.delete()
        count += 1
    return count
