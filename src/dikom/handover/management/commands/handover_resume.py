"""Queue every due delivery again, e.g. from a timer every few minutes or after a crash."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dikom.handover.actions import enqueue_due_deliveries


class Command(BaseCommand):
    help = "Queue an attempt for every pending or retrying delivery whose next attempt is due."

    def handle(self, *args: Any, **options: Any) -> None:
        count = enqueue_due_deliveries()
        self.stdout.write(f"{count} due deliveries queued")
