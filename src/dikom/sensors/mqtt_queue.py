"""An MQTT subscription whose messages are stored by the caller's thread and acknowledged only once stored.

Shared by the SensorThings listener (``mqtt_ingest.Ingestor``) and the LoRaWAN
listener (``lorawan_mqtt.Listener``). paho's network thread only puts what
arrives into a queue, which keeps database work out of the network loop; the
caller takes it in blocks (:meth:`QueuedSubscriber.store_arrived`), stores a
block and only then acknowledges its messages to the broker (the client is made
with ``manual_ack``). When storing raises (e.g. the database is gone), the block
is not acknowledged and the error reaches the caller: the broker delivers those
messages again to the restarted listener (QoS 1, persistent session).
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

#: A received message: topic, payload, packet id and QoS (the last two for the acknowledgement).
Received = tuple[str, bytes, int, int]


class QueuedSubscriber:
    """A listener's receiving half: ``messages`` holds what arrived, ``subscribed`` turns true once the broker
    confirmed the subscription.

    The subclass makes ``self.client`` (with ``manual_ack=True``) and calls :meth:`receive_into_queue` before
    connecting.
    """

    client: mqtt.Client
    messages: queue.Queue[Received]
    subscribed: bool

    def receive_into_queue(self) -> None:
        self.messages = queue.Queue()
        self.subscribed = False
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = lambda _c, _u, msg: self.messages.put((msg.topic, msg.payload, msg.mid, msg.qos))

    def _on_subscribe(self, *_args: Any) -> None:
        self.subscribed = True

    def store_arrived(self, store: Callable[[list[tuple[str, bytes]]], None], wait: float, batch: int) -> None:
        """Hand what has arrived (waiting up to ``wait`` seconds for the first message) to ``store`` in blocks
        of up to ``batch`` (topic, payload) pairs, acknowledging each block once ``store`` returned."""
        try:
            first = self.messages.get(timeout=wait)
        except queue.Empty:
            return
        block = [first, *self._take(batch - 1)]
        while block:
            store([(topic, payload) for topic, payload, _mid, _qos in block])
            self.acknowledge(block)
            # A short block emptied the queue; after a full one more may be waiting.
            block = self._take(batch) if len(block) == batch else []

    def acknowledge(self, block: list[Received]) -> None:
        """Acknowledge a stored block's messages to the broker."""
        for _topic, _payload, mid, qos in block:
            if qos:
                self.client.ack(mid, qos)

    def _take(self, most: int) -> list[Received]:
        taken: list[Received] = []
        while len(taken) < most:
            try:
                taken.append(self.messages.get_nowait())
            except queue.Empty:
                break
        return taken

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
