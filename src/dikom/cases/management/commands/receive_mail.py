"""Read one e-mail from standard input and hand it to its case (an MTA's pipe transport).

Exit codes as sendmail's: 0 accepted, 65 bad data, 67 unknown recipient, 75 temporary failure.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from dikom.cases.mail import service


class Command(BaseCommand):
    stealth_options = ("stdin",)  # tests pass a binary stream instead of the process's standard input
    help = "Read one RFC 5322 e-mail from stdin and deliver it to the case of its reply address."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--recipient",
            action="append",
            default=[],
            help="Envelope recipient as the MTA passes it (Postfix: ${recipient}); may be repeated.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stream = options.get("stdin") or sys.stdin.buffer
        raw = stream.read(int(settings.DIKOM_INBOUND_MAIL_MAX_BYTES) + 1)
        outcome = service.receive_mail(raw, recipients=options["recipient"])
        if outcome.exit_code:
            self.stderr.write(f"refused: {outcome.reason or outcome.status}")
            sys.exit(outcome.exit_code)
        self.stdout.write(outcome.status)
