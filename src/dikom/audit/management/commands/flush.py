"""Django's ``flush``, allowed to empty the append-only audit log as well."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand

from dikom.audit.maintenance import audit_maintenance


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        with audit_maintenance(options["database"]):
            super().handle(**options)
