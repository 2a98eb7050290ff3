"""The eight entity types of the OGC SensorThings API 1.1 (Sensing part).

Every entity belongs to one municipality: the city whose API key created it.
Geometries are stored as GeoJSON (no spatial database needed); Locations and
FeaturesOfInterest keep their bounding box in plain columns so that spatial
filters can narrow the candidates in SQL before the exact test in Python.
Observations carry their result as JSON plus a numeric and a text copy, so
that ``$filter=result gt 30`` runs in SQL on an indexed column.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.municipalities.models import Municipality


class StaEntity(models.Model):
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return str(getattr(self, "name", "") or f"{type(self).__name__} {self.pk}")


class BBoxMixin(models.Model):
    min_x = models.FloatField(null=True, blank=True)
    min_y = models.FloatField(null=True, blank=True)
    max_x = models.FloatField(null=True, blank=True)
    max_y = models.FloatField(null=True, blank=True)

    class Meta:
        abstract = True


class Thing(StaEntity):
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    properties = models.JSONField(null=True, blank=True)
    #: The city publishes the Thing (and what hangs on it) to anonymous readers; see ``visibility.py``.
    published = models.BooleanField(_("published"), default=True)

    class Meta(StaEntity.Meta):
        verbose_name = _("thing")


class Location(StaEntity, BBoxMixin):
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    encoding_type = models.CharField(max_length=100, default="application/geo+json")
    location = models.JSONField()
    properties = models.JSONField(null=True, blank=True)
    things = models.ManyToManyField(Thing, related_name="locations", blank=True)

    class Meta(StaEntity.Meta):
        verbose_name = _("location")


class HistoricalLocation(StaEntity):
    time = models.DateTimeField()
    thing = models.ForeignKey(Thing, on_delete=models.CASCADE, related_name="historical_locations")
    locations = models.ManyToManyField(Location, related_name="historical_locations")

    class Meta(StaEntity.Meta):
        verbose_name = _("historical location")


class Sensor(StaEntity):
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    encoding_type = models.CharField(max_length=100)
    metadata = models.TextField(blank=True)
    properties = models.JSONField(null=True, blank=True)

    class Meta(StaEntity.Meta):
        verbose_name = _("sensor")


class ObservedProperty(StaEntity):
    name = models.CharField(_("name"), max_length=255)
    definition = models.CharField(max_length=500)
    description = models.TextField(_("description"), blank=True)
    properties = models.JSONField(null=True, blank=True)

    class Meta(StaEntity.Meta):
        verbose_name = _("observed property")


class Datastream(StaEntity):
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    observation_type = models.CharField(max_length=255)
    unit_of_measurement = models.JSONField()
    observed_area = models.JSONField(null=True, blank=True)
    phenomenon_time_start = models.DateTimeField(null=True, blank=True)
    phenomenon_time_end = models.DateTimeField(null=True, blank=True)
    result_time_start = models.DateTimeField(null=True, blank=True)
    result_time_end = models.DateTimeField(null=True, blank=True)
    properties = models.JSONField(null=True, blank=True)
    #: Published only when its Thing is published too.
    published = models.BooleanField(_("published"), default=True)
    thing = models.ForeignKey(Thing, on_delete=models.CASCADE, related_name="datastreams")
    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="datastreams")
    observed_property = models.ForeignKey(ObservedProperty, on_delete=models.CASCADE, related_name="datastreams")

    class Meta(StaEntity.Meta):
        verbose_name = _("datastream")


class FeatureOfInterest(StaEntity, BBoxMixin):
    name = models.CharField(_("name"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    encoding_type = models.CharField(max_length=100, default="application/geo+json")
    feature = models.JSONField()
    properties = models.JSONField(null=True, blank=True)
    # Set when the server generated this feature from a Thing's Location (spec 10.2.2).
    source_location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(StaEntity.Meta):
        verbose_name = _("feature of interest")


class Observation(models.Model):
    """One reading. ``municipality`` is its Datastream's, copied into the row (``save`` keeps it; bulk writers
    set it): the STA API scopes by it without a join, and it is the column Citus distributes by
    (``docs/scaling.md``). On PostgreSQL the table is partitioned by month of ``phenomenon_time``
    (``dikom.sensors.partitions``)."""

    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="+", verbose_name=_("municipality")
    )
    # no index of its own: (datastream, phenomenon_time) below serves lookups by datastream too
    datastream = models.ForeignKey(Datastream, on_delete=models.CASCADE, related_name="observations", db_index=False)
    feature_of_interest = models.ForeignKey(FeatureOfInterest, on_delete=models.CASCADE, related_name="observations")
    phenomenon_time = models.DateTimeField()
    phenomenon_time_end = models.DateTimeField(null=True, blank=True)
    result_time = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True)
    result_number = models.FloatField(null=True, blank=True)
    result_string = models.TextField(null=True, blank=True)  # noqa: DJ001  (null: the result is no text)
    result_quality = models.JSONField(null=True, blank=True)
    valid_time_start = models.DateTimeField(null=True, blank=True)
    valid_time_end = models.DateTimeField(null=True, blank=True)
    parameters = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("observation")
        indexes = [models.Index(fields=["datastream", "phenomenon_time"], name="sensors_obs_ds_time")]

    def __str__(self) -> str:
        return f"Observation {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.datastream_id is not None:
            self.municipality_id = self.datastream.municipality_id
        super().save(*args, **kwargs)


class LorawanDevice(models.Model):
    """What the network servers last told about one LoRaWAN device of a city (mapped or not): its health."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    dev_eui = models.CharField(_("DevEUI"), max_length=16)
    device_id = models.CharField(_("device ID"), max_length=100, blank=True)
    last_seen = models.DateTimeField(_("last seen"))
    f_cnt = models.PositiveBigIntegerField(_("frame counter"), default=0)
    rssi = models.FloatField(_("RSSI (dBm)"), null=True, blank=True)
    snr = models.FloatField(_("SNR (dB)"), null=True, blank=True)
    battery_volts = models.FloatField(_("battery (V)"), null=True, blank=True)
    battery_percent = models.FloatField(_("battery (%)"), null=True, blank=True)
    uplinks = models.PositiveIntegerField(_("uplinks"), default=0)

    class Meta:
        verbose_name = _("LoRaWAN device")
        verbose_name_plural = _("LoRaWAN devices")
        ordering = ["municipality", "dev_eui"]
        constraints = [models.UniqueConstraint(fields=["municipality", "dev_eui"], name="sensors_lorawan_device_eui")]

    def __str__(self) -> str:
        return self.device_id or self.dev_eui


class HeldUplink(models.Model):
    """An uplink that could not be stored yet (unknown device, no mapping, unreadable payload): kept, never dropped.

    A city admin maps the device; then the held uplinks are stored in the order they arrived.
    """

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(_("source"), max_length=20)  # tts, chirpstack, tts-mqtt
    dev_eui = models.CharField(_("DevEUI"), max_length=16)
    device_id = models.CharField(_("device ID"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received at"))
    f_cnt = models.PositiveBigIntegerField(_("frame counter"), default=0)
    f_port = models.PositiveIntegerField(_("port"), null=True, blank=True)
    payload = models.BinaryField(_("payload bytes"), max_length=256, blank=True, default=b"")
    decoded = models.JSONField(_("decoded payload"), null=True, blank=True)
    rssi = models.FloatField(null=True, blank=True)
    snr = models.FloatField(null=True, blank=True)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    stored_at = models.DateTimeField(_("stored at"), null=True, blank=True)

    class Meta:
        verbose_name = _("held uplink")
        verbose_name_plural = _("held uplinks")
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "dev_eui", "f_cnt", "received_at"], name="sensors_held_uplink_once"
            )
        ]
        indexes = [models.Index(fields=["municipality", "stored_at", "dev_eui"], name="sensors_held_open")]

    def __str__(self) -> str:
        return f"{self.dev_eui} {self.received_at:%Y-%m-%d %H:%M}"
