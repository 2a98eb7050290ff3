"""A paho MQTT client with less work per message, for listeners that receive thousands per second.

paho reads every packet in three or more ``recv`` calls (the command byte, the
remaining length byte by byte, then the rest), reads one packet per ``select``
round of its network thread when it is not publishing itself, and sends every
PUBACK as a packet of its own (one write and one wake-up of the network thread
per acknowledgement). Under a burst of small PUBLISH packets that costs more
CPU than storing the readings. This client changes only that transport work:

- the socket is read in large chunks into a buffer that paho's small reads are
  served from (the buffer reports what it holds through ``pending()``, which
  paho already asks of TLS sockets before it waits in ``select``);
- one ``select`` round reads every complete packet that has arrived;
- ``ack_many`` queues the PUBACKs of many messages as one write, and ``corked`` does the same for
  the PUBLISH packets of many ``publish`` calls (dikom's notifications);
- with ``on_raw_message`` set, a PUBLISH of QoS 0 or 1 without MQTT 5 properties (what sensors
  send) is handed over as ``(topic, payload, mid, qos)`` without building paho's message object,
  whose MQTT 5 ``Properties`` sets up two tables of all property types for every message. Anything
  else (QoS 2, properties such as a topic alias, a topic that is not UTF-8) takes paho's own path
  to ``on_message``.

The protocol is unchanged: every message is acknowledged exactly as with
``ack``, the packet bytes are the same (PUBACK with a 2-byte message id, which
MQTT 3.1.1 and MQTT 5, success, share). TLS and WebSockets are not used by
dikom's listeners; with them the client falls back to paho's own reads.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt

#: Bytes read from the socket at once.
READ_CHUNK = 256 * 1024
#: Packets handled per ``select`` round at most (then keep-alive and writes get their turn).
PACKETS_PER_ROUND = 5000
_PUBACK = struct.Struct("!BBH")


class _BufferedSocket:
    """The broker's socket with a read buffer; everything else is passed to the socket."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._data):
            data = self._sock.recv(max(size, READ_CHUNK))  # BlockingIOError when nothing arrived
            if len(data) <= size:
                return data
            self._data, self._pos = data, 0
        end = self._pos + size
        chunk = self._data[self._pos : end]
        self._pos = min(end, len(self._data))
        return chunk

    def pending(self) -> int:
        return len(self._data) - self._pos

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class FastClient(mqtt.Client):
    """``paho.mqtt.client.Client`` with buffered reads, many packets per round and batched PUBACKs."""

    #: Called by the network thread as ``on_raw_message(topic, payload, mid, qos)`` for plain PUBLISH packets.
    on_raw_message: Callable[[str, bytes, int, int], None] | None = None

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        handler = self.on_raw_message
        qos = (self._in_packet["command"] & 0x06) >> 1
        if handler is None or qos == 2:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        size = len(packet)
        if size < 2:
            return super()._handle_publish()
        end = 2 + ((packet[0] << 8) | packet[1])  # the topic's end
        pos = end + (2 if qos else 0)
        if self._protocol == mqtt.MQTTv5:
            if pos >= size or packet[pos] != 0:  # properties present (or a malformed packet): paho's way
                return super()._handle_publish()
            pos += 1
        if pos > size or end == 2:
            return super()._handle_publish()
        try:
            topic = packet[2:end].decode()
        except UnicodeDecodeError:
            return super()._handle_publish()
        mid = (packet[end] << 8) | packet[end + 1] if qos else 0
        handler(topic, bytes(packet[pos:]), mid, qos)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if self._ssl or self._transport != "tcp":
            return sock
        return _BufferedSocket(sock)

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        if not isinstance(self._sock, _BufferedSocket):
            return super().loop_read(max_packets)
        for _ in range(PACKETS_PER_ROUND):
            if self._sock is None:
                return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

    _corked: list[bytes] | None = None

    def _packet_queue(
        self, command: int, packet: bytes, mid: int, qos: int, info: mqtt.MQTTMessageInfo | None = None
    ) -> mqtt.MQTTErrorCode:
        if self._corked is not None and (command & 0xF0) == mqtt.PUBLISH and qos > 0:
            self._corked.append(packet)  # paho tracks the message as usual; its bytes go out in one write
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_queue(command, packet, mid, qos, info)

    @contextmanager
    def corked(self) -> Iterator[None]:
        """QoS 1/2 PUBLISH packets of ``publish`` calls in this block are written together when it ends
        (instead of one write, and one wake-up of the network thread, per message)."""
        self._corked = []
        try:
            yield
        finally:
            packets, self._corked = self._corked, None
            if packets:
                super()._packet_queue(mqtt.PUBLISH, b"".join(packets), 0, 1)

    def ack_many(self, mids: list[int]) -> None:
        """PUBACK for the QoS 1 messages ``mids`` (received with ``manual_ack``), written at once."""
        if not mids:
            return
        packet = b"".join(_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids)
        self._packet_queue(mqtt.PUBACK, packet, mids[-1], 1)
