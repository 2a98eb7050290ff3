"""Start the whole platform: the web server (waitress) and the task worker.

The web server runs as many processes as the machine has cores (``--processes``,
``DIKOM_WEB_PROCESSES``), forked from this one onto one listening socket
(``dikom.lib.prefork``); one process serves in this process itself. The task worker
and the clock run as child processes once, however many web processes there are, each
restarted whenever it ends (``dikom.lib.supervise``: a worker that stopped on a database
error while the primary restarted comes back by itself);
everything stops together on Ctrl+C or SIGTERM. When ``DIKOM_STA_MQTT_URL`` is set, the
MQTT listener that stores published Observations (``manage.py sta_mqtt_ingest``) runs as a
child process too, restarted whenever it ends (``dikom.lib.supervise``; ``--no-mqtt-ingest``
leaves it out). With ``DIKOM_MQTT_AUTOSTART`` (development settings) and no broker
configured, a broker on 127.0.0.1:1883 is used or Debian's Mosquitto started for the
platform (``dikom.lib.broker``), and in the demo the simulated sensors publish a reading a
minute (``manage.py sta_demo_feed``). Several web processes need a cache
they share (rate limits, throttles): Redis (``DIKOM_CACHE_URL``) or the database
cache, never the memory of one process.

Behind a TLS-terminating proxy set ``DIKOM_TRUSTED_PROXY``: waitress then takes the scheme
(and the client address) from that proxy's X-Forwarded-* headers and removes those headers
from every other peer. Without it the scheme stays http, so ``DIKOM_SSL_REDIRECT`` would
redirect every request again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


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


def default_processes() -> int:
    """``DIKOM_WEB_PROCESSES``, or one per core this process may run on."""
    configured = int(getattr(settings, "DIKOM_WEB_PROCESSES", 0) or 0)
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def process_local_caches() -> list[str]:
    """The configured caches that live in one process's memory (not shared between processes)."""
    return [
        alias
        for alias, cache in settings.CACHES.items()
        if str(cache["BACKEND"]).endswith(("LocMemCache", "DummyCache"))
    ]


def _load_application() -> Any:
    from dikom.wsgi import application

    return application


class Command(BaseCommand):
    help = "Run the web server and the background task worker together."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="Threads per web server process.")
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Web server processes (default: DIKOM_WEB_PROCESSES, or one per CPU core).",
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")
        parser.add_argument(
            "--no-mqtt-ingest",
            action="store_true",
            help="Do not start the MQTT listeners (published Observations, LoRaWAN uplinks).",
        )

    def _local_broker(self) -> subprocess.Popen[bytes] | None:
        """With DIKOM_MQTT_AUTOSTART and no broker configured: use or start a local one (dikom.lib.broker)."""
        if settings.DIKOM_STA_MQTT_URL or not settings.DIKOM_MQTT_AUTOSTART:
            return None
        from dikom.lib import broker, supervise

        plan = broker.plan(Path(settings.DATA_DIR))
        process: subprocess.Popen[bytes] | None = None
        url = plan.url
        if plan.command is not None and url is not None:
            process = subprocess.Popen(  # noqa: S603 - supervise.py and the installed mosquitto
                [sys.executable, str(Path(supervise.__file__)), "MQTT broker", "--", *plan.command],
            )
            if not broker.wait_until_up(url):
                self.stdout.write(f"the MQTT broker did not come up ({' '.join(plan.command)}); MQTT stays off")
                process.terminate()
                return None
        self.stdout.write(plan.message)
        if url is not None:
            settings.DIKOM_STA_MQTT_URL = url
            os.environ["DIKOM_STA_MQTT_URL"] = url  # for the worker, the listeners and the web processes
        return process

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress import serve

        from dikom.lib import prefork

        processes = options["processes"] or default_processes()
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        local = process_local_caches()
        if processes > 1 and local:
            raise CommandError(
                f"{processes} web server processes need a shared cache, but the cache {', '.join(local)} lives in "
                "one process's memory: set DIKOM_CACHE_URL (Redis), leave CACHES to the database cache, "
                "or serve with --processes 1."
            )
        if any(str(cache["BACKEND"]).endswith("DatabaseCache") for cache in settings.CACHES.values()):
            call_command("createcachetable", verbosity=0)  # idempotent; a fresh database has none yet

        # Bound before the worker starts: a port in use ends the command at once.
        sock = prefork.listening_socket(options["host"], options["port"]) if processes > 1 else None

        from dikom.lib import supervise

        def supervised(name: str, *command: str) -> subprocess.Popen[bytes]:
            # Restarted whenever it ends (e.g. on a database error while the primary restarts).
            manage = [sys.executable, str(settings.BASE_DIR / "manage.py"), *command]
            return subprocess.Popen(  # noqa: S603 - our own interpreter, supervise.py and manage.py
                [sys.executable, str(Path(supervise.__file__)), name, "--", *manage],
            )

        # Before the worker and clock start, so that they inherit the broker's address.
        mqtt_broker = self._local_broker() if not options["no_mqtt_ingest"] else None
        worker: subprocess.Popen[bytes] | None = None
        clock: subprocess.Popen[bytes] | None = None
        if not options["no_worker"]:
            worker = supervised("task worker", "db_worker", "--interval", "1")
            self.stdout.write(f"task worker started (supervisor pid {worker.pid})")
            clock = supervised("clock", "clock")
            self.stdout.write(f"clock for periodic jobs started (supervisor pid {clock.pid})")

        listener: subprocess.Popen[bytes] | None = None
        if settings.DIKOM_STA_MQTT_URL and not options["no_mqtt_ingest"]:
            listener = supervised("MQTT listener", "sta_mqtt_ingest")
            self.stdout.write(f"MQTT listener for published observations started (pid {listener.pid})")
        feed: subprocess.Popen[bytes] | None = None
        if settings.DIKOM_DEMO and settings.DIKOM_STA_MQTT_URL and not options["no_mqtt_ingest"]:
            feed = supervised("demo sensor feed", "sta_demo_feed")
            self.stdout.write(f"demo sensors publish a reading every minute over MQTT (pid {feed.pid})")
        uplinks: subprocess.Popen[bytes] | None = None
        if settings.DIKOM_LORAWAN_MQTT_SOURCES and not options["no_mqtt_ingest"]:
            uplinks = supervised("LoRaWAN MQTT listener", "lorawan_mqtt_ingest")
            self.stdout.write(f"LoRaWAN MQTT listener started (pid {uplinks.pid})")

        def stop(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        if settings.DIKOM_TRUSTED_PROXY:
            self.stdout.write(f"X-Forwarded-* headers trusted from {settings.DIKOM_TRUSTED_PROXY} only")
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"dikom läuft unter {url} (Beenden mit Strg+C)"))
        serve_options: dict[str, Any] = {"threads": options["threads"], "ident": "dikom", **waitress_options()}
        status = 0
        try:
            if sock is not None:
                self.stdout.flush()
                status = prefork.run(sock, processes, _load_application, serve_options, log=self.stdout.write)
            else:
                serve(_load_application(), host=options["host"], port=options["port"], **serve_options)
        except KeyboardInterrupt:
            pass
        finally:
            for child in (feed, uplinks, listener, mqtt_broker, clock, worker):
                if child is None:
                    continue
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        if status:
            raise CommandError("the web server processes could not be kept running")
