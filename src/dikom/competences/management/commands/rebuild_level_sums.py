"""Rebuild (or check) the maintained level sums of the heat map and the roadMAP page from the assessments."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from dikom.competences import levelsums


class Command(BaseCommand):
    help = (
        "Recompute the level sums (competences_levelsum) from the assessments and reinstall the triggers "
        "that keep them current; with --check only compare and fail if they differ."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="compare only; exit with an error on a difference")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        with transaction.atomic():
            before = _rows()
            if not check:
                levelsums.install()
            levelsums.rebuild()
            after = _rows()
            differing = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
            if check:
                transaction.set_rollback(True)
        if check and differing:
            raise CommandError(f"{len(differing)} level sums differ from the assessments; run rebuild_level_sums.")
        done = "checked" if check else "rebuilt"
        self.stdout.write(f"{len(after)} level sums {done}; {len(differing)} differed from the assessments.")


def _rows() -> dict[tuple[Any, ...], int]:
    return levelsums.snapshot()
