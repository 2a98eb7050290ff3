"""Open datasets of the member cities: organisations, datasets, their distributions and change history."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.municipalities.models import Municipality


class Organization(models.Model):
    """A publisher: one per city, plus the cooperation itself (no municipality)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.SlugField(_("short name"), max_length=100, unique=True)
    title = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    municipality = models.OneToOneField(
        Municipality,
        verbose_name=_("municipality"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="opendata_organization",
    )
    email = models.EmailField(_("contact e-mail"), blank=True)
    homepage = models.URLField(_("website"), blank=True)
    contributor_id = models.CharField(
        _("GovData contributor ID"),
        max_length=200,
        blank=True,
        help_text=_("IRI from the dcat-ap.de contributor list; empty: the platform's own."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("open data organisation")
        verbose_name_plural = _("open data organisations")

    def __str__(self) -> str:
        return self.title


class Tag(models.Model):
    name = models.CharField(_("keyword"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("keyword")
        verbose_name_plural = _("keywords")

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.SlugField(_("short name in addresses"), max_length=100, unique=True)
    title = models.CharField(_("title"), max_length=300)
    notes = models.TextField(_("description (Markdown)"), blank=True)
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="datasets"
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT, db_index=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("keywords"), blank=True, related_name="datasets")
    # EU data themes as " ENVI TRAN " (space-delimited so a theme filter is one LIKE on both databases).
    themes = models.CharField(_("themes"), max_length=200, blank=True, default="")
    license_id = models.CharField(_("licence"), max_length=60)
    contact_name = models.CharField(_("contact point"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_url = models.URLField(_("contact web page"), blank=True)
    spatial_ags = models.CharField(_("municipality key (AGS)"), max_length=8, blank=True)
    spatial_geometry = models.TextField(_("geometry (GeoJSON)"), blank=True)
    temporal_start = models.DateField(_("covers from"), null=True, blank=True)
    temporal_end = models.DateField(_("covers until"), null=True, blank=True)
    frequency = models.CharField(_("update frequency"), max_length=12, blank=True)
    issued = models.DateTimeField(_("issued"), null=True, blank=True)
    modified = models.DateTimeField(_("modified"), null=True, blank=True)
    version = models.CharField(_("version"), max_length=60, blank=True)
    version_notes = models.TextField(_("version notes"), blank=True)
    landing_page = models.URLField(_("landing page"), max_length=500, blank=True)
    related = models.ManyToManyField("self", verbose_name=_("related datasets"), blank=True, symmetrical=True)
    extras = models.JSONField(_("further fields"), default=dict, blank=True)
    generated_key = models.CharField(
        _("generator key"),
        max_length=120,
        blank=True,
        db_index=True,
        help_text=_("Set for datasets the platform generates (usage figures, sensor readings)."),
    )
    # Set for datasets a harvest source brought in: the source and the dataset's identifier there.
    harvest_source = models.ForeignKey(
        "HarvestSource", null=True, blank=True, on_delete=models.SET_NULL, related_name="datasets", editable=False
    )
    harvest_identifier = models.CharField(max_length=500, blank=True, default="", editable=False)
    # Hash of the metadata last given to the hook or harvested: an unchanged refresh writes nothing.
    generated_fingerprint = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Normalised words of title, description and keywords for the German search (see search.py).
    search_text = models.TextField(editable=False, default="")
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return self.title

    @property
    def theme_codes(self) -> list[str]:
        return self.themes.split()


class SearchTerm(models.Model):
    """One folded word of a dataset's ``search_text``: the index the German search looks prefixes up in.

    Kept by ``actions.reindex`` (and ``manage.py opendata_reindex`` for rows written
    another way); see ``search.py`` for the folding and ``catalogue_search._text_filter``.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="search_terms")
    term = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")
        constraints = [models.UniqueConstraint(fields=["dataset", "term"], name="opendata_searchterm_unique")]
        indexes = [
            # varchar_pattern_ops lets PostgreSQL use the index for LIKE 'stem%' under any collation;
            # other databases ignore the operator class (SQLite is queried with a range, see service).
            models.Index(
                fields=["term", "dataset"], name="opendata_term_prefix", opclasses=["varchar_pattern_ops", "int8_ops"]
            ),
        ]

    def __str__(self) -> str:
        return self.term


class Resource(models.Model):
    """A distribution: a file uploaded here or a link to one elsewhere."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(Dataset, verbose_name=_("dataset"), on_delete=models.CASCADE, related_name="resources")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    url = models.URLField(_("address"), max_length=1000, blank=True)
    upload = models.FileField(_("file"), upload_to="opendata/%Y/%m/", blank=True)
    format = models.CharField(_("format"), max_length=30, blank=True, db_index=True)
    media_type = models.CharField(_("media type"), max_length=120, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    checksum = models.CharField(_("SHA-256 checksum"), max_length=64, blank=True)
    license_id = models.CharField(_("licence"), max_length=60, blank=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset", "position", "id"]
        verbose_name = _("distribution")
        verbose_name_plural = _("distributions")

    def __str__(self) -> str:
        return self.name or str(self.uuid)


class DatasetRevision(models.Model):
    """One change to a dataset, with the metadata as it was afterwards."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="revisions")
    action = models.CharField(_("change"), max_length=40)
    actor = models.CharField(_("changed by"), max_length=200, blank=True)
    snapshot = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("dataset change")
        verbose_name_plural = _("dataset changes")

    def __str__(self) -> str:
        return f"{self.dataset} · {self.action}"


class DatastoreTable(models.Model):
    """The queryable table of a distribution (CKAN's DataStore): parsed from its CSV/XLSX or created via the API.

    The rows live in a table of their own, ``db_table`` (see ``datastore_sql``), named after the
    distribution's UUID and ``generation``, the number of the latest load; a load builds the next
    generation's table and puts it in place when it is complete.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Reading")
        DONE = "done", _("Ready")
        FAILED = "failed", _("No table")

    resource = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="datastore")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    # [{"id": column, "type": "text" | "int" | "numeric" | "date" | "timestamp"}, …] in file order;
    # the field at position i is the column c<i+1> of db_table.
    fields = models.JSONField(default=list)
    primary_key = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    message = models.TextField(_("message"), blank=True)
    source = models.CharField(max_length=10, default="file")  # "file" (parsed upload) or "api" (datastore_create)
    db_table = models.CharField(max_length=63, blank=True, editable=False)
    generation = models.PositiveIntegerField(default=0, editable=False)
    # Rows of the load under way (progress), while row_count is that of the table in place.
    loaded_rows = models.PositiveIntegerField(default=0)
    # The highest _id; equal to row_count when no row was deleted (then deep pages seek by _id).
    last_id = models.PositiveBigIntegerField(default=0)
    # Column types the publisher chose, {field id: type}; applied to every load of the file.
    type_overrides = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["resource"]
        verbose_name = _("DataStore table")
        verbose_name_plural = _("DataStore tables")

    def __str__(self) -> str:
        return f"{self.resource} ({self.state})"


class HarvestSource(models.Model):
    """Another portal whose datasets an organisation imports on a schedule (CKAN API or DCAT-AP catalogue)."""

    class Kind(models.TextChoices):
        CKAN = "ckan", _("CKAN portal (Action API)")
        DCAT = "dcat", _("DCAT-AP catalogue (RDF: Turtle, RDF/XML, JSON-LD)")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="harvest_sources"
    )
    title = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("address"), max_length=1000)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    every_hours = models.PositiveIntegerField(_("harvest every (hours)"), default=24)
    active = models.BooleanField(_("active"), default=True)
    next_run_at = models.DateTimeField(_("next harvest"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "title"]
        verbose_name = _("harvest source")
        verbose_name_plural = _("harvest sources")

    def __str__(self) -> str:
        return self.title


class HarvestRun(models.Model):
    """One harvest of a source: what it created, updated, withdrew, and what went wrong."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        OK = "ok", _("Done")
        PARTIAL = "partial", _("Done with errors")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(HarvestSource, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    found = models.PositiveIntegerField(_("found"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    withdrawn = models.PositiveIntegerField(_("withdrawn"), default=0)
    errors = models.JSONField(_("errors"), default=list)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("harvest run")
        verbose_name_plural = _("harvest runs")

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M}"
