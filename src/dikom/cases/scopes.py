"""API key scopes of the case API (``dikom.cases.api``)."""

from django.utils.translation import gettext_lazy as _

from dikom.accounts.scopes import register_scope

CASES_READ = register_scope(
    "cases:read", _("Read the city's cases: application data, documents, tasks, decisions and history")
)
CASES_WRITE = register_scope(
    "cases:write", _("Work on the city's cases: complete tasks, add documents, record decisions")
)
WEBHOOKS_MANAGE = register_scope(
    "webhooks:manage", _("Manage the city's case webhook subscriptions and read their delivery log")
)
MAIL_INBOUND = register_scope(
    "mail:inbound", _("Hand inbound e-mails to the city's cases (a mail gateway; the reply address decides the case)")
)
