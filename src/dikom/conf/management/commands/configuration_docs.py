"""Write docs/configuration.md from the settings registry (every env_* call in base.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from dikom.conf.env import REGISTRY

HEADER = """# Configuration

dikom reads every setting from the environment (12-factor). This page is
generated from the code by `python manage.py configuration_docs`; a test fails
when it is out of date. Secrets can also be read from a file: set `<NAME>_FILE`
to its path (for container secrets).

The settings module decides the defaults: `dikom.conf.dev` (used by `make run`:
local HTTP, embedded SQLite, console mail, demo data, 2FA relaxed),
`dikom.conf.ci` (tests) and `dikom.conf.production` (the WSGI default). In
production, dikom refuses to start when `DIKOM_DEBUG` is on, the secret key is
missing or weak, `DIKOM_ALLOWED_HOSTS` is empty or `*`, secure cookies are off,
demo mode is on, or `DIKOM_REQUIRE_2FA_FOR_STAFF` is off without the explicit
override `DIKOM_ALLOW_STAFF_WITHOUT_2FA=true` (then it logs a warning at every
start).

Behind a TLS-terminating reverse proxy, `manage.py serve` (waitress) must be
told the proxy's address in `DIKOM_TRUSTED_PROXY`: waitress then takes
`X-Forwarded-Proto` (so HTTPS requests count as secure and
`DIKOM_SSL_REDIRECT` does not redirect them again) and `X-Forwarded-For` (the
client address for the sign-in throttle) from that proxy only, and removes
these headers from any other peer. Another WSGI server that strips the header
from untrusted clients itself can use `DIKOM_BEHIND_PROXY` instead, which makes
Django trust `X-Forwarded-Proto`.

| Variable | Type | Default (production) | Meaning |
|---|---|---|---|
"""


def render() -> str:
    rows = [
        "| `{}` | {} | `{}` | {} |".format(doc.name, doc.kind, doc.default, doc.help.replace("|", "\\|"))
        for doc in sorted(REGISTRY.values(), key=lambda d: d.name)
    ]
    return HEADER + "\n".join(rows) + "\n"


class Command(BaseCommand):
    help = "Generate docs/configuration.md from the settings registry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Only check that the file is up to date.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.BASE_DIR) / "docs" / "configuration.md"
        text = render()
        if options["check"]:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                self.stderr.write("docs/configuration.md is out of date: run manage.py configuration_docs")
                raise SystemExit(1)
            return
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {path}")
