"""German section titles for the admin pages of the two-factor devices.

django-otp names its fieldsets in plain English ("Identity", "State", ...),
not marked for translation; the platform administration shows them translated.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

FIELDSET_TITLES = {
    "Identity": pgettext_lazy("two-factor device", "Identity"),
    "Timestamps": _("Timestamps"),
    "Configuration": _("Configuration"),
    "State": pgettext_lazy("two-factor device", "State"),
    "Throttling": _("Throttling"),
    "Tokens": _("Tokens"),
}


def translated(fieldsets: Any) -> list[Any]:
    return [(FIELDSET_TITLES.get(title, title) if title else title, options) for title, options in fieldsets]


class GermanTOTPDeviceAdmin(TOTPDeviceAdmin):
    def get_fieldsets(self, request: Any, obj: Any = None) -> list[Any]:
        return translated(super().get_fieldsets(request, obj))


class GermanStaticDeviceAdmin(StaticDeviceAdmin):
    def get_fieldsets(self, request: Any, obj: Any = None) -> list[Any]:
        return translated(super().get_fieldsets(request, obj))


for model, model_admin in ((TOTPDevice, GermanTOTPDeviceAdmin), (StaticDevice, GermanStaticDeviceAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
