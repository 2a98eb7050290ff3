"""The listener's MQTT client: its read buffer serves paho's small reads from one large read."""

from __future__ import annotations

import socket

import pytest

from dikom.sensors.mqtt_client import _BufferedSocket


def test_small_reads_are_served_from_one_large_read_in_order() -> None:
    left, right = socket.socketpair()
    try:
        right.setblocking(False)
        buffered = _BufferedSocket(right)
        left.sendall(b"\x30\x05abcde\x40\x02\x00\x07")
        assert buffered.recv(1) == b"\x30"
        assert buffered.pending() == 10
        assert buffered.recv(1) == b"\x05"
        assert buffered.recv(5) == b"abcde"
        assert buffered.recv(100) == b"\x40\x02\x00\x07"  # no more than was buffered
        assert buffered.pending() == 0
        with pytest.raises(BlockingIOError):  # nothing left, nothing arrived: as the socket itself
            buffered.recv(1)
        left.sendall(b"xyz")
        assert buffered.recv(3) == b"xyz"
        left.close()
        assert buffered.recv(1) == b""  # the peer closed
        assert buffered.fileno() == right.fileno()
    finally:
        left.close()
        right.close()
