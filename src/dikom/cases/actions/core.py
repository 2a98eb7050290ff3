"""What every case action shares: the errors it raises, the history entry it writes (:func:`record_event`),
the row lock and version bump of the case, and the work it hands on once the transaction has committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dikom.audit import actions as audit
from dikom.cases.models import Case, CaseEvent, CaseMessage
from dikom.cases.webhooks import actions as webhooks


class CaseActionError(Exception):
    """The action is not possible in the case's current state; the message is safe to show."""


class StaleTask(CaseActionError):
    """Someone else changed the task since the page was loaded."""


def _label(actor: Any, automatic_label: str = "") -> str:
    if automatic_label:
        return automatic_label
    if actor is None:
        return "system"
    return actor.get_full_name() or actor.get_username()


def record_event(
    case: Case,
    kind: str,
    text: str,
    *,
    actor: Any = None,
    automatic_label: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append to the case history and the audit log (both append-only)."""
    event = CaseEvent.objects.create(
        case=case,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=_label(actor, automatic_label)[:200],
        kind=kind,
        text=text[:500],
        data=data or {},
        automatic=bool(automatic_label),
    )
    audit.record(
        f"case.{kind}",
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        municipality=case.municipality,
        obj=case,
        changes={
            "reference": case.reference,
            "text": text[:200],
            **({"rule": automatic_label} if automatic_label else {}),
        },
        source="automation" if automatic_label else None,
        # A specialist procedure acting through the case API: recorded as an API call with its key.
        api_key=getattr(actor, "api_key", None),
    )
    return event


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().select_related("municipality", "application").get(pk=case.pk)


def _bump(case: Case, **fields: Any) -> None:
    before = case.status
    fields["lock_version"] = F("lock_version") + 1
    fields["updated_at"] = timezone.now()
    Case.objects.filter(pk=case.pk).update(**fields)
    case.refresh_from_db()
    if case.status != before:
        webhooks.emit(case, "case.status_changed", {"status": {"from": before, "to": case.status}})


def _notify_citizen(case: Case, message: CaseMessage) -> None:
    """Tell the citizen by e-mail (sent by a retrying task once the transaction has committed)."""
    message_pk = message.pk

    def enqueue() -> None:
        from dikom.cases.tasks import notify_citizen

        notify_citizen.enqueue(message_pk)

    transaction.on_commit(enqueue)


def _enqueue_efile(case_pk: int) -> None:
    from dikom.cases.tasks import transfer_case_file

    transfer_case_file.enqueue(case_pk)


def on_commit_rules(case: Case, trigger: str, **context: Any) -> None:
    """Run the city's automation rules for ``trigger`` once the transaction has committed."""
    case_pk = case.pk

    def run() -> None:
        from dikom.cases.tasks import run_rules

        run_rules.enqueue(case_pk, trigger, context.get("task_id"))

    transaction.on_commit(run)
