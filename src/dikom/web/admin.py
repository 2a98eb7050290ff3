"""German admin pages of the two-factor devices.

django-otp names its fieldsets, fields, help texts, list columns and filters in
plain English ("Identity", "State", "created at", ...), not marked for
translation; the platform administration shows them translated.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.urls import reverse
from django.utils.html import format_html
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


# Read-only fields, list columns and list filters take their titles from the model field, not from the
# form; for these the admin shows methods and filters with the translated titles instead.
TIMESTAMPS = {"created_at": "created_at_shown", "last_used_at": "last_used_at_shown"}


def _titled_filter(base: type, field_name: str) -> type:
    label = FIELD_LABELS[field_name][0]

    class TitledFilter(base):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.title = label

    return TitledFilter


class TranslatedColumnsMixin:
    """The device lists' columns, filters and search hint and the read-only timestamps, titled in German.

    django-otp leaves them English (its fields' names and help texts are not marked for translation).
    """

    search_help_text = _("Search by user name or e-mail address")

    def get_list_display(self, request: Any) -> Any:
        columns = super().get_list_display(request)  # type: ignore[misc]
        renamed = {"confirmed": "confirmed_column", **TIMESTAMPS}
        return [renamed.get(column, column) if isinstance(column, str) else column for column in columns]

    def get_list_filter(self, request: Any) -> Any:
        filters = super().get_list_filter(request)  # type: ignore[misc]
        return [
            (
                name,
                _titled_filter(
                    admin.BooleanFieldListFilter if name == "confirmed" else admin.DateFieldListFilter, name
                ),
            )
            if isinstance(name, str) and name in FIELD_LABELS
            else name
            for name in filters
        ]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)  # type: ignore[misc]
        return [TIMESTAMPS.get(name, name) if isinstance(name, str) else name for name in fields]

    def get_fieldsets(self, request: Any, obj: Any = None) -> list[Any]:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        return [
            (
                FIELDSET_TITLES.get(title, title) if title else title,
                {**options, "fields": [TIMESTAMPS.get(name, name) for name in options.get("fields", [])]},
            )
            for title, options in fieldsets
        ]

    @admin.display(description=_("confirmed"), boolean=True, ordering="confirmed")
    def confirmed_column(self, obj: Any) -> bool:
        return bool(obj.confirmed)

    @admin.display(description=_("created at"), ordering="created_at", empty_value="–")
    def created_at_shown(self, obj: Any) -> str:
        return display_for_value(obj.created_at, "–")

    @admin.display(description=_("last used at"), ordering="last_used_at", empty_value="–")
    def last_used_at_shown(self, obj: Any) -> str:
        return display_for_value(obj.last_used_at, "–")


class GermanTOTPDeviceAdmin(TranslatedColumnsMixin, TranslatedFieldsMixin, TOTPDeviceAdmin):
    @admin.display(description=_("QR code"))
    def qrcode_link(self, device: Any) -> str:
        if device.pk is None:
            return ""
        href = reverse("admin:otp_totp_totpdevice_config", kwargs={"pk": device.pk})
        return format_html('<a href="{}">{}</a>', href, _("Show QR code"))


class GermanStaticTokenInline(TranslatedFieldsMixin, StaticTokenInline):
    pass


class GermanStaticDeviceAdmin(TranslatedColumnsMixin, TranslatedFieldsMixin, StaticDeviceAdmin):
    inlines = [GermanStaticTokenInline]


for model, model_admin in ((TOTPDevice, GermanTOTPDeviceAdmin), (StaticDevice, GermanStaticDeviceAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
