"""Scopes an API key can carry. Apps add theirs with ``register_scope``."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SCOPES: dict[str, str | Promise] = {}


def register_scope(name: str, description: str | Promise) -> str:
    SCOPES[name] = description
    return name


MUNICIPALITY_READ = register_scope("municipality:read", _("Read the municipality's organisational units"))
AUDIT_READ = register_scope("audit:read", _("Read the municipality's audit log"))
