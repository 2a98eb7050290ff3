"""Corrections of Django admin widgets (installed by ``PlatformAdminConfig.ready``)."""

from __future__ import annotations

from django.contrib.admin.widgets import AdminSplitDateTime


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time inputs, each with a ``<label>`` (axe: every form input has a name)."""

    template_name = "web/widgets/split_datetime.html"


def install() -> None:
    """Make the labelled widget the admin's default for date-time fields (before any ModelAdmin exists)."""
    from django.contrib.admin import options
    from django.db import models

    options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.DateTimeField]["widget"] = LabelledSplitDateTime
