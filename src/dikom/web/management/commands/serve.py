"""Start the whole platform: the web server (waitress) and the task worker.

The worker runs as a child process; both stop together on Ctrl+C or SIGTERM.

Behind a TLS-terminating proxy set ``DIKOM_TRUSTED_PROXY``: waitress then takes the scheme
(and the client address) from that proxy's X-Forwarded-* headers and removes those headers
from every other peer. Without it the scheme stays http, so ``DIKOM_SSL_REDIRECT`` would
redirect every request again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def waitress_options() -> dict[str, Any]:
    """waitress' proxy options from the settings (empty when no proxy is trusted)."""
    if not settings.DIKOM_TRUSTED_PROXY:
        return {}
    return {
        "trusted_proxy": settings.DIKOM_TRUSTED_PROXY,
        "trusted_proxy_headers": {header.lower() for header in settings.DIKOM_TRUSTED_PROXY_HEADERS},
        "trusted_proxy_count": settings.DIKOM_TRUSTED_PROXY_COUNT,
        "clear_untrusted_proxy_headers": True,
        "log_untrusted_proxy_headers": True,
    }


class Command(BaseCommand):
    help = "Run the web server and the background task worker together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress import serve

        from dikom.wsgi import application

        worker: subprocess.Popen[bytes] | None = None
        clock: subprocess.Popen[bytes] | None = None
        if not options["no_worker"]:
            worker = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                [sys.executable, str(settings.BASE_DIR / "manage.py"), "db_worker", "--interval", "1"],
            )
            self.stdout.write(f"task worker started (pid {worker.pid})")
            clock = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                [sys.executable, str(settings.BASE_DIR / "manage.py"), "clock"],
            )
            self.stdout.write(f"clock for periodic jobs started (pid {clock.pid})")

        def stop(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        if settings.DIKOM_TRUSTED_PROXY:
            self.stdout.write(f"X-Forwarded-* headers trusted from {settings.DIKOM_TRUSTED_PROXY} only")
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"dikom läuft unter {url} (Beenden mit Strg+C)"))
        try:
            serve(
                application,
                host=options["host"],
                port=options["port"],
                threads=options["threads"],
                ident="dikom",
                **waitress_options(),
            )
        except KeyboardInterrupt:
            pass
        finally:
            for child in (clock, worker):
                if child is None:
                    continue
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
