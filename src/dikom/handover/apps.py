from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandoverConfig(AppConfig):
    name = "dikom.handover"
    label = "handover"
    verbose_name = _("Hand-over to the back office")

    def ready(self) -> None:
        from dikom.handover.receivers import on_application_submitted
        from dikom.lib import periodic
        from dikom.portal.models import Application
        from dikom.portal.signals import application_submitted

        periodic.register("handover.resume", "dikom.handover.tasks.resume_due_deliveries", every_seconds=300)
        application_submitted.connect(
            on_application_submitted, sender=Application, dispatch_uid="dikom.handover.create_deliveries"
        )
