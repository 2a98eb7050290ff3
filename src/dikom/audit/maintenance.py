"""The one sanctioned way around the append-only rule: emptying a whole database.

``manage.py flush`` (which test teardown uses, and which an operator may use to
reset a development installation) wipes every table, the audit log included.
Nothing else may delete or change audit events.

- PostgreSQL: the trigger function lets changes through while the session
  setting ``dikom.audit_maintenance`` is ``on`` (migration 0003); it is set
  only for the duration of the flush.
- SQLite has no session settings a trigger can read, so the triggers are
  dropped for the flush and created again right after it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

_triggers = importlib.import_module("dikom.audit.migrations.0002_append_only_triggers")


@contextmanager
def audit_maintenance(using: str = "default") -> Iterator[None]:
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET dikom.audit_maintenance = 'on'")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET dikom.audit_maintenance")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for statement in _triggers.SQLITE_BACKWARD:
                cursor.execute(statement)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for statement in _triggers.SQLITE_FORWARD:
                    cursor.execute(statement)
    else:
        yield
