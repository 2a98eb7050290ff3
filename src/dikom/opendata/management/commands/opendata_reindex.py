"""Rebuild the open data search index (``SearchTerm``) from every dataset's ``search_text``.

Needed only for datasets written without ``actions`` (bulk imports, benchmarks);
the actions that create and change datasets keep the index themselves.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dikom.opendata import actions


class Command(BaseCommand):
    help = "Rebuild the open data search index from the datasets' search text."

    def handle(self, *args: Any, **options: Any) -> None:
        count = actions.rebuild_search_terms()
        self.stdout.write(f"{count} datasets indexed")
