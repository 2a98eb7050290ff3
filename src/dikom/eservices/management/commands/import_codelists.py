"""Import genericode code lists for FIM select fields: from files, or from DIKOM_FIM_CODELIST_URLS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dikom.eservices import codelists
from dikom.eservices.definition.fim import FimImportError


class Command(BaseCommand):
    help = "Import genericode code lists (files, or --configured for DIKOM_FIM_CODELIST_URLS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="*", help="genericode XML files")
        parser.add_argument("--configured", action="store_true", help="fetch the addresses of DIKOM_FIM_CODELIST_URLS")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = False
        for name in options["files"]:
            path = Path(name)
            try:
                imported = codelists.import_code_list(path.read_bytes(), source=f"file:{path.name}")
            except (OSError, FimImportError) as error:
                self.stderr.write(f"{name}: {getattr(error, 'message', error)}")
                failed = True
                continue
            state = "imported" if imported.created else "unchanged"
            self.stdout.write(f"{name}: {imported.code_list.canonical_version_uri} {state}")
        if options["configured"]:
            for url, state in codelists.fetch_configured().items():
                self.stdout.write(f"{url}: {state}")
                failed = failed or state not in ("imported", "unchanged")
        if failed:
            raise CommandError("Some code lists could not be imported.")
