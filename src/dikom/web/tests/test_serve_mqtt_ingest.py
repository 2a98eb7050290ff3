"""`manage.py serve` with DIKOM_STA_MQTT_URL set runs the MQTT listener: a published Observation is stored.

A real Mosquitto on a free loopback port, the real command in a fresh process on a fresh
SQLite database. The listener is killed once to show it is started again, and SIGTERM to
the server stops it (and its supervisor).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest

from conftest import skip_or_fail
from dikom.lib.testing import child_pids as _children
from dikom.lib.testing import free_port as _free_port

ROOT = Path(__file__).resolve().parents[4]
SETUP = """
from dikom.municipalities.models import District, Municipality
from dikom.sensors import service
district = District.objects.create(key="06631", name="Landkreis Fulda")
city = Municipality.objects.create(name="Fulda", slug="fulda", ags="06631009", population=69000, district=district)
thing = service.create_thing({
    "name": "Baum 1", "description": "Linde",
    "Locations": [{"name": "Standort", "description": "x", "encodingType": "application/geo+json",
                   "location": {"type": "Point", "coordinates": [9.68, 50.55]}}],
    "Datastreams": [{"name": "Saugspannung", "description": "30 cm",
        "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
        "unitOfMeasurement": {"name": "Centibar", "symbol": "cbar", "definition": "ucum:cbar"},
        "Sensor": {"name": "Watermark", "description": "x", "encodingType": "text/html", "metadata": "x"},
        "ObservedProperty": {"name": "Saugspannung", "definition": "x", "description": "x"}}],
}, city)
print(thing.datastreams.get().pk)
"""

pytestmark = pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux's /proc")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _listener(serve_pid: int) -> tuple[int, int] | None:
    """(supervisor pid, sta_mqtt_ingest pid) under the server, when both run."""
    for pid in _children(serve_pid):
        if "supervise.py" in _cmdline(pid):
            inner = [c for c in _children(pid) if "sta_mqtt_ingest" in _cmdline(c)]
            if inner:
                return pid, inner[0]
    return None


def _results(db: Path) -> list[float]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT result_number FROM sensors_observation ORDER BY id")]


def _publish_until_stored(broker_port: int, datastream: int, db: Path, result: float) -> None:
    """Publish (QoS 1) until the listener stored it: before it has subscribed, the broker drops the message."""
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{result}")
    publisher.connect("127.0.0.1", broker_port)
    publisher.loop_start()
    try:
        deadline = time.monotonic() + 60
        second = 0
        while result not in _results(db):
            assert time.monotonic() < deadline, f"observation {result} was not stored: {_results(db)}"
            payload = {"phenomenonTime": f"2026-07-01T06:00:{second:02d}Z", "result": result}
            info = publisher.publish(f"v1.1/Datastreams({datastream})/Observations", orjson.dumps(payload), qos=1)
            info.wait_for_publish(timeout=5)
            second = (second + 1) % 60
            time.sleep(1.0)
    finally:
        publisher.loop_stop()
        publisher.disconnect()


def test_serve_runs_restarts_and_stops_the_mqtt_listener(tmp_path: Path) -> None:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/bin")
    if binary is None:
        skip_or_fail("Mosquitto is not installed")
    broker_port, web_port = _free_port(), _free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"user root\nlistener {broker_port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIKOM_", "DJANGO_")) and k != "DATABASE_URL"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "dikom.conf.ci",
        "DIKOM_DATA_DIR": str(tmp_path),
        "DIKOM_STA_MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    server = None
    try:
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=300)  # noqa: S603
        datastream = int(
            subprocess.run(  # noqa: S603
                [*manage, "shell", "-c", SETUP], env=env, check=True, capture_output=True, text=True, timeout=300
            ).stdout.split()[-1]
        )
        command = [*manage, "serve", "--no-worker", "--processes", "1", "--port", str(web_port), "--threads", "2"]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "manage.py serve ended"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "manage.py serve did not start answering"
            time.sleep(0.2)
        running = _listener(server.pid)
        assert running is not None, "no MQTT listener under manage.py serve"
        supervisor, first = running

        db = tmp_path / "dikom.sqlite3"
        _publish_until_stored(broker_port, datastream, db, 42.5)

        # The listener dies: it is started again and stores the next observation.
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (again := _listener(server.pid)) is None or again[1] == first:
            assert time.monotonic() < deadline, "the MQTT listener was not restarted"
            time.sleep(0.2)
        assert again[0] == supervisor
        _publish_until_stored(broker_port, datastream, db, 17.0)
        assert sorted(set(_results(db))) == [17.0, 42.5]

        # SIGTERM to the server stops the listener and its supervisor.
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        time.sleep(0.5)
        assert not Path(f"/proc/{supervisor}").exists() or "supervise" not in _cmdline(supervisor)
        assert not Path(f"/proc/{again[1]}").exists() or "sta_mqtt_ingest" not in _cmdline(again[1])
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        broker.terminate()
        broker.wait(timeout=10)
