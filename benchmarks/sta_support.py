"""Helpers of ``bench_sta.py``: CPU time of processes (from ``/proc``), a Mosquitto of the benchmark's own,
and a lean MQTT publisher that writes QoS 1 PUBLISH packets to a plain socket."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import common

TICK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the state on (the name may hold spaces)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid``, its waited-for children and its living descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        fields = stat_fields(current)
        if fields is None:
            continue
        total += sum(int(x) for x in fields[11:15]) / TICK  # utime, stime, cutime, cstime
        todo += children.get(current, [])
    return total


def processes_cpu(pids: list[int]) -> float:
    return sum(process_cpu(pid) for pid in pids)


def backend_seconds(pid: int) -> float:
    """CPU seconds (user + system) of one process, without children (a PostgreSQL backend)."""
    fields = stat_fields(pid)
    return 0.0 if fields is None else sum(int(x) for x in fields[11:13]) / TICK


@contextmanager
def mosquitto(extra: str) -> Iterator[tuple[int, int]]:
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/bin")
    if binary is None:
        raise SystemExit("Debian's mosquitto is not installed")
    port = common.free_port()
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "mosquitto.conf"
        config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}")
        proc = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        try:
            for _ in range(50):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            yield port, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _remaining_length(size: int) -> bytes:
    out = bytearray()
    while True:
        size, digit = size // 128, size % 128
        out.append(digit | (0x80 if size else 0))
        if not size:
            return bytes(out)


def raw_publish(port: int, client_id: str, topic: str, payloads: list[str], window: int = 30_000) -> int:
    """Publish ``payloads`` to ``topic`` with QoS 1 over a plain socket (MQTT 3.1.1, packets built here): a
    load generator that costs the machine far less CPU per message than a paho client, so that the cores
    go to the broker, the listener and PostgreSQL. At most ``window`` messages wait for their PUBACK; returns
    the number of PUBACKs received."""
    name = client_id.encode()
    connect = b"\x00\x04MQTT\x04\x02\x00\x00" + len(name).to_bytes(2, "big") + name  # clean session, no keepalive
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"\x10" + _remaining_length(len(connect)) + connect)
    if sock.recv(4) != b"\x20\x02\x00\x00":
        raise SystemExit("the broker refused the publisher")
    encoded = topic.encode()
    head = len(encoded).to_bytes(2, "big") + encoded
    acked = 0
    buffer = b""

    def read_acks() -> None:
        nonlocal acked, buffer
        data = sock.recv(65536)
        if not data:
            raise SystemExit("the broker closed the publisher's connection")
        buffer += data
        whole = len(buffer) // 4  # only PUBACKs (4 bytes) arrive after the CONNACK
        acked += whole
        buffer = buffer[whole * 4 :]

    sent = 0
    for start in range(0, len(payloads), 1000):
        chunk = []
        for offset, payload in enumerate(payloads[start : start + 1000]):
            body = payload.encode()
            mid = (start + offset) % 65535 + 1
            variable = head + mid.to_bytes(2, "big") + body
            chunk.append(b"\x32" + _remaining_length(len(variable)) + variable)
        sock.sendall(b"".join(chunk))
        sent += len(chunk)
        while sent - acked > window:
            read_acks()
    sock.settimeout(600)
    while acked < sent:
        read_acks()
    sock.sendall(b"\xe0\x00")
    sock.close()
    return acked
