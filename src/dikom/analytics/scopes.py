"""API key scopes of the analytics app."""

from django.utils.translation import gettext_lazy as _

from dikom.accounts.scopes import register_scope

ANALYTICS_INGEST = register_scope("analytics:ingest", _("Send usage events of online services"))
ANALYTICS_READ = register_scope("analytics:read", _("Read usage figures and the list of measured services"))
ANALYTICS_MANAGE = register_scope("analytics:manage", _("Register measured services and map unassigned events"))
