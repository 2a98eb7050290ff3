"""German for the parts Django and third-party apps leave English.

``install()`` runs once at start-up (``WebConfig.ready``):

- every select's empty choice reads "Bitte wählen" (English: "Please choose")
  instead of Django's "---------": model fields with choices, foreign keys in
  model forms and the admin (including its action select) all take their
  empty choice from ``BLANK_CHOICE_DASH`` or ``ModelChoiceField``'s default;
- the task database app gets a translatable name.

``THIRD_PARTY_STRINGS`` names strings that third-party apps mark for
translation without shipping a German catalogue (django-tasks) or whose
German catalogue leaves them empty (Django's admin and auth); our catalogue
comes first (``LOCALE_PATHS``), so its translations fill the gaps. Listing them
here lets ``make messages`` keep them in our catalogue, where their German
translation lives.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

EMPTY_CHOICE = _("Please choose")

THIRD_PARTY_STRINGS = [
    # django_tasks.base.TaskResultStatus
    pgettext_lazy("Task", "Ready"),
    pgettext_lazy("Task", "Running"),
    pgettext_lazy("Task", "Failed"),
    pgettext_lazy("Task", "Successful"),
    # django_tasks_db.models.DBTaskResult
    _("Task Result"),
    _("Task Results"),
    _("enqueued at"),
    _("started at"),
    _("finished at"),
    _("args kwargs"),
    _("priority"),
    _("task path"),
    _("worker id"),
    _("queue name"),
    _("backend name"),
    _("run after"),
    _("return value"),
    _("exception class path"),
    _("traceback"),
    # Django 5.2 admin and auth: strings its German catalogue leaves untranslated (the user and
    # password pages of the platform administration), and the sessions app's name.
    _("After you’ve created a user, you’ll be able to edit more user options."),
    _("This action will <strong>enable</strong> password-based authentication for this user."),
    _("Disable password-based authentication"),
    _("Enable password-based authentication"),
    _("In case you’ve forgotten, you are:"),
    _("Conflicting form data submitted. Please try again."),
    _("Password-based authentication was disabled."),
    _("Set password: %s"),
    _("Reset password"),
    _("Set password"),
    _(
        "Whether the user will be able to authenticate using a password or not. If disabled, they may still be "
        "able to authenticate using other backends, such as Single Sign-On or LDAP."
    ),
    _("Password-based authentication"),
    _("Enabled"),
    _("Disabled"),
    _("Raw passwords are not stored, so there is no way to see the user’s password."),
    _("Enable password-based authentication for this user by setting a password."),
    _("%(model)s instance with %(field)s %(value)r is not a valid choice."),
    _("Sessions"),
]


def install() -> None:
    """Put the German empty choice and app names in place (idempotent)."""
    from django.apps import apps
    from django.db.models import fields
    from django.forms import models as form_models

    # Django passes this very list object around as a default argument, so it is changed in place.
    fields.BLANK_CHOICE_DASH[:] = [("", EMPTY_CHOICE)]  # type: ignore[list-item]  # lazy, rendered per request
    defaults = form_models.ModelChoiceField.__init__.__kwdefaults__
    if defaults is not None and defaults.get("empty_label") == "---------":
        defaults["empty_label"] = EMPTY_CHOICE
    # Model and app names only: they are no part of migrations (fields would be).
    for app_label, app_name, models in (
        (
            "otp_totp",
            _("Two-factor authentication: authenticator apps"),
            {"totpdevice": (_("TOTP device"), _("TOTP devices"))},
        ),
        (
            "otp_static",
            _("Two-factor authentication: backup codes"),
            {
                "staticdevice": (_("backup code set"), _("backup code sets")),
                "statictoken": (_("backup code"), _("backup codes")),
            },
        ),
    ):
        if not apps.is_installed(f"django_otp.plugins.{app_label}"):
            continue
        config = apps.get_app_config(app_label)
        config.verbose_name = app_name
        for model_name, (singular, plural) in models.items():
            meta = config.get_model(model_name)._meta
            meta.verbose_name, meta.verbose_name_plural = singular, plural
    if apps.is_installed("django_tasks_db"):
        apps.get_app_config("django_tasks_database").verbose_name = _("Background tasks")
