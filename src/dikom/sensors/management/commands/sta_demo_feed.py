"""Publish simulated readings of the demo sensors on the MQTT broker, round after round (demo data)."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dikom.sensors.demo_feed import demo_messages
from dikom.sensors.mqtt import broker, credentials


class Command(BaseCommand):
    help = "Publish the next simulated reading of every demo sensor to DIKOM_STA_MQTT_URL every --interval seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between rounds (default 60)")
        parser.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (0: run until stopped)")

    def handle(self, *args: Any, **options: Any) -> None:
        import paho.mqtt.client as mqtt

        address = broker()
        if address is None:
            raise CommandError("DIKOM_STA_MQTT_URL is not set.")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dikom-demo-feed")
        username, password = credentials() or (None, None)
        if username:
            client.username_pw_set(username, password)
        client.connect(*address, keepalive=30)
        client.loop_start()
        rng = random.Random()  # noqa: S311  (demo data, not security)
        rounds = 0
        try:
            while options["rounds"] == 0 or rounds < options["rounds"]:
                messages = demo_messages(timezone.now().replace(microsecond=0), rng)
                for topic, payload in messages:
                    client.publish(topic, payload, qos=1).wait_for_publish(10)
                rounds += 1
                self.stdout.write(f"demo readings published: {len(messages)}")
                if options["rounds"] == 0 or rounds < options["rounds"]:
                    time.sleep(options["interval"])
        except KeyboardInterrupt:
            pass
        finally:
            client.loop_stop()
            client.disconnect()
