"""Map a LoRaWAN device (DevEUI) and its decoded payload fields onto a Thing's Datastreams."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dikom.sensors import lorawan
from dikom.sensors.models import Thing


class Command(BaseCommand):
    help = "Map a LoRaWAN device onto a Thing: sta_lorawan_map <city> <thing id> <DevEUI> field=<datastream id> ..."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("city", help="slug of the city")
        parser.add_argument("thing", type=int, help="@iot.id of the Thing")
        parser.add_argument("dev_eui", help="DevEUI, 16 hexadecimal digits")
        parser.add_argument("fields", nargs="+", help="payload field=Datastream @iot.id, e.g. soil_moisture=41")

    def handle(self, *args: Any, **options: Any) -> None:
        thing = Thing.objects.filter(pk=options["thing"], municipality__slug=options["city"]).first()
        if thing is None:
            raise CommandError(f"No Thing {options['thing']} of the city {options['city']!r}")
        fields: dict[str, int] = {}
        for item in options["fields"]:
            name, sep, pk = item.partition("=")
            if not sep or not name or not pk.isdigit():
                raise CommandError(f"{item!r} is not field=<Datastream id>")
            fields[name] = int(pk)
        try:
            lorawan.set_mapping(thing, options["dev_eui"], fields)
        except lorawan.UplinkError as exc:
            raise CommandError(exc.message) from None
        eui = (thing.properties or {})["lorawan"]["devEui"]
        self.stdout.write(f"Thing {thing.pk} receives the uplinks of {eui}: {', '.join(sorted(fields))}")
