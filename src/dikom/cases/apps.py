from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "dikom.cases"
    label = "cases"
    verbose_name = _("Case processing")

    def ready(self) -> None:
        from dikom.cases import receivers, scopes, workflow  # noqa: F401  (scopes registers the API key scopes)
        from dikom.cases.actions import evaluate_business_rule, remind_open_tasks
        from dikom.lib import periodic
        from dikom.portal.signals import application_submitted

        application_submitted.connect(receivers.open_case_for_submission, dispatch_uid="cases-open-case")
        workflow.SERVICE_TASKS.setdefault("notify.reminder", remind_open_tasks)
        workflow.SERVICE_TASKS.setdefault("dmn:", evaluate_business_rule)
        periodic.register("cases.clock", "dikom.cases.tasks.process_case_clock", every_seconds=60)
        periodic.register("cases.webhooks", "dikom.cases.webhooks.tasks.resume_due_deliveries", every_seconds=300)
        receivers.connect_webhook_events()
        from dikom.cases import platform_messages

        platform_messages.connect()
