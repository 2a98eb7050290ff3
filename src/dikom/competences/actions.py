"""The only code that changes roadMAP data.

Every function runs in one transaction and records what it did in the audit
log (levels are not copied into the log, only which assessment changed);
e-mails go out on commit. Reading another person's assessments is recorded
too (``record_person_view``), since the staff council may ask who looked.
Concurrent reviews of the same assessment: the row is locked, the second
review sees the first one's result and overwrites it as a correction, which
the history keeps (the audit log holds both).
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.audit import actions as audit
from dikom.competences import exchange
from dikom.competences.models import (
    Assessment,
    CitySettings,
    Evidence,
    Framework,
    FrameworkVersion,
    RoleProfile,
    StaffProfile,
    UnitManager,
)
from dikom.lib.mail import send_mail_on_commit
from dikom.municipalities.models import Municipality, OrgUnit
from dikom.scanning import service as scanning

BUILTIN_DIR = Path(__file__).resolve().parent / "data"
BUILTIN_FILES = ("digcomp-2.2.json", "kgst-2020.json")
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
EVIDENCE_TYPES = {b"%PDF-": ".pdf", b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}


class CompetenceError(ValueError):
    """A refused change; the message is translated for the person who tried."""


# --- frameworks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What an import did: ``created`` False means the same content was already stored as ``version``."""

    version: FrameworkVersion
    created: bool


def import_framework(
    content: dict[str, Any], *, municipality: Municipality | None, actor: Any = None
) -> FrameworkVersion:
    """Store a validated framework document as a new version (or return the stored one if unchanged)."""
    return import_framework_version(content, municipality=municipality, actor=actor).version


def import_framework_version(
    content: dict[str, Any], *, municipality: Municipality | None, actor: Any = None
) -> ImportResult:
    """Import idempotently: content already stored (in any version) is not stored again.

    Two imports of the same file at the same moment (a double click, two tabs) both
    want the next version number or a new framework row; the loser of that race gets
    the database's unique constraint, and this function then simply answers with what
    the winner stored. Nothing here raises IntegrityError to the caller.
    """
    content = exchange.validate_document(content)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _import_locked(content, municipality=municipality, actor=actor)
        except IntegrityError:
            if attempt == 2:
                raise CompetenceError(
                    _("The framework is being imported by someone else right now. Please try again in a moment.")
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _import_locked(content: dict[str, Any], *, municipality: Municipality | None, actor: Any) -> ImportResult:
    framework = Framework.objects.filter(key=content["key"], municipality=municipality).first()
    if framework is None:
        framework = Framework.objects.create(key=content["key"], municipality=municipality)
    else:
        framework = Framework.objects.select_for_update().get(pk=framework.pk)
    versions = list(framework.versions.order_by("-number"))
    same = next((v for v in versions if v.content == content), None)
    if same is not None:
        return ImportResult(version=same, created=False)
    if framework.is_builtin and municipality is None and actor is not None:
        raise CompetenceError(_("Frameworks shipped with dikom cannot be changed; import it under another key."))
    version = FrameworkVersion.objects.create(
        framework=framework, number=(versions[0].number + 1) if versions else 1, content=content
    )
    audit.record(
        "competences.framework.import",
        actor=actor,
        municipality=municipality,
        obj=version,
        changes={"key": content["key"], "version": version.number},
    )
    return ImportResult(version=version, created=True)


def install_builtin_clusters() -> int:
    """The clusters of the Virtual Competence Center shipped as data (idempotent); returns how many were new."""
    from dikom.competences.builtin import CLUSTERS
    from dikom.competences.models import Cluster

    created = 0
    for key, name, description, codes in CLUSTERS:
        _cluster, new = Cluster.objects.get_or_create(
            key=key, defaults={"name": name, "description": description, "competence_codes": codes}
        )
        created += int(new)
    return created


def install_builtin_frameworks() -> list[FrameworkVersion]:
    """DigComp 2.2 and the KGSt key competences (idempotent)."""
    versions = []
    for name in BUILTIN_FILES:
        content = exchange.parse_json((BUILTIN_DIR / name).read_bytes())
        version = import_framework(content, municipality=None)
        Framework.objects.filter(pk=version.framework_id).update(is_builtin=True)
        versions.append(version)
    return versions


# --- city settings, profiles, managers, staff --------------------------------------------------


def city_settings(municipality: Municipality) -> CitySettings:
    found, _created = CitySettings.objects.get_or_create(
        municipality=municipality, defaults={"retention_days": settings.DIKOM_COMPETENCES_RETENTION_DAYS}
    )
    return found


@transaction.atomic
def update_city_settings(
    municipality: Municipality,
    *,
    actor: Any,
    compare_across_cities: bool,
    retention_days: int,
    review_interval_days: int,
) -> CitySettings:
    found = city_settings(municipality)
    before = [found.compare_across_cities, found.retention_days, found.review_interval_days]
    found.compare_across_cities = compare_across_cities
    found.retention_days = retention_days
    found.review_interval_days = review_interval_days
    found.save()
    audit.record(
        "competences.settings.update",
        actor=actor,
        municipality=municipality,
        obj=found,
        changes={"before": before, "after": [compare_across_cities, retention_days, review_interval_days]},
    )
    return found


def _validate_requirements(version: FrameworkVersion, requirements: dict[str, int]) -> dict[str, int]:
    if not version.levels:
        raise CompetenceError(_("This framework has no levels; import a version with levels first."))
    codes = version.competence_codes()
    cleaned = {}
    for code, level in requirements.items():
        if code not in codes:
            raise CompetenceError(_("The framework has no competence %(code)s.") % {"code": str(code)[:30]})
        if not isinstance(level, int) or not 1 <= level <= version.max_level:
            raise CompetenceError(_("Required levels must be between 1 and %(max)d.") % {"max": version.max_level})
        cleaned[code] = level
    return cleaned


@transaction.atomic
def create_role_profile(
    *,
    municipality: Municipality,
    name: str,
    framework_version: FrameworkVersion,
    requirements: dict[str, int],
    description: str = "",
    shared: bool = False,
    org_units: list[OrgUnit] | None = None,
    actor: Any = None,
) -> RoleProfile:
    profile = RoleProfile.objects.create(
        municipality=municipality,
        name=name,
        description=description,
        framework_version=framework_version,
        requirements=_validate_requirements(framework_version, requirements),
        shared=shared,
    )
    if org_units:
        profile.org_units.set([u for u in org_units if u.municipality_id == municipality.pk])
    audit.record("competences.profile.create", actor=actor, municipality=municipality, obj=profile)
    return profile


@transaction.atomic
def adopt_role_profile(profile: RoleProfile, *, municipality: Municipality, actor: Any) -> RoleProfile:
    """Copy a profile another city shares into ``municipality`` (same framework version and levels)."""
    if not profile.shared and profile.municipality_id != municipality.pk:
        raise CompetenceError(_("This role profile is not shared."))
    name = profile.name
    if RoleProfile.objects.filter(municipality=municipality, name=name).exists():
        name = f"{profile.name} ({profile.municipality.name})"
    return create_role_profile(
        municipality=municipality,
        name=name,
        framework_version=profile.framework_version,
        requirements=profile.requirements,
        description=profile.description,
        actor=actor,
    )


@transaction.atomic
def set_unit_manager(org_unit: OrgUnit, user: Any, *, actor: Any = None) -> UnitManager:
    found, created = UnitManager.objects.get_or_create(org_unit=org_unit, user=user)
    if created:
        audit.record(
            "competences.manager.set",
            actor=actor,
            municipality=org_unit.municipality_id,
            obj=org_unit,
            changes={"manager": user.get_username()},
        )
    return found


@transaction.atomic
def enrol_staff(
    *,
    user: Any,
    municipality: Municipality,
    org_unit: OrgUnit | None,
    role_profile: RoleProfile | None,
    actor: Any = None,
) -> StaffProfile:
    """Put a staff member into roadMAP (or update their unit and profile)."""
    if org_unit is not None and org_unit.municipality_id != municipality.pk:
        raise CompetenceError(_("The unit belongs to another municipality."))
    if role_profile is not None and role_profile.municipality_id != municipality.pk:
        raise CompetenceError(_("The role profile belongs to another municipality."))
    interval = city_settings(municipality).review_interval_days
    staff, created = StaffProfile.objects.update_or_create(
        user=user,
        municipality=municipality,
        defaults={"org_unit": org_unit, "role_profile": role_profile, "left_on": None},
    )
    if created or staff.next_review_on is None:
        staff.next_review_on = timezone.localdate() + datetime.timedelta(days=interval)
        staff.save(update_fields=["next_review_on", "updated_at"])
    audit.record("competences.staff.enrol", actor=actor, municipality=municipality, obj=staff)
    return staff


@transaction.atomic
def record_departure(staff: StaffProfile, *, left_on: datetime.date, actor: Any) -> None:
    staff.left_on = left_on
    staff.save(update_fields=["left_on", "updated_at"])
    audit.record("competences.staff.depart", actor=actor, municipality=staff.municipality_id, obj=staff)


# --- assessments -------------------------------------------------------------------------------


def record_person_view(staff: StaffProfile, *, actor: Any, request: Any = None, what: str = "assessments") -> None:
    """Log that someone other than the person read their assessments."""
    if getattr(actor, "pk", None) == staff.user_id:
        return
    audit.record(
        "competences.assessment.view",
        actor=actor,
        request=request,
        municipality=staff.municipality_id,
        obj=staff,
        changes={"person": staff.user.get_username(), "view": what},
    )


@transaction.atomic
def submit_self_assessment(staff: StaffProfile, levels: dict[str, int], *, actor: Any) -> list[Assessment]:
    """Add a self-assessment row for each competence whose level changed (or was never assessed)."""
    profile = staff.role_profile
    if profile is None:
        raise CompetenceError(_("No role profile is assigned to you yet."))
    version = profile.framework_version
    codes = version.competence_codes()
    latest = _latest_assessments(staff, version)
    created = []
    for code, level in levels.items():
        if code not in codes or not 1 <= level <= version.max_level:
            raise CompetenceError(_("Please choose a level for every competence."))
        current = latest.get(code)
        if current is not None and current.self_level == level and current.status == Assessment.Status.PENDING:
            continue
        if current is not None and current.self_level == level and current.confirmed_level == level:
            continue
        created.append(
            Assessment.objects.create(staff=staff, framework_version=version, competence_code=code, self_level=level)
        )
    if created:
        audit.record(
            "competences.assessment.self",
            actor=actor,
            municipality=staff.municipality_id,
            obj=staff,
            changes={"competences": [a.competence_code for a in created]},
        )
    return created


def _latest_assessments(staff: StaffProfile, version: FrameworkVersion) -> dict[str, Assessment]:
    latest: dict[str, Assessment] = {}
    for assessment in staff.assessments.filter(framework_version=version).order_by("created_at", "id"):
        latest[assessment.competence_code] = assessment
    return latest


@transaction.atomic
def review_assessment(assessment: Assessment, *, manager: Any, level: int, comment: str = "") -> Assessment:
    """The line manager confirms (same level) or corrects (another level) a self-assessment."""
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    # The person's row before the level sums (see levelsums.py): a move or departure of the person
    # locks their row first and then the sums; taking them the other way round could deadlock.
    list(StaffProfile.objects.select_for_update(no_key=True).filter(pk=locked.staff_id).values_list("pk"))
    version = locked.framework_version
    if not 1 <= level <= version.max_level:
        raise CompetenceError(_("Please choose a level between 1 and %(max)d.") % {"max": version.max_level})
    locked.confirmed_level = level
    locked.status = Assessment.Status.CONFIRMED if level == locked.self_level else Assessment.Status.CORRECTED
    locked.reviewed_by = manager
    locked.reviewed_at = timezone.now()
    locked.review_comment = comment[:500]
    locked.superseded_at = None
    locked.save()
    # The earlier confirmed levels of this competence are history from now on.
    Assessment.objects.filter(
        staff_id=locked.staff_id,
        competence_code=locked.competence_code,
        framework_version_id=locked.framework_version_id,
        confirmed_level__isnull=False,
        superseded_at__isnull=True,
    ).exclude(pk=locked.pk).update(superseded_at=locked.reviewed_at)
    # A review done is the periodic review: the next one is due one interval from today.
    staff = locked.staff
    today = timezone.localdate()
    if staff.next_review_on is None or staff.next_review_on <= today:
        staff.next_review_on = today + datetime.timedelta(days=city_settings(staff.municipality).review_interval_days)
        staff.save(update_fields=["next_review_on", "updated_at"])
    audit.record(
        "competences.assessment.review",
        actor=manager,
        municipality=locked.staff.municipality_id,
        obj=locked.staff,
        changes={"competence": locked.competence_code, "status": locked.status},
    )
    return locked


@dataclass
class EvidenceUpload:
    name: str
    size: int
    stream: IO[bytes]


def _safe_file_name(name: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name)[:100].strip("._")
    return base or "nachweis"


@transaction.atomic
def add_evidence(
    assessment: Assessment, *, actor: Any, note: str = "", upload: EvidenceUpload | None = None
) -> Evidence:
    """A note or a certificate (PDF, PNG or JPEG up to 5 MB, checked by the upload scanner)."""
    note = note.strip()[:1000]
    if upload is None:
        if not note:
            raise CompetenceError(_("Please write a note or choose a file."))
        evidence = Evidence.objects.create(assessment=assessment, kind=Evidence.Kind.NOTE, note=note, added_by=actor)
    else:
        if upload.size > MAX_EVIDENCE_BYTES:
            raise CompetenceError(_("The file is too large (at most 5 MB)."))
        if upload.size == 0:
            raise CompetenceError(_("The file is empty."))
        head = upload.stream.read(16)
        upload.stream.seek(0)
        suffix = next((ext for magic, ext in EVIDENCE_TYPES.items() if head.startswith(magic)), None)
        if suffix is None:
            raise CompetenceError(_("Please upload the certificate as PDF, PNG or JPEG."))
        refused = scanning.refusal_message(scanning.scan(upload.stream))
        if refused:
            raise CompetenceError(refused)
        upload.stream.seek(0)
        if suffix == ".pdf" and scanning.pdf_active_content(upload.stream, scanning.PDF):
            raise CompetenceError(_("The PDF contains active content (e.g. JavaScript). Please upload a plain PDF."))
        upload.stream.seek(0)
        name = _safe_file_name(upload.name)
        if not name.lower().endswith(suffix):
            name += suffix
        digest = hashlib.sha256(upload.stream.read()).hexdigest()[:12]
        upload.stream.seek(0)
        evidence = Evidence(
            assessment=assessment, kind=Evidence.Kind.CERTIFICATE, note=note, file_name=name, added_by=actor
        )
        evidence.file.save(f"{digest}{suffix}", File(upload.stream), save=False)
        evidence.save()
    audit.record(
        "competences.evidence.add",
        actor=actor,
        municipality=assessment.staff.municipality_id,
        obj=assessment.staff,
        changes={"competence": assessment.competence_code, "kind": evidence.kind},
    )
    return evidence


# --- periodic jobs -----------------------------------------------------------------------------


def send_review_reminders(today: datetime.date | None = None) -> int:
    """E-mail each person whose review is due, once per due date."""
    today = today or timezone.localdate()
    due = (
        StaffProfile.objects.filter(next_review_on__lte=today, left_on__isnull=True)
        .exclude(reminded_for=F("next_review_on"))
        .select_related("user")
    )
    sent = 0
    for staff in due:
        with transaction.atomic():
            updated = (
                StaffProfile.objects.filter(pk=staff.pk, next_review_on=staff.next_review_on)
                .exclude(reminded_for=staff.next_review_on)
                .update(reminded_for=staff.next_review_on)
            )
            if not updated:
                continue
            if staff.user.email:
                send_mail_on_commit(
                    _("roadMAP: time for your competence review"),
                    _(
                        "Hello %(name)s,\n\nyour periodic competence review is due. Please update your "
                        "self-assessment in roadMAP (/kompetenzen/) and then talk to your line manager.\n"
                    )
                    % {"name": staff.user.get_full_name() or staff.user.get_username()},
                    [staff.user.email],
                )
            audit.record("competences.review.remind", municipality=staff.municipality_id, obj=staff)
            sent += 1
    return sent


def delete_departed(today: datetime.date | None = None) -> int:
    """Delete the roadMAP data of people who left longer ago than their city's retention period."""
    today = today or timezone.localdate()
    default_days = settings.DIKOM_COMPETENCES_RETENTION_DAYS
    retention = dict(CitySettings.objects.values_list("municipality_id", "retention_days"))
    deleted = 0
    for staff in StaffProfile.objects.filter(left_on__isnull=False).select_related("user"):
        days = retention.get(staff.municipality_id, default_days)
        if staff.left_on is None or staff.left_on + datetime.timedelta(days=days) > today:
            continue
        with transaction.atomic():
            for evidence in Evidence.objects.filter(assessment__staff=staff).exclude(file=""):
                evidence.file.delete(save=False)
            audit.record(
                "competences.staff.delete",
                municipality=staff.municipality_id,
                changes={"reason": "retention period after departure ended", "left_on": staff.left_on},
            )
            staff.delete()
            deleted += 1
    return deleted
