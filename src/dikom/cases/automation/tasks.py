"""Background work of the automation: "deadline passed" for overdue tasks."""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.utils import timezone

from dikom.cases.automation.models import Rule, RuleExecution, Trigger
from dikom.lib.tasks import retrying_task

logger = logging.getLogger(__name__)

#: Overdue tasks looked at per run; the rest follow on the next run (the job is idempotent).
BATCH = 500


@retrying_task(backoff_seconds=60)
def fire_overdue_deadlines() -> int:
    """Run the "deadline passed" rules once for every overdue open task (periodic; see apps.py).

    Idempotent: a rule that already ran for a task (a final execution with the
    occurrence ``task:<id>``) is not run again; a rule that failed is tried
    again on the next run.
    """
    from dikom.cases.automation import runner
    from dikom.cases.models import Case, Task

    cities = set(
        Rule.objects.filter(trigger=Trigger.DEADLINE_PASSED, active=True).values_list("municipality_id", flat=True)
    )
    if not cities:
        return 0
    overdue = (
        Task.objects.filter(
            status=Task.Status.OPEN,
            due_at__lt=timezone.now(),
            case__municipality_id__in=cities,
            case__status__in=[Case.Status.OPEN, Case.Status.WAITING],
        )
        .select_related("case", "case__municipality", "case__application")
        .order_by("due_at", "pk")
    )
    fired = 0
    for task in overdue[:BATCH]:
        rules = runner.rules_for(task.case, Trigger.DEADLINE_PASSED, task)
        done = set(
            RuleExecution.objects.filter(
                rule__in=rules,
                case=task.case,
                trigger=Trigger.DEADLINE_PASSED,
                occurrence=f"task:{task.pk}",
                dry_run=False,
                final=True,
            ).values_list("rule_id", flat=True)
        )
        if not [rule for rule in rules if rule.pk not in done]:
            continue
        try:
            runner.run(task.case, Trigger.DEADLINE_PASSED, task.pk)
        except runner.RuleFailed:
            logger.warning("automation: deadline rules for task %s failed; tried again on the next run", task.pk)
        fired += 1
    return fired


#: A rule run that has been "running" this long lost its worker (one run takes seconds; webhooks time out).
INTERRUPTED_AFTER = dt.timedelta(minutes=15)
RUN_RULES = "dikom.cases.tasks.run_rules"


@retrying_task(backoff_seconds=60)
def resume_interrupted_rule_runs() -> int:
    """Queue again the rule runs whose worker died mid-run (periodic; see apps.py).

    A killed worker leaves its task "running" in the database queue for ever;
    its transaction never committed, so the case is as before. The stale task
    is marked failed (the task results page shows why) and queued again with
    the same arguments; the execution key keeps rules that did finish from
    running twice.
    """
    from django.db import transaction
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from dikom.cases.tasks import run_rules

    now = timezone.now()
    stale = DBTaskResult.objects.filter(
        task_path=RUN_RULES, status=TaskResultStatus.RUNNING, started_at__lt=now - INTERRUPTED_AFTER
    ).order_by("started_at")
    resumed = 0
    for row in stale[:BATCH]:
        with transaction.atomic():
            claimed = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path="dikom.cases.automation.tasks.WorkerLost",
                traceback="The worker stopped while running the rules; queued again by resume_interrupted_rule_runs.",
            )
            if not claimed:
                continue
            arguments = row.args_kwargs or {}
            args, kwargs = list(arguments.get("args") or []), dict(arguments.get("kwargs") or {})
            transaction.on_commit(partial(run_rules.enqueue, *args, **kwargs))
        logger.warning("automation: rule run %s lost its worker; queued again", row.pk)
        resumed += 1
    return resumed
