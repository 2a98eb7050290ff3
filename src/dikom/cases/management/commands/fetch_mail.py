"""Deliver the new mails of a Maildir to their cases (run it from cron or a systemd timer)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dikom.cases.mail import service


class Command(BaseCommand):
    help = "Deliver every mail in <maildir>/new to the case of its reply address and move it to cur/."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--maildir", required=True, help="Path of the Maildir (with new/ and cur/).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = service.fetch_maildir(options["maildir"])
        except service.NotAMaildir as error:
            raise CommandError(f"not a Maildir (new/ and cur/ missing): {error}") from None
        self.stdout.write(", ".join(f"{status}: {count}" for status, count in sorted(counts.items())) or "no mail")
