"""Running a city's rules for one event of one case, and the dry run on past cases.

:func:`run` is registered in ``dikom.cases.tasks.RULE_RUNNERS``; the
``run_rules`` background task calls it after a case was submitted, a task
completed, a deadline passed or a payment arrived.

Every rule runs in its own transaction, which locks the case, changes it
through ``dikom.cases.actions`` and writes the :class:`RuleExecution` row:
all of it or nothing. The row's key (rule, case, trigger, occurrence) is
unique among final executions, so a repeated task does not run a rule twice
for the same event. An unexpected error (a crash, a database error, a webhook
that may work later) rolls the rule back, is logged as a failed attempt, and
is raised at the end so the task is retried; a refusal (a rule that may not do
what it says, e.g. decide a service that is not fully rule-based) is final and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.cases.actions import CaseActionError, record_event
from dikom.cases.automation import applying, planning
from dikom.cases.automation.models import Rule, RuleExecution, Trigger
from dikom.cases.automation.webhook import DeliveryError
from dikom.cases.models import Case, CaseEvent, Task

logger = logging.getLogger(__name__)

#: A rule runs at most this often for one case (guards against a rule that keeps re-triggering itself).
MAX_EXECUTIONS_PER_CASE = 50
DRY_RUN_MAX_CASES = 200
DRY_RUN_MAX_DAYS = 365
TASK_TRIGGERS = {Trigger.TASK_COMPLETED, Trigger.DEADLINE_PASSED}


class RuleFailed(Exception):
    """At least one rule failed in a way that may work on the next attempt."""


def occurrence_for(case: Case, trigger: str, task: Task | None) -> str:
    """Which event of ``trigger`` this is; the same event gives the same value every time."""
    if task is not None:
        return f"task:{task.pk}"
    if trigger == Trigger.SUBMITTED:
        return "case"
    if trigger == Trigger.PAYMENT_RECEIVED:
        payment = paid_payment(case)
        return f"payment:{payment.pk}" if payment is not None else "payment"
    if trigger == Trigger.DEADLINE_PASSED:
        last = CaseEvent.objects.filter(case=case, kind="timer_fired").order_by("-pk").values_list("pk", flat=True)
        return f"timer:{last.first() or 0}"
    return trigger


def paid_payment(case: Case) -> Any:
    """The paid attempt of the payment of the case's application (a retry after a failure is another attempt)."""
    from dikom.payments.models import Payment, PaymentStatus
    from dikom.portal.actions import paid_attempt

    paid = paid_attempt(case.application)
    if paid is not None:
        return paid
    # A payment made with the application's UUID as its reference (before readable references).
    return (
        Payment.objects.filter(
            municipality_id=case.municipality_id, reference=str(case.application.uuid), status=PaymentStatus.PAID
        )
        .order_by("pk")
        .first()
    )


def rules_for(case: Case, trigger: str, task: Task | None) -> list[Rule]:
    candidates = (
        Rule.objects.filter(municipality_id=case.municipality_id, trigger=trigger, active=True)
        .filter(Q(service_slug="") | Q(service_slug=case.service_slug))
        .order_by("name", "pk")
    )
    return [rule for rule in candidates if planning.matches_filters(rule, case, task)]


def run(case: Case, trigger: str, task_pk: int | None) -> None:
    """The runner of ``dikom.cases.tasks.run_rules``: every matching active rule of the city, in name order."""
    if trigger not in Trigger.values:
        return
    task = Task.objects.filter(pk=task_pk, case=case).first() if task_pk else None
    case = Case.objects.select_related("municipality", "application").get(pk=case.pk)
    occurrence = occurrence_for(case, trigger, task)
    failure: Exception | None = None
    for rule in rules_for(case, trigger, task):
        try:
            execute(rule, case.pk, trigger, occurrence, task.pk if task else None)
        except RuleFailed as error:
            failure = error
    if failure is not None:
        raise failure


def _key(rule: Rule, case_pk: int, trigger: str, occurrence: str) -> dict[str, Any]:
    return {"rule": rule, "case_id": case_pk, "trigger": trigger, "occurrence": occurrence, "dry_run": False}


def execute(rule: Rule, case_pk: int, trigger: str, occurrence: str, task_pk: int | None) -> RuleExecution | None:
    """Run one rule for one event, all or nothing; None when it already ran for this event."""
    key = _key(rule, case_pk, trigger, occurrence)
    if RuleExecution.objects.filter(**key, final=True).exists():
        return None
    attempt = RuleExecution.objects.filter(**key).count() + 1
    started = timezone.now()
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case_pk).values_list("pk", flat=True).get()
            if RuleExecution.objects.filter(**key, final=True).exists():
                return None  # another worker ran it while this one waited for the lock
            return _execute_locked(rule, case_pk, trigger, occurrence, task_pk, attempt, started)
    except IntegrityError:
        if RuleExecution.objects.filter(**key, final=True).exists():
            return None  # a concurrent worker committed the same event first
        return _failed(rule, case_pk, trigger, occurrence, attempt, started, _("Database conflict."), retry=True)
    except DeliveryError as error:
        return _failed(rule, case_pk, trigger, occurrence, attempt, started, error.message, retry=error.retry)
    except Exception as error:
        logger.exception("automation: rule %s failed on case %s (attempt %d)", rule.pk, case_pk, attempt)
        return _failed(rule, case_pk, trigger, occurrence, attempt, started, f"{error.__class__.__name__}: {error}")


def _execute_locked(
    rule: Rule, case_pk: int, trigger: str, occurrence: str, task_pk: int | None, attempt: int, started: dt.datetime
) -> RuleExecution:
    case = Case.objects.select_related("municipality", "application__version", "org_unit").get(pk=case_pk)
    task = Task.objects.filter(pk=task_pk).first() if task_pk else None
    row: dict[str, Any] = {
        "rule": rule,
        "case": case,
        "trigger": trigger,
        "occurrence": occurrence[:100],
        "attempt": attempt,
        "started_at": started,
    }
    done_before = RuleExecution.objects.filter(rule=rule, case=case, dry_run=False, final=True, matched=True)
    if done_before.count() >= MAX_EXECUTIONS_PER_CASE:
        return _row(row, RuleExecution.Outcome.REFUSED, error=_("The rule has run too often for this case."))
    plan = planning.plan(rule, case, trigger, task)
    if plan.condition_error:
        return _row(row, RuleExecution.Outcome.FAILED, error=plan.condition_error)
    if not plan.matched:
        return _row(row, RuleExecution.Outcome.NOT_MATCHED)
    refusal = plan.refusal
    if refusal is not None:
        return _row(row, RuleExecution.Outcome.REFUSED, matched=True, actions=plan.rows(), error=refusal.text)
    try:
        with transaction.atomic():
            performed = applying.apply(rule, case.pk, trigger, occurrence, plan)
            summary = "; ".join(r["text"] for r in performed if r["outcome"] == "done")
            record_event(
                case,
                "rule_applied",
                _("Rule “%(rule)s” applied: %(summary)s") % {"rule": rule.name, "summary": summary},
                automatic_label=rule.label,
                data={"rule": str(rule.uuid), "trigger": trigger, "occurrence": occurrence},
            )
    except CaseActionError as error:
        # The case changed since the plan (or an action refused): nothing of this rule was kept.
        return _row(row, RuleExecution.Outcome.REFUSED, matched=True, actions=plan.rows(), error=str(error))
    except DeliveryError as error:
        if error.retry:
            raise
        return _row(row, RuleExecution.Outcome.FAILED, matched=True, actions=plan.rows(), error=error.message)
    return _row(row, RuleExecution.Outcome.DONE, matched=True, actions=performed)


def _row(
    row: dict[str, Any], outcome: str, *, matched: bool = False, actions: list[Any] | None = None, error: str = ""
) -> RuleExecution:
    return RuleExecution.objects.create(
        **row,
        outcome=outcome,
        matched=matched,
        actions_performed=actions or [],
        error=error[:5000],
        final=True,
        finished_at=timezone.now(),
    )


def _failed(
    rule: Rule,
    case_pk: int,
    trigger: str,
    occurrence: str,
    attempt: int,
    started: dt.datetime,
    error: str,
    *,
    retry: bool = True,
) -> RuleExecution:
    """Log a failed attempt (nothing of it was kept); raise RuleFailed so the worker tries again."""
    final = not retry or attempt >= settings.DIKOM_TASK_MAX_ATTEMPTS
    if final and retry:
        error = _("%(error)s — given up after %(n)d attempts.") % {"error": error, "n": attempt}
    execution = RuleExecution.objects.create(
        rule=rule,
        case_id=case_pk,
        trigger=trigger,
        occurrence=occurrence[:100],
        matched=True,
        outcome=RuleExecution.Outcome.FAILED,
        error=error[:5000],
        final=final,
        attempt=attempt,
        started_at=started,
        finished_at=timezone.now(),
    )
    if not final:
        raise RuleFailed(f"rule {rule.pk} on case {case_pk}: {error}")
    return execution


# --- Dry run ------------------------------------------------------------------------------------


@dataclass
class DryRunRow:
    case: Case
    task: Task | None
    applicable: bool
    plan: planning.Plan | None

    @property
    def matched(self) -> bool:
        return bool(self.plan and self.plan.matched)


def sample_task(case: Case, rule: Rule) -> Task | None:
    """For task triggers: the task of a past case the rule would most likely have seen."""
    tasks = list(case.tasks.all())
    if rule.task_filter:
        tasks = planning.tasks_named(tasks, rule.task_filter)
    if rule.trigger == Trigger.TASK_COMPLETED:
        done = [t for t in tasks if t.status == Task.Status.DONE]
        return max(done, key=lambda t: (t.completed_at or t.created_at, t.pk), default=None)
    due = [t for t in tasks if t.due_at is not None]
    return max(due, key=lambda t: (t.due_at, t.pk), default=None)


def dry_run(rule: Rule, *, days: int = 90, limit: int = DRY_RUN_MAX_CASES, record: bool = False) -> list[DryRunRow]:
    """What ``rule`` (saved or being edited) would have done for the city's cases of the last ``days`` days.

    Changes no case. With ``record`` (a saved rule) the results are kept in the log as dry-run executions.
    """
    days = max(1, min(days, DRY_RUN_MAX_DAYS))
    since = timezone.now() - dt.timedelta(days=days)
    cases = Case.objects.filter(municipality_id=rule.municipality_id, opened_at__gte=since)
    if rule.service_slug:
        cases = cases.filter(service_slug=rule.service_slug)
    chosen = cases.select_related("municipality", "application__version", "org_unit").order_by("-opened_at", "-pk")
    rows = []
    for case in chosen[: max(1, min(limit, DRY_RUN_MAX_CASES))]:
        task = sample_task(case, rule) if rule.trigger in TASK_TRIGGERS else None
        if rule.task_filter and task is None:
            rows.append(DryRunRow(case, None, applicable=False, plan=None))
            continue
        rows.append(DryRunRow(case, task, applicable=True, plan=planning.plan(rule, case, rule.trigger, task)))
    if record and rule.pk:
        now = timezone.now()
        RuleExecution.objects.bulk_create(
            [
                RuleExecution(
                    rule=rule,
                    case=row.case,
                    trigger=rule.trigger,
                    occurrence=f"dry-run:{now.isoformat()}",
                    dry_run=True,
                    matched=row.matched,
                    outcome=_dry_outcome(row),
                    actions_performed=row.plan.rows() if row.plan and row.plan.matched else [],
                    error=(row.plan.condition_error or (row.plan.refusal.text if row.plan.refusal else ""))
                    if row.plan
                    else _("The case has no such task."),
                    started_at=now,
                    finished_at=now,
                )
                for row in rows
            ]
        )
    return rows


def _dry_outcome(row: DryRunRow) -> str:
    if row.plan is None or not row.plan.matched:
        return (
            RuleExecution.Outcome.FAILED if row.plan and row.plan.condition_error else RuleExecution.Outcome.NOT_MATCHED
        )
    if row.plan.refusal is not None:
        return RuleExecution.Outcome.REFUSED
    return RuleExecution.Outcome.DONE
