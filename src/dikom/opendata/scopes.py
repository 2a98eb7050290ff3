"""The API key scope of the CKAN write actions."""

from django.utils.translation import gettext_lazy as _

from dikom.accounts.scopes import register_scope

OPENDATA_WRITE = register_scope("opendata:write", _("Create, change and withdraw the city's open datasets"))
