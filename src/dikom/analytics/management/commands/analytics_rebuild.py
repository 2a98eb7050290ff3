from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dikom.analytics.actions import rebuild_range
from dikom.municipalities.models import Municipality


class Command(BaseCommand):
    help = "Rebuild the daily usage rollups from raw events (days without raw events keep their rollups)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--municipality", metavar="AGS", help="Only this municipality (official key).")
        parser.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="First local day.")
        parser.add_argument("--until", type=date.fromisoformat, metavar="YYYY-MM-DD", help="Last local day.")

    def handle(self, *args: Any, **options: Any) -> None:
        municipality = None
        if options["municipality"]:
            try:
                municipality = Municipality.objects.get(ags=options["municipality"])
            except Municipality.DoesNotExist as exc:
                raise CommandError(f"No municipality with AGS {options['municipality']}") from exc
        if options["since"] and options["until"] and options["until"] < options["since"]:
            raise CommandError("--until must not be before --since")
        days = rebuild_range(municipality=municipality, since=options["since"], until=options["until"])
        self.stdout.write(f"Rebuilt {days} municipality-days.")
