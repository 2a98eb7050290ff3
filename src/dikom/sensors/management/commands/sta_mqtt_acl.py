"""Write Mosquitto's ACL file for the SensorThings topics (see ``dikom.sensors.mqtt_ingest``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from dikom.sensors.mqtt_ingest import broker_acl


class Command(BaseCommand):
    help = "Write the broker's ACL file: each city's account may publish only to its own Datastreams."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="where to write the ACL file (Mosquitto's acl_file)")
        parser.add_argument("--dikom-user", default="dikom", help="dikom's own broker account")

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["path"])
        target.write_text(broker_acl(options["dikom_user"]), encoding="utf-8")
        self.stdout.write(f"ACL written to {target}; send the broker SIGHUP to reload it.")
