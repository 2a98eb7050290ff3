"""Background work of the automation: "deadline passed" for overdue tasks."""

from __future__ import annotations

import logging

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
