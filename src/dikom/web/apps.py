from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "dikom.web"
    verbose_name = _("Web interface")

    def ready(self) -> None:
        from django.conf import settings

        from dikom.lib import periodic
        from dikom.web import german_everywhere, task_leases

        german_everywhere.install()
        task_leases.connect()
        # Run by the clock itself (not a task): it must work when every worker is busy or gone.
        periodic.register(
            "tasks.requeue_lost",
            "dikom.web.actions.requeue_lost_tasks",
            every_seconds=max(1, settings.DIKOM_TASK_LEASE_SECONDS // 2),
            in_clock=True,
        )
