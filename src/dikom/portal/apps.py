from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "dikom.portal"
    verbose_name = _("Citizen portal")

    def ready(self) -> None:
        from dikom.payments.signals import payment_status_changed
        from dikom.portal.events import on_payment_status_changed

        payment_status_changed.connect(on_payment_status_changed, dispatch_uid="portal-payment-events")
