"""A local MQTT broker for ``make run``: use one that runs, or start Debian's Mosquitto for the platform.

``manage.py serve`` with ``DIKOM_MQTT_AUTOSTART`` (on in the development settings) and no
``DIKOM_STA_MQTT_URL``: a broker that answers on 127.0.0.1:1883 is used; otherwise, when the
``mosquitto`` program is installed, one is started for the platform on 127.0.0.1:1883 with
its persistence in the data directory, so acknowledged messages survive a restart. It listens on the loopback interface
only and admits anonymous clients there — a development set-up; production names its broker
in ``DIKOM_STA_MQTT_URL`` with accounts (``docs/sensors.md``).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 1883
CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def mosquitto_program() -> str | None:
    for candidate in CANDIDATES:
        found = shutil.which(candidate) if "/" not in candidate else (candidate if Path(candidate).exists() else None)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Plan:
    url: str | None
    #: The command that starts the broker (None: one runs already, or none can be started).
    command: list[str] | None
    message: str


def plan(data_dir: Path) -> Plan:
    """What ``serve`` does about the broker (nothing is started here)."""
    if answers("127.0.0.1", DEFAULT_PORT):
        return Plan(f"mqtt://127.0.0.1:{DEFAULT_PORT}", None, f"MQTT broker at 127.0.0.1:{DEFAULT_PORT} used")
    program = mosquitto_program()
    if program is None:
        return Plan(
            None,
            None,
            "no MQTT broker: install Debian's mosquitto for live sensor readings over MQTT "
            "(the SensorThings API works without it)",
        )
    port = DEFAULT_PORT
    home = data_dir / "mosquitto"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "mosquitto.conf"
    config.write_text(
        "# Written by manage.py serve (dikom.lib.broker) for a development set-up; do not edit.\n"
        # started as root, Mosquitto would switch to its own user, which may not write here
        f"user {getpass.getuser()}\n"
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {home}/\n"
        "autosave_interval 10\n"
        # the SensorThings listener acknowledges after storing: let it take batches, and queue bursts
        # instead of dropping them (docs/sensors.md, "Broker settings for throughput")
        "max_inflight_messages 1000\n"
        "max_queued_messages 1000000\n",
        encoding="utf-8",
    )
    return Plan(f"mqtt://127.0.0.1:{port}", [program, "-c", str(config)], f"Mosquitto started on 127.0.0.1:{port}")


def wait_until_up(url: str, seconds: float = 10.0) -> bool:
    host_port = url.removeprefix("mqtt://")
    host, _, port = host_port.rpartition(":")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(host, int(port)):
            return True
        time.sleep(0.1)
    return False
