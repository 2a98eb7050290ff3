from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dikom.analytics.sharing import actions
from dikom.municipalities.models import Municipality


class Command(BaseCommand):
    help = (
        "Publish a month of a city's open usage table again with the current rollups (late events, corrections). "
        "The change is added as perturbed differences and named in the table's metadata; audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ags", help="The city's official key (AGS).")
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument("--reason", required=True, help="Why the month is corrected (published).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", options["month"]):
            raise CommandError("month must be YYYY-MM")
        municipality = Municipality.objects.filter(ags=options["ags"]).first()
        if municipality is None:
            raise CommandError(f"no municipality with AGS {options['ags']}")
        year, month = int(options["month"][:4]), int(options["month"][5:])
        publication = actions.correct_published_month(
            municipality=municipality, year=year, month=month, actor=None, reason=options["reason"]
        )
        self.stdout.write(f"{municipality.name} {options['month']}: version {publication.version}.")
