"""Store LoRaWAN uplinks that The Things Stack publishes on its MQTT server (runs until stopped)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dikom.sensors.lorawan_mqtt import Listener, SourceError, parse_source


class Command(BaseCommand):
    help = "Subscribe to the uplinks of every source in DIKOM_LORAWAN_MQTT_SOURCES and store them."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sources = [parse_source(text) for text in settings.DIKOM_LORAWAN_MQTT_SOURCES]
        except SourceError as exc:
            raise CommandError(f"DIKOM_LORAWAN_MQTT_SOURCES: {exc}") from None
        if not sources:
            raise CommandError("DIKOM_LORAWAN_MQTT_SOURCES is empty.")
        try:
            listeners = [Listener(source) for source in sources]
        except (SourceError, OSError) as exc:
            raise CommandError(str(exc)) from None
        for listener in listeners:
            self.stdout.write(f"{listener.source.city}: {listener.source.host}:{listener.source.port} …")
        try:
            while True:
                for listener in listeners:
                    outcome = listener.drain(wait=1.0 if len(listeners) == 1 else 0.2)
                    if outcome.stored or outcome.held:
                        self.stdout.write(
                            f"{listener.source.city}: {outcome.stored} uplink(s) stored, {outcome.held} held"
                        )
        except KeyboardInterrupt:
            pass
        finally:
            for listener in listeners:
                listener.stop()
