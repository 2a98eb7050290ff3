"""Background tasks of the sensors app. They take primitive arguments."""

from __future__ import annotations

from dikom.lib.tasks import retrying_task


@retrying_task(backoff_seconds=5)
def publish_observations(ids: list[int]) -> None:
    """Announce new observations on the MQTT broker (``dikom.sensors.mqtt``)."""
    from dikom.sensors.mqtt import publish_observations as publish

    publish(ids)
