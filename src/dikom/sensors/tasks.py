"""Background tasks of the sensors app. They take primitive arguments."""

from __future__ import annotations

from dikom.lib.tasks import retrying_task


@retrying_task(backoff_seconds=5)
def publish_observations(ids: list[int]) -> None:
    """Announce new observations on the MQTT broker (``dikom.sensors.mqtt``)."""
    from dikom.sensors.mqtt import publish_observations as publish

    publish(ids)


@retrying_task(backoff_seconds=60)
def maintain_observation_partitions() -> None:
    """PostgreSQL: create the monthly observation partitions ahead; drop those past the retention
    (``DIKOM_STA_RAW_RETENTION_DAYS``; on SQLite the rows are deleted). See ``dikom.sensors.partitions``."""
    from dikom.sensors.partitions import apply_retention, ensure_partitions

    ensure_partitions()
    apply_retention()
