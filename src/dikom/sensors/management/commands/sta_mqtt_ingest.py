"""Store Observations that clients publish on the MQTT broker (runs until stopped)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dikom.sensors.mqtt import broker, credentials
from dikom.sensors.mqtt_ingest import SHARE_GROUP, SUBSCRIPTION, Ingestor


class Command(BaseCommand):
    help = "Subscribe to v1.1/+/Observations on DIKOM_STA_MQTT_URL and store published Observations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--member",
            type=int,
            default=None,
            help=(
                "Run as listener number N (1, 2, …) of several on the shared subscription "
                f"$share/{SHARE_GROUP}/{SUBSCRIPTION}, with a persistent session of its own. "
                "Restart a member with the same number; without it one listener takes every message."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        address = broker()
        if address is None:
            raise CommandError("DIKOM_STA_MQTT_URL is not set.")
        member = options["member"]
        if member is not None and member < 1:
            raise CommandError("--member counts from 1.")
        username, password = credentials() or (None, None)
        ingestor = Ingestor(*address, username=username, password=password, member=member)
        self.stdout.write(f"Listening on {address[0]}:{address[1]} to {SUBSCRIPTION} …")
        try:
            while True:
                outcome = ingestor.drain(wait=5.0)
                if outcome.created:
                    self.stdout.write(f"{len(outcome.created)} observation(s) stored")
        except KeyboardInterrupt:
            pass
        finally:
            ingestor.stop()
