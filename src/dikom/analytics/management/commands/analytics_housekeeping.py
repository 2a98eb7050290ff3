from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dikom.analytics.actions import housekeeping


class Command(BaseCommand):
    help = (
        "Delete daily salts 48 hours after their day began, cut the times of raw events older than a day to the "
        "hour, and delete raw usage events older than "
        "DIKOM_ANALYTICS_RAW_RETENTION_DAYS; rollups stay. Run it at least daily (cron or systemd timer)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = housekeeping()
        self.stdout.write(
            f"Deleted {result.salts_deleted} salts and {result.events_deleted} raw events older than the retention; "
            f"{result.events_coarsened} raw events coarsened to the hour."
        )
