"""Rebuild the transfer forum's search index (every registered source, or the ones named).

Needed once after migration 0004 for posts written before the index existed, and whenever
documents were written another way (e.g. restored from a backup without the index).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dikom.forum import search


class Command(BaseCommand):
    help = "Rebuild the transfer forum's search index."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", help="source keys (default: all registered sources)")

    def handle(self, *args: Any, **options: Any) -> None:
        unknown = [s for s in options["sources"] if s not in search.SOURCES]
        if unknown:
            raise CommandError(f"Unknown search source(s): {', '.join(unknown)}; known: {', '.join(search.SOURCES)}")
        count = search.reindex(options["sources"] or None)
        self.stdout.write(f"{count} documents indexed")
