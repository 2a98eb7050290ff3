"""Background work of case processing. Tasks take primitive ids and are enqueued on commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dikom.cases.models import Case
from dikom.lib.tasks import retrying_task

logger = logging.getLogger(__name__)

#: Runners of the city's automation rules: runner(case, trigger, task_id). The
#: automation (``dikom.cases.automation``) registers itself here when its app loads.
RULE_RUNNERS: list[Callable[[Case, str, int | None], Any]] = []


@retrying_task(backoff_seconds=30)
def run_rules(case_pk: int, trigger: str, task_pk: int | None = None) -> None:
    """Run the automation rules for one trigger of one case (retried as a whole if it fails)."""
    case = Case.objects.select_related("municipality").get(pk=case_pk)
    for runner in RULE_RUNNERS:
        runner(case, trigger, task_pk)


@retrying_task(backoff_seconds=60)
def transfer_case_file(case_pk: int) -> None:
    """Export a closed case as xdomea and hand it to the e-file connector; the state shows on the case."""
    from dikom.cases import efile_export
    from dikom.cases.efile import service as efile

    case = Case.objects.select_related("municipality", "org_unit").get(pk=case_pk)
    if case.efile_status == Case.EfileStatus.TRANSFERRED:
        return
    if not efile.is_enabled():
        Case.objects.filter(pk=case_pk).update(efile_status="", efile_error="no e-file connector configured")
        return
    Case.objects.filter(pk=case_pk).update(efile_attempts=case.efile_attempts + 1)
    try:
        package = efile_export.package_for(case)
    except efile.ExportError as error:
        Case.objects.filter(pk=case_pk).update(efile_status=Case.EfileStatus.FAILED, efile_error=str(error)[:500])
        return
    result = efile.transfer(package)
    if result.ok:
        Case.objects.filter(pk=case_pk).update(
            efile_status=Case.EfileStatus.TRANSFERRED,
            efile_reference=result.external_reference[:200],
            efile_error="",
        )
        from dikom.cases.actions import record_event

        with transaction.atomic():
            record_event(case, "efile_transferred", f"E-Akte: übertragen ({result.external_reference[:200]})")
        return
    status = Case.EfileStatus.RETRYING if result.retryable else Case.EfileStatus.FAILED
    Case.objects.filter(pk=case_pk).update(efile_status=status, efile_error=result.message[:500])
    if case.efile_attempts == 0:  # the first failed transfer of this case counts once for the service
        record_transmission_error(case)
    if result.retryable:
        raise efile.RetryableTransferError(result)


@retrying_task(backoff_seconds=60)
def process_case_clock() -> dict[str, int]:
    """Fire due workflow timers (also those due while the server was down) and send overdue reminders."""
    from dikom.cases import actions
    from dikom.cases.receivers import open_missing_cases

    opened = open_missing_cases()
    fired = 0
    # Only processes that define a timer can have one due. Filtering the others out in the
    # database spares each of them a locked transaction (on SQLite: the one write lock, which
    # the portal's writes then wait for) and a BPMN evaluation, every minute (issue 21: with
    # 10 000 open cases this job held SQLite's write lock nearly all the time).
    # A process that calls the library may have its timers in a called process (part of the case's state).
    with_timers = Case.objects.filter(
        Q(process_xml__contains="timerEventDefinition") | Q(process_xml__contains="callActivity"),
        status__in=[Case.Status.OPEN, Case.Status.WAITING],
    )
    for case in with_timers.only("pk").iterator(chunk_size=500):
        try:
            if actions.process_due_timers(case, timezone.now()):
                fired += 1
        except Exception:
            logger.exception("cases: timers of case %s failed", case.pk)
    reminded = actions.send_reminders()
    return {"opened": opened, "timers": fired, "reminders": reminded}


def citizen_address(case: Case) -> str:
    """The citizen's e-mail: the account's, else the e-mail answer of the application."""
    application = case.application
    citizen = application.citizen
    if citizen is not None and citizen.email:
        return str(citizen.email)
    answers = (application.submission_data or {}).get("answers") or {}
    for step in answers.values():
        if isinstance(step, dict) and isinstance(step.get("email"), str):
            return str(step["email"])
    return ""


@retrying_task(backoff_seconds=60)
def notify_citizen(message_pk: int) -> int:
    """E-mail about a message to the citizen.

    With an account the message stays in the portal mailbox and the e-mail only
    points there. Without an account (the portal cannot show them anything) the
    e-mail carries the message itself, the decision letter as PDF attachment and
    the responsible unit's address for answers.
    """
    from django.core.mail import EmailMessage
    from django.utils import translation
    from django.utils.translation import gettext as _

    from dikom.cases.mail import service as mail_service
    from dikom.cases.models import CaseMessage

    message = CaseMessage.objects.select_related("case__application__citizen", "case__municipality",
                                                 "case__org_unit", "document").get(pk=message_pk)  # fmt: skip
    case = message.case
    address = citizen_address(case)
    if not address:
        return 0
    reply_to = mail_service.reply_address(case)
    with translation.override("de"):
        values = {"city": case.municipality.name, "ref": case.reference, "service": case.service_title,
                  "subject": message.subject}  # fmt: skip
        subject = _("New message about your application %(ref)s") % values
        if case.application.citizen_id is not None:
            body = (
                _(
                    "%(city)s has sent you a message about your application %(ref)s (%(service)s): “%(subject)s”.\n"
                    "Please read it in the portal under “My applications”."
                )
                % values
            )
            attachments: list[tuple[str, bytes, str]] = []
        else:
            # With inbound e-mail the answer may go to the case's reply address (it reaches the case file).
            contact = reply_to or (case.org_unit.email if case.org_unit and case.org_unit.email else "")
            body = _("%(city)s has sent you a message about your application %(ref)s (%(service)s):") % values
            body += f"\n\n{message.subject}\n\n{message.body}\n"
            if message.kind == CaseMessage.Kind.INFORMATION_REQUEST:
                body += "\n" + (
                    _(
                        "You applied without a user account, so please answer by e-mail to %(contact)s "
                        "and quote the reference %(ref)s."
                    )
                    % {"contact": contact or case.municipality.name, "ref": case.reference}
                )
            attachments = []
            if message.document is not None:
                with message.document.file.open("rb") as handle:
                    attachments.append((message.document.file_name, handle.read(), message.document.content_type))
    email = EmailMessage(
        subject=subject, body=body, to=[address], attachments=attachments, reply_to=[reply_to] if reply_to else None
    )
    return email.send()


def record_transmission_error(case: Case) -> None:
    """A failed transmission of the case file counts as a transmission error of the service in eGovSAD."""
    from dikom.analytics.service import record_usage_events
    from dikom.portal.events import ensure_service, service_key

    application = case.application
    try:
        ensure_service(application)
        record_usage_events(
            case.municipality,
            [{"type": "transmission_error", "service": service_key(application),
              "occurred_at": timezone.now().isoformat(), "channel": "web"}],
            source="portal",
        )  # fmt: skip
    except Exception:
        logger.exception("cases: transmission error of %s could not be recorded", case.reference)
