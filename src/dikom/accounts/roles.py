"""Roles a user can hold in a municipality. Citizens hold none."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MUNICIPALITY_ADMIN = "municipality_admin", _("Municipality administrator")
    PROCESS_DESIGNER = "process_designer", _("Process designer")
    REVIEWER = "reviewer", _("Working-group reviewer")
    CASEWORKER = "caseworker", _("Caseworker")
    ANALYST = "analyst", _("Analyst")
    DATA_PUBLISHER = "data_publisher", _("Open data publisher")
    STAFF_MEMBER = "staff_member", _("Staff member")
    HUMAN_RESOURCES = "human_resources", _("Human resources (HR)")
