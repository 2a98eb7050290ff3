"""Store Observations that clients publish on the MQTT broker (runs until stopped)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dikom.sensors.mqtt import broker, credentials
from dikom.sensors.mqtt_ingest import SUBSCRIPTION, Ingestor


class Command(BaseCommand):
    help = "Subscribe to v1.1/+/Observations on DIKOM_STA_MQTT_URL and store published Observations."

    def handle(self, *args: Any, **options: Any) -> None:
        address = broker()
        if address is None:
            raise CommandError("DIKOM_STA_MQTT_URL is not set.")
        username, password = credentials() or (None, None)
        ingestor = Ingestor(*address, username=username, password=password)
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
