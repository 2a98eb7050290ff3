"""Enqueue the registered periodic jobs when they are due (see dikom.lib.periodic)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dikom.lib import periodic


class Command(BaseCommand):
    help = "Enqueue periodic background jobs (timers, reminders, housekeeping) when they are due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Enqueue every job once and stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        last: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for job in periodic.JOBS.values():
                # First round after a (re)start: every job runs at once, catching up on what fell due meanwhile.
                if job.name not in last or now - last[job.name] >= job.every_seconds:
                    periodic.enqueue(job)
                    last[job.name] = now
            if options["once"]:
                return
            time.sleep(1)
