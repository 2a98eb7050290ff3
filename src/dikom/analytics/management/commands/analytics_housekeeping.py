from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dikom.analytics.actions import housekeeping


class Command(BaseCommand):
    help = (
        "Delete daily salts older than 48 hours and raw usage events older than "
        "DIKOM_ANALYTICS_RAW_RETENTION_DAYS; rollups stay. Run it at least daily (cron or systemd timer)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = housekeeping()
        self.stdout.write(
            f"Deleted {result.salts_deleted} salts and {result.events_deleted} raw events older than the retention."
        )
