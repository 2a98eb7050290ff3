"""The citizen smart-city app's data: street trees, adoptions, waterings, construction sites, litter bins, rain.

Every row belongs to one municipality (trees, sites, bins and rain directly;
adoptions and waterings through their tree). Sensor readings stay in the
SensorThings store (``dikom.sensors``): a tree or a bin names its Thing or
Datastream there by id and reads it through ``dikom.sensors.service``.

Waterings keep the person who logged them only for the adopter's own view and
for rate limits; everything published (the public log, open data) leaves the
person out.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.municipalities.models import Municipality


class Tree(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(_("tree number"), max_length=40)  # the inventory's id (Baumkataster)
    species = models.CharField(_("species"), max_length=120)  # German name
    species_latin = models.CharField(_("botanical name"), max_length=120, blank=True)
    planting_year = models.PositiveSmallIntegerField(_("planting year"), null=True, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    district = models.CharField(_("district"), max_length=120, blank=True)
    longitude = models.FloatField()
    latitude = models.FloatField()
    #: The inventory import that last wrote the tree (a second row with its number in that file is a duplicate).
    last_import = models.ForeignKey(
        "TreeImport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    #: The SensorThings Thing carrying the tree's soil probes (id in ``dikom.sensors``), if any.
    sensor_thing_id = models.BigIntegerField(null=True, blank=True)
    #: The watering need as last computed by the periodic job (``needs_refresh``): good/moderate/critical, or
    #: empty before the first run. Maps, clusters and filters read it; a tree's page computes it afresh.
    need_level = models.CharField(_("watering need"), max_length=10, blank=True, default="")
    need_changed_at = models.DateTimeField(_("need changed at"), null=True, blank=True)
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality", "street", "number"]
        verbose_name = _("street tree")
        constraints = [models.UniqueConstraint(fields=["municipality", "number"], name="smartcity_tree_number")]
        indexes = [
            models.Index(fields=["municipality", "longitude", "latitude"], name="smartcity_tree_position"),
            models.Index(fields=["municipality", "need_level"], name="smartcity_tree_need"),
        ]

    def __str__(self) -> str:
        return f"{self.species} {self.number}"


class Adoption(models.Model):
    """A citizen's tree sponsorship (Baumpatenschaft)."""

    tree = models.ForeignKey(Tree, on_delete=models.CASCADE, related_name="adoptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    #: Opt-in: an e-mail when this tree turns critical (once per change to critical).
    notify_critical = models.BooleanField(_("e-mail when it needs water"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("tree adoption")
        constraints = [models.UniqueConstraint(fields=["tree", "user"], name="smartcity_adoption_once")]

    def __str__(self) -> str:
        return f"{self.tree} – {self.user_id}"


class Watering(models.Model):
    tree = models.ForeignKey(Tree, on_delete=models.CASCADE, related_name="waterings")
    #: Kept for "my waterings" and rate limits only; never published.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    litres = models.PositiveIntegerField(_("litres"), validators=[MinValueValidator(1), MaxValueValidator(500)])
    watered_at = models.DateTimeField(_("watered at"))
    #: Sent with the form; a retried submission with the same key stores nothing new.
    request_key = models.UUIDField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-watered_at", "-pk"]
        verbose_name = _("watering")
        indexes = [models.Index(fields=["tree", "watered_at"], name="smartcity_watering_tree_time")]

    def __str__(self) -> str:
        return f"{self.litres} l – {self.tree}"


class ConstructionSite(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    street = models.CharField(_("street"), max_length=200)
    restriction = models.CharField(_("restriction"), max_length=300, blank=True)
    detour = models.TextField(_("detour"), blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    longitude = models.FloatField(_("longitude"))
    latitude = models.FloatField(_("latitude"))
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_on", "street"]
        verbose_name = _("construction site")
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="smartcity_site_period")
        ]

    def __str__(self) -> str:
        return self.title


class LitterBin(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=200)
    street = models.CharField(_("street"), max_length=200, blank=True)
    longitude = models.FloatField()
    latitude = models.FloatField()
    #: Inner depth from the ultrasonic sensor under the lid to the bottom (cm).
    depth_cm = models.PositiveSmallIntegerField(_("depth (cm)"), default=100)
    #: The fill-level Datastream in ``dikom.sensors`` (distance in cm, or percent when its unit is %).
    datastream_id = models.BigIntegerField(null=True, blank=True)
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality", "street", "name"]
        verbose_name = _("litter bin")

    def __str__(self) -> str:
        return self.name


class RainDay(models.Model):
    """Daily precipitation of the city's weather station (DWD ``RSK``, mm)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    millimetres = models.FloatField()

    class Meta:
        ordering = ["municipality", "day"]
        verbose_name = _("rain day")
        constraints = [models.UniqueConstraint(fields=["municipality", "day"], name="smartcity_rain_day")]

    def __str__(self) -> str:
        return f"{self.day}: {self.millimetres} mm"


class TreeImport(models.Model):
    """A tree inventory file (Baumkataster, CSV or GeoJSON) a city admin uploaded, read by the task worker.

    The file waits in the default storage until the worker has read it (then
    it is deleted); the import keeps the counts and the first
    ``MAX_REPORTED`` rejected rows for its report page.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=10)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    stored_path = models.CharField(max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WAITING)
    total_rows = models.PositiveIntegerField(_("rows in the file"), null=True, blank=True)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    created_count = models.PositiveIntegerField(_("trees added"), default=0)
    updated_count = models.PositiveIntegerField(_("trees updated"), default=0)
    rejected_count = models.PositiveIntegerField(_("rows rejected"), default=0)
    #: The first rejected rows: ``{"row": n, "number": "...", "message": "..."}``.
    rejected = models.JSONField(_("rejected rows"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("tree inventory import")
        verbose_name_plural = _("tree inventory imports")

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, int(self.rows_read * 100 / self.total_rows))


class CriticalAlertOptIn(models.Model):
    """A citizen's global opt-in: an e-mail whenever any tree they sponsor turns critical, in every city."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("watering alert for all my trees")
        verbose_name_plural = _("watering alerts for all my trees")

    def __str__(self) -> str:
        return str(self.user_id)


class SensorAlertSettings(models.Model):
    """A city's thresholds for the staff's sensor alerts (defaults apply while a city has none)."""

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE, related_name="+")
    silent_hours = models.PositiveSmallIntegerField(
        _("sensor silent after (hours)"), default=24, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)]
    )
    battery_low_percent = models.PositiveSmallIntegerField(
        _("battery low below (%)"), default=20, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )
    battery_low_volts = models.FloatField(
        _("battery low below (volts)"), default=3.3, validators=[MinValueValidator(0.5), MaxValueValidator(24)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sensor alert thresholds")
        verbose_name_plural = _("sensor alert thresholds")

    def __str__(self) -> str:
        return str(self.municipality_id)


class Threshold(models.Model):
    """A city's own limit for trees or bins of one species, district, area, tree or bin (``thresholds.py``).

    Trees: the soil water tension (cbar) up to which a tree counts as well
    supplied and up to which as "water soon"; bins: the fill level (%) from
    which a bin needs emptying. Where several apply, the most specific wins:
    single tree or bin, then area, then district, then species, then the whole
    city; without any, the defaults of ``need.py`` and ``bins.py``.
    """

    class Subject(models.TextChoices):
        TREES = "trees", _("street trees")
        BINS = "bins", _("litter bins")

    class Scope(models.TextChoices):
        CITY = "city", _("whole city")
        SPECIES = "species", _("species")
        DISTRICT = "district", _("district")
        AREA = "area", _("area")
        TREE = "tree", _("single tree")
        BIN = "bin", _("single litter bin")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(_("applies to"), max_length=10, choices=Subject.choices)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    species = models.CharField(_("species"), max_length=120, blank=True)
    district = models.CharField(_("district"), max_length=120, blank=True)
    #: The area: a rectangle of longitude/latitude (WGS 84).
    west = models.FloatField(_("west (longitude)"), null=True, blank=True)
    south = models.FloatField(_("south (latitude)"), null=True, blank=True)
    east = models.FloatField(_("east (longitude)"), null=True, blank=True)
    north = models.FloatField(_("north (latitude)"), null=True, blank=True)
    tree = models.ForeignKey(Tree, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    litter_bin = models.ForeignKey(LitterBin, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    good_up_to_cbar = models.FloatField(_("well supplied up to (cbar)"), null=True, blank=True)
    moderate_up_to_cbar = models.FloatField(_("water soon up to (cbar)"), null=True, blank=True)
    full_from_percent = models.PositiveSmallIntegerField(_("needs emptying from (%)"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality", "subject", "scope", "species", "district", "pk"]
        verbose_name = _("threshold")
        verbose_name_plural = _("thresholds")

    def __str__(self) -> str:
        return f"{self.subject}/{self.scope} {self.pk}"


class RouteStart(models.Model):
    """Where a city's emptying round starts and ends (a depot or yard); without one the round starts at a bin."""

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name of the start point"), max_length=200)
    longitude = models.FloatField(_("longitude"))
    latitude = models.FloatField(_("latitude"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("start of the emptying round")
        verbose_name_plural = _("starts of the emptying round")

    def __str__(self) -> str:
        return self.name
