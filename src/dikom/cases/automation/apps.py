from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "dikom.cases.automation"
    label = "cases_automation"
    verbose_name = _("Case automation rules")

    def ready(self) -> None:
        from dikom.cases import tasks as case_tasks
        from dikom.cases.automation import receivers, runner
        from dikom.lib import periodic
        from dikom.payments.signals import payment_status_changed

        if runner.run not in case_tasks.RULE_RUNNERS:
            case_tasks.RULE_RUNNERS.append(runner.run)
        payment_status_changed.connect(receivers.on_payment_status_changed, dispatch_uid="cases-automation-payment")
        periodic.register(
            "cases.automation.deadlines", "dikom.cases.automation.tasks.fire_overdue_deadlines", every_seconds=300
        )
        periodic.register(
            "cases.automation.resume",
            "dikom.cases.automation.tasks.resume_interrupted_rule_runs",
            every_seconds=300,
        )
