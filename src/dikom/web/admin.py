"""German section titles for the admin pages of the two-factor devices.

django-otp names its fieldsets in plain English ("Identity", "State", ...),
not marked for translation; the platform administration shows them translated.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin, StaticTokenInline
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


# django-otp's field names and help texts are not marked for translation either; the
# admin forms show these instead (the fields themselves stay as they are, so that no
# migration of django-otp's models results).
FIELD_LABELS = {
    "user": (_("user"), _("The user this device belongs to.")),
    "name": (_("name"), _("A name for this device that people can read.")),
    "confirmed": (_("confirmed"), _("Is this device ready for use?")),
    "created_at": (_("created at"), _("When this device was set up.")),
    "last_used_at": (_("last used at"), _("When this device was last used.")),
    "key": (_("key"), _("A hex-encoded secret key of up to 40 bytes.")),
    "step": (_("step"), _("The time step in seconds.")),
    "t0": (_("t0"), _("The Unix time at which counting steps begins.")),
    "digits": (_("digits"), _("The number of digits of a code.")),
    "tolerance": (_("tolerance"), _("The number of time steps before or after now that are accepted.")),
    "drift": (_("drift"), _("The number of time steps the device is known to deviate from the server's clock.")),
    "throttling_failure_timestamp": (
        _("last failed attempt"),
        _("When the last check failed; empty when it succeeded."),
    ),
    "throttling_failure_count": (_("failed attempts"), _("The number of failed attempts in a row.")),
    "token": (_("code"), None),
}


class TranslatedFieldsMixin:
    def formfield_for_dbfield(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and db_field.name in FIELD_LABELS:
            label, help_text = FIELD_LABELS[db_field.name]
            formfield.label = label
            formfield.help_text = help_text or ""
        return formfield


class TranslatedColumnsMixin:
    """The device lists' "confirmed" column, whose header django-otp leaves in English."""

    def get_list_display(self, request: Any) -> Any:
        columns = super().get_list_display(request)  # type: ignore[misc]
        return ["confirmed_column" if column == "confirmed" else column for column in columns]

    @admin.display(description=_("confirmed"), boolean=True, ordering="confirmed")
    def confirmed_column(self, obj: Any) -> bool:
        return bool(obj.confirmed)


def translated(fieldsets: Any) -> list[Any]:
    return [(FIELDSET_TITLES.get(title, title) if title else title, options) for title, options in fieldsets]


class GermanTOTPDeviceAdmin(TranslatedColumnsMixin, TranslatedFieldsMixin, TOTPDeviceAdmin):
    def get_fieldsets(self, request: Any, obj: Any = None) -> list[Any]:
        return translated(super().get_fieldsets(request, obj))


class GermanStaticTokenInline(TranslatedFieldsMixin, StaticTokenInline):
    pass


class GermanStaticDeviceAdmin(TranslatedColumnsMixin, TranslatedFieldsMixin, StaticDeviceAdmin):
    inlines = [GermanStaticTokenInline]

    def get_fieldsets(self, request: Any, obj: Any = None) -> list[Any]:
        return translated(super().get_fieldsets(request, obj))


for model, model_admin in ((TOTPDevice, GermanTOTPDeviceAdmin), (StaticDevice, GermanStaticDeviceAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
