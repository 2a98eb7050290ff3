"""Fail when the German catalog has untranslated or fuzzy entries.

Run after ``make messages`` (which extracts new strings): a new string without
a German translation makes this command fail, so German — the default UI
language — never shows an English fallback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

REQUIRED_LANGUAGES = ("de",)


def catalog_problems() -> list[str]:
    problems: list[str] = []
    for language in REQUIRED_LANGUAGES:
        found = False
        for locale_dir in settings.LOCALE_PATHS:
            po_path = Path(locale_dir) / language / "LC_MESSAGES" / "django.po"
            if not po_path.exists():
                continue
            found = True
            catalog = polib.pofile(str(po_path))
            for entry in catalog.untranslated_entries():
                problems.append(f"{language}: untranslated: {entry.msgid!r}")
            for entry in catalog.fuzzy_entries():
                problems.append(f"{language}: fuzzy: {entry.msgid!r}")
            for entry in catalog.translated_entries():
                if entry.msgid_plural and not all(entry.msgstr_plural.values()):
                    problems.append(f"{language}: plural forms incomplete: {entry.msgid!r}")
        if not found:
            problems.append(f"{language}: no catalog")
    return problems


class Command(BaseCommand):
    help = "Check that the German catalog is complete (no untranslated or fuzzy entries)."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = catalog_problems()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} catalog problem(s)")
        self.stdout.write("German catalog complete")
