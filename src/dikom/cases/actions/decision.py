"""Deciding a case (with an optional second sign-off), the decision letter, closing and the e-file transfer."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.cases.actions.casework import complete_task
from dikom.cases.actions.core import CaseActionError, _bump, _enqueue_efile, _locked, _notify_citizen, record_event
from dikom.cases.models import Case, CaseDocument, CaseMessage, Task
from dikom.cases.webhooks import actions as webhooks

logger = logging.getLogger(__name__)


def sign_off_required(case: Case) -> bool:
    content = case.application.version.content
    return bool(isinstance(content, dict) and (content.get("processing") or {}).get("sign_off_required"))


def decide(case: Case, by: Any, *, outcome: str, reasons: str, automatic_label: str = "") -> Case:
    """Record the decision. With a required second sign-off a sign-off task is created first."""
    if outcome not in {Case.Outcome.APPROVED, Case.Outcome.PARTLY_APPROVED, Case.Outcome.REJECTED}:
        raise CaseActionError(_("Please choose a decision."))
    if outcome != Case.Outcome.APPROVED and not reasons.strip():
        raise CaseActionError(_("Please give the reasons for the decision."))
    with transaction.atomic():
        case = _locked(case)
        if case.status != Case.Status.OPEN:
            raise CaseActionError(_("Only open cases that do not wait for the citizen can be decided."))
        if case.outcome:
            raise CaseActionError(_("This case has already been decided."))
        _bump(
            case,
            outcome=outcome,
            decision_reasons=reasons.strip()[:10000],
            decided_by=by if getattr(by, "is_authenticated", False) else None,
            decided_automatically=bool(automatic_label),
        )
        label = dict(Case.Outcome.choices)[outcome]
        record_event(
            case,
            "decision_drafted" if sign_off_required(case) and not automatic_label else "decided",
            _("Decision: %(outcome)s.") % {"outcome": label},
            actor=by,
            automatic_label=automatic_label,
        )
        if sign_off_required(case) and not automatic_label:
            Task.objects.create(
                case=case,
                kind=Task.Kind.SIGN_OFF,
                name=_("Second sign-off of the decision"),
                org_unit=case.org_unit,
                instructions=_("Please check the decision and sign it off (not the person who decided)."),
            )
            return case
        _finalise_decision(case, by, automatic_label=automatic_label)
    return case


def sign_off(case: Case, by: Any, task: Task, *, expected_version: int | None) -> Case:
    if case.decided_by_id is not None and case.decided_by_id == getattr(by, "pk", None):
        raise CaseActionError(_("The sign-off must be given by a second person."))
    with transaction.atomic():
        complete_task(task, by, expected_version=expected_version, result=_("Signed off."))
        case = _locked(case)
        _bump(case, signed_off_by=by, signed_off_at=timezone.now())
        record_event(case, "signed_off", _("Decision signed off."), actor=by)
        _finalise_decision(case, by, automatic_label="")
    return case


def _finalise_decision(case: Case, by: Any, *, automatic_label: str) -> None:
    """The letter is generated and delivered, the case counts as decided."""
    from dikom.cases import letters
    from dikom.lib.pdf import PdfError

    now = timezone.now()
    _bump(case, status=Case.Status.DECIDED, decided_at=now)
    for task in case.tasks.filter(status=Task.Status.OPEN):
        Task.objects.filter(pk=task.pk).update(status=Task.Status.CANCELLED, lock_version=F("lock_version") + 1)
    try:
        pdf = letters.render_decision_letter(case)
    except PdfError as error:  # the decision is rolled back with the transaction; the caseworker sees why
        raise CaseActionError(_("The decision letter could not be generated: %(e)s") % {"e": error}) from error
    document = CaseDocument(
        case=case,
        kind=CaseDocument.Kind.LETTER,
        title=_("Decision letter %(ref)s") % {"ref": case.reference},
        file_name=f"Bescheid-{case.reference}.pdf",
        content_type="application/pdf",
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        visible_to_citizen=True,
        created_by=by if getattr(by, "is_authenticated", False) else None,
        created_automatically=bool(automatic_label),
    )
    document.file.save(document.file_name, ContentFile(pdf), save=False)
    document.save()
    message = CaseMessage.objects.create(
        case=case,
        direction=CaseMessage.Direction.TO_CITIZEN,
        kind=CaseMessage.Kind.DECISION,
        subject=(_("Decision on your application %(ref)s") % {"ref": case.reference})[:200],
        body=case.decision_reasons,
        document=document,
        sent_by=by if getattr(by, "is_authenticated", False) else None,
    )
    record_event(case, "letter_delivered", _("Decision letter generated and delivered to the portal mailbox."),
                 actor=by, automatic_label=automatic_label)  # fmt: skip
    _notify_citizen(case, message)
    webhooks.emit(
        case,
        "decision.made",
        {"decision": {"outcome": case.outcome, "decided_at": case.decided_at.isoformat() if case.decided_at else None,
                      "automatic": bool(automatic_label), "letter": str(document.uuid)}},
    )  # fmt: skip
    case.application.__class__.objects.filter(pk=case.application_id).update(status="decided")
    _record_processing(case)


def _record_processing(case: Case) -> None:
    """Processing time and media breaks flow into the service's usage analytics."""
    from dikom.analytics.models import Service

    service = Service.objects.filter(municipality=case.municipality, external_key=case.service_slug[:100]).first()
    if service is None or case.decided_at is None:
        return
    from dikom.analytics.figures.service import record_processing

    days = (case.decided_at - case.opened_at).total_seconds() / 86400
    try:
        record_processing(case.municipality, service, case.decided_at, round(max(days, 0), 3), case.media_breaks)
    except Exception:
        logger.exception("cases: processing figures of %s could not be recorded", case.reference)


def close_case(case: Case, by: Any) -> Case:
    """Close a decided case; its file goes to the e-file system."""
    with transaction.atomic():
        case = _locked(case)
        if case.status != Case.Status.DECIDED:
            raise CaseActionError(_("Only decided cases can be closed."))
        _bump(case, status=Case.Status.CLOSED, closed_at=timezone.now(), efile_status=Case.EfileStatus.PENDING)
        record_event(case, "closed", _("Case closed."), actor=by)
        case_pk = case.pk
        transaction.on_commit(lambda: _enqueue_efile(case_pk))
    return case


# --- E-file transfer retry (staff) ----------------------------------------------------


def retry_efile_transfer(case: Case, by: Any) -> Case:
    """Send a closed case's file to the e-file system again after a failed transfer."""
    with transaction.atomic():
        case = _locked(case)
        if case.status != Case.Status.CLOSED:
            raise CaseActionError(_("Only closed cases are transferred to the e-file."))
        if case.efile_status in {Case.EfileStatus.TRANSFERRED, Case.EfileStatus.PENDING, Case.EfileStatus.RETRYING}:
            raise CaseActionError(_("The transfer to the e-file is not in a failed state; nothing to retry."))
        _bump(case, efile_status=Case.EfileStatus.PENDING, efile_error="")
        record_event(case, "efile_retry", _("Transfer to the e-file started again."), actor=by)
        case_pk = case.pk
        transaction.on_commit(lambda: _enqueue_efile(case_pk))
    return case
