"""roadMAP: competence frameworks, role profiles, assessments and their evidence.

Invariants:
- A framework version is immutable once stored; importing a changed framework
  adds a new version. Profiles and assessments point at a version, so an old
  assessment keeps the meaning of the levels it was made against.
- An assessment belongs to one person in one city; a new self-assessment adds
  a row (history), it never overwrites one. The line manager's confirmation or
  correction is stored on the row it reviews.
- Personal data kept: the levels, who reviewed them when, evidence notes and
  files. Nothing else about the person is stored here.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dikom.municipalities.models import Municipality, OrgUnit


class Framework(models.Model):
    """A competence framework: built in (DigComp, KGSt), of a city, or of the cooperation (no city)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key = models.CharField(_("key"), max_length=60)
    municipality = models.ForeignKey(
        Municipality,
        verbose_name=_("municipality"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="competence_frameworks",
        help_text=_("Empty for frameworks of the whole cooperation."),
    )
    is_builtin = models.BooleanField(_("shipped with dikom"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("competence framework")
        verbose_name_plural = _("competence frameworks")
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(municipality__isnull=True), name="framework_unique_key_cooperation"
            ),
            models.UniqueConstraint(fields=["municipality", "key"], name="framework_unique_key_per_city"),
        ]

    def __str__(self) -> str:
        return self.key


class FrameworkVersion(models.Model):
    """One immutable version of a framework; ``content`` is the exchange document (exchange.py)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("content"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["framework", "-number"]
        verbose_name = _("framework version")
        verbose_name_plural = _("framework versions")
        constraints = [models.UniqueConstraint(fields=["framework", "number"], name="framework_version_unique")]

    def __str__(self) -> str:
        return f"{self.framework.key} v{self.number}"

    @property
    def name(self) -> dict[str, str]:
        return self.content["name"]

    @property
    def levels(self) -> list[dict[str, Any]]:
        return self.content.get("levels", [])

    @property
    def max_level(self) -> int:
        return len(self.levels)

    def competences(self) -> list[dict[str, Any]]:
        """All competences with their area, in framework order."""
        return [
            {**competence, "area": area["code"], "area_title": area["title"]}
            for area in self.content["areas"]
            for competence in area["competences"]
        ]

    def competence_codes(self) -> set[str]:
        return {c["code"] for area in self.content["areas"] for c in area["competences"]}


class RoleProfile(models.Model):
    """What a role needs: required levels per competence of one framework version."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="role_profiles"
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    framework_version = models.ForeignKey(
        FrameworkVersion, verbose_name=_("framework version"), on_delete=models.PROTECT, related_name="profiles"
    )
    # {competence code: required level}
    requirements = models.JSONField(_("required levels"), default=dict)
    shared = models.BooleanField(_("shared with the cooperation"), default=False)
    org_units = models.ManyToManyField(
        OrgUnit, verbose_name=_("organisational units"), blank=True, related_name="role_profiles"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality", "name"]
        verbose_name = _("role profile")
        verbose_name_plural = _("role profiles")
        constraints = [models.UniqueConstraint(fields=["municipality", "name"], name="roleprofile_unique_name")]

    def __str__(self) -> str:
        return self.name


class UnitManager(models.Model):
    """The line manager (head) of an org unit; they manage its staff and those of its sub-units."""

    org_unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="competence_managers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="managed_units")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org_unit"]
        verbose_name = _("line manager")
        verbose_name_plural = _("line managers")
        constraints = [models.UniqueConstraint(fields=["org_unit", "user"], name="unitmanager_unique")]

    def __str__(self) -> str:
        return f"{self.org_unit} · {self.user}"


class StaffProfile(models.Model):
    """A staff member of a city in roadMAP: their unit, role profile, review cycle and departure."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="competence_profiles")
    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="competence_staff")
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("organisational unit"), null=True, blank=True, on_delete=models.SET_NULL
    )
    role_profile = models.ForeignKey(
        RoleProfile, verbose_name=_("role profile"), null=True, blank=True, on_delete=models.SET_NULL
    )
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    reminded_for = models.DateField(null=True, blank=True, editable=False)
    left_on = models.DateField(_("left the city on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality", "user"]
        verbose_name = _("staff member in roadMAP")
        verbose_name_plural = _("staff members in roadMAP")
        constraints = [models.UniqueConstraint(fields=["user", "municipality"], name="staffprofile_unique")]

    def __str__(self) -> str:
        return f"{self.user} ({self.municipality})"


class Assessment(models.Model):
    """One assessment of one competence of one person, against one framework version."""

    class Kind(models.TextChoices):
        SELF = "self", _("Self-assessment")
        MANAGER = "manager", _("Assessment by the line manager")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting the line manager")
        CONFIRMED = "confirmed", _("Confirmed")
        CORRECTED = "corrected", _("Corrected by the line manager")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    staff = models.ForeignKey(StaffProfile, on_delete=models.CASCADE, related_name="assessments")
    framework_version = models.ForeignKey(FrameworkVersion, on_delete=models.PROTECT, related_name="assessments")
    competence_code = models.CharField(max_length=30)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SELF)
    self_level = models.PositiveSmallIntegerField(_("own assessment"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    confirmed_level = models.PositiveSmallIntegerField(_("confirmed level"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.CharField(_("comment"), max_length=500, blank=True)
    # When a later review of the same person, competence and framework version replaced this
    # confirmed level (None: it is the current one). Lets the heat map aggregate in SQL.
    superseded_at = models.DateTimeField(_("superseded at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["staff", "competence_code", "-created_at"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        indexes = [
            models.Index(fields=["staff", "competence_code", "created_at"], name="assessment_history"),
            # Covers the heat map's level sums (gaps._level_sums): no table lookups per assessment.
            models.Index(
                fields=[
                    "staff",
                    "competence_code",
                    "framework_version",
                    "confirmed_level",
                    "reviewed_at",
                    "superseded_at",
                ],
                name="assessment_levels",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.competence_code} · {self.get_status_display()}"


class Evidence(models.Model):
    """Evidence for an assessment. Trainings completed in dikom will add a kind here."""

    class Kind(models.TextChoices):
        CERTIFICATE = "certificate", _("Certificate")
        NOTE = "note", _("Note")
        TRAINING = "training", _("Completed training")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    file = models.FileField(_("file"), upload_to="competences/evidence/%Y/", blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    enrolment = models.ForeignKey(
        "Enrolment", null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    def __str__(self) -> str:
        return self.get_kind_display()


class CitySettings(models.Model):
    """A city's roadMAP settings: comparison opt-in, retention and review cycle."""

    municipality = models.OneToOneField(Municipality, on_delete=models.CASCADE, related_name="competence_settings")
    compare_across_cities = models.BooleanField(_("share aggregates in the city comparison"), default=False)
    retention_days = models.PositiveIntegerField(_("retention after departure (days)"))
    review_interval_days = models.PositiveIntegerField(_("review interval (days)"), default=365)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("roadMAP settings")
        verbose_name_plural = _("roadMAP settings")

    def __str__(self) -> str:
        return str(self.municipality)


class Training(models.Model):
    """A training of the cooperation's qualification programme, offered by a member city or the cooperation.

    ``targets`` names the competences (codes of ``framework_version``) and the level the training
    builds: {competence code: target level}. Any staff member of any member city may enrol.
    """

    class Format(models.TextChoices):
        ONLINE = "online", _("Online")
        IN_PERSON = "in_person", _("In person")
        HYBRID = "hybrid", _("Hybrid")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offered_by = models.ForeignKey(
        Municipality,
        verbose_name=_("offered by"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="trainings",
        help_text=_("Empty for trainings of the whole cooperation."),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    provider = models.CharField(_("provider"), max_length=200, blank=True)
    format = models.CharField(_("format"), max_length=12, choices=Format.choices, default=Format.ONLINE)
    place = models.CharField(_("place"), max_length=300, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    seats = models.PositiveIntegerField(_("seats"))
    framework_version = models.ForeignKey(
        FrameworkVersion, verbose_name=_("framework version"), on_delete=models.PROTECT, related_name="trainings"
    )
    targets = models.JSONField(_("competences and target levels"), default=dict)
    cancelled = models.BooleanField(_("cancelled"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "title"]
        verbose_name = _("training")
        verbose_name_plural = _("trainings")
        indexes = [models.Index(fields=["starts_at"], name="training_starts")]

    def __str__(self) -> str:
        return self.title


class Enrolment(models.Model):
    """A staff member's place on a training (or on its waiting list) and whether they completed it."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Awaiting approval by the line manager")
        ENROLLED = "enrolled", _("Enrolled")
        WAITING = "waiting", _("On the waiting list")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        DECLINED = "declined", _("Declined by the line manager")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    training = models.ForeignKey(Training, on_delete=models.CASCADE, related_name="enrolments")
    staff = models.ForeignKey(StaffProfile, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ENROLLED)
    # Place in the queue for a seat: set when the request is approved (the waiting list is in this order).
    queued_at = models.DateTimeField(_("queued for a seat at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.CharField(_("comment on the decision"), max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["training", "created_at"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [models.UniqueConstraint(fields=["training", "staff"], name="enrolment_unique")]

    def __str__(self) -> str:
        return f"{self.training} · {self.get_status_display()}"


class Cluster(models.Model):
    """A competence cluster of the Virtual Competence Center (e.g. E-Akte, OZG implementation)."""

    key = models.SlugField(_("key"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    framework_key = models.CharField(_("framework"), max_length=60, default="digcomp-2.2")
    competence_codes = models.JSONField(_("competences"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("competence cluster")
        verbose_name_plural = _("competence clusters")

    def __str__(self) -> str:
        return self.name


class Expert(models.Model):
    """A staff member who opted in to be found as an expert, across cities.

    Only what the person entered here is shown to others (never their assessments);
    opting out deletes the row.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    staff = models.OneToOneField(StaffProfile, on_delete=models.CASCADE, related_name="expert")
    competence_codes = models.JSONField(_("competences"), default=list)
    clusters = models.ManyToManyField(Cluster, verbose_name=_("clusters"), blank=True, related_name="experts")
    availability = models.CharField(_("availability"), max_length=300, blank=True)
    unavailable_until = models.DateField(_("not available until"), null=True, blank=True)
    share_email = models.BooleanField(_("show my e-mail address to other cities"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["staff__user__last_name"]
        verbose_name = _("expert")
        verbose_name_plural = _("experts")

    def __str__(self) -> str:
        return str(self.staff)

    def is_available(self, today: Any = None) -> bool:
        from django.utils import timezone

        return self.unavailable_until is None or self.unavailable_until < (today or timezone.localdate())


class ExpertContact(models.Model):
    """That someone sent an expert a contact request (for the daily limit); the message itself is not kept."""

    expert = models.ForeignKey(Expert, verbose_name=_("expert"), on_delete=models.CASCADE, related_name="contacts")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sender"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("contact request to an expert")
        verbose_name_plural = _("contact requests to experts")
        indexes = [models.Index(fields=["sender", "created_at"], name="expertcontact_sender")]

    def __str__(self) -> str:
        return f"{self.sender} → {self.expert}"


class ClusterDocument(models.Model):
    """A document in a cluster's library of the Virtual Competence Center, with all its versions.

    Visible to the cooperation's staff only (never to citizens). ``search_text`` holds the folded
    words of the title, description and every version's note and file name (see documents.py).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cluster = models.ForeignKey(
        Cluster, verbose_name=_("competence cluster"), on_delete=models.CASCADE, related_name="documents"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    search_text = models.TextField(_("search text"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["cluster", "title"]
        verbose_name = _("cluster document")
        verbose_name_plural = _("cluster documents")

    def __str__(self) -> str:
        return self.title


class DocumentVersion(models.Model):
    """One uploaded version of a cluster document: who uploaded it when, and what changed."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey(
        ClusterDocument, verbose_name=_("document"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("file"), upload_to="competences/documents/%Y/")
    file_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=120)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    scan_status = models.CharField(_("virus check"), max_length=20)
    note = models.CharField(_("what changed"), max_length=500, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_by_name = models.CharField(_("uploaded by (name)"), max_length=200, blank=True)
    municipality = models.ForeignKey(
        Municipality,
        verbose_name=_("municipality"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["document", "-number"]
        verbose_name = _("document version")
        verbose_name_plural = _("document versions")
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="document_version_unique")]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"


class LevelSum(models.Model):
    """The city's confirmed levels summed per (competence, unit, role profile, framework version, quarter).

    Maintained by database triggers on assessments and staff profiles (migration 0010, see
    ``levelsums.py``), in the transaction of the change, whatever path changes the rows. Stored as
    changes per quarter: an assessment adds its level in the quarter it was reviewed and subtracts
    it in the quarter it was superseded, so the sum over all quarters up to Q is the level valid at
    the end of Q, and the sum over all rows is the current level. Only staff who have not left and
    have a unit and a role profile count, under their current unit and profile. No personal data:
    the smallest group is the staff of one unit with one profile (and cells under five people are
    hidden when shown).
    """

    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+", editable=False
    )
    org_unit = models.ForeignKey(
        OrgUnit, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+", editable=False
    )
    role_profile = models.ForeignKey(
        RoleProfile, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+", editable=False
    )
    competence_code = models.CharField(max_length=30, editable=False)
    framework_version = models.ForeignKey(
        FrameworkVersion,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        editable=False,
    )
    # year × 4 + quarter − 1 (UTC), e.g. Q3/2026 = 8106
    quarter = models.IntegerField(editable=False)
    delta = models.IntegerField(editable=False)

    class Meta:
        verbose_name = _("level sum")
        verbose_name_plural = _("level sums")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "org_unit", "role_profile", "competence_code", "framework_version", "quarter"],
                name="levelsum_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.competence_code} · {self.quarter}: {self.delta}"
