"""The only code that changes the qualification programme and the expert directory.

(``actions.py`` holds frameworks, profiles and assessments; this module was split off
to keep both readable.) Every function runs in one transaction and writes the audit
log. Seats: the training row is locked while a place is given or freed, so two people
enrolling at once never take more seats than there are; whoever does not get a seat
lands on the waiting list, and a freed seat goes to the first person waiting.
A completed training becomes evidence on the person's latest assessment of each
competence the training builds (if they have one against the same framework).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.audit import actions as audit
from dikom.competences.actions import CompetenceError
from dikom.competences.models import (
    Assessment,
    Cluster,
    Enrolment,
    Evidence,
    Expert,
    FrameworkVersion,
    StaffProfile,
    Training,
)
from dikom.municipalities.models import Municipality

MAX_TARGETS = 10


def _validate_targets(version: FrameworkVersion, targets: dict[str, int]) -> dict[str, int]:
    if not version.levels:
        raise CompetenceError(_("This framework has no levels; import a version with levels first."))
    if not targets:
        raise CompetenceError(_("Please name at least one competence the training builds."))
    if len(targets) > MAX_TARGETS:
        raise CompetenceError(_("A training builds at most %(n)d competences.") % {"n": MAX_TARGETS})
    codes = version.competence_codes()
    cleaned = {}
    for code, level in targets.items():
        if code not in codes:
            raise CompetenceError(_("The framework has no competence %(code)s.") % {"code": str(code)[:30]})
        if not isinstance(level, int) or not 1 <= level <= version.max_level:
            raise CompetenceError(_("Target levels must be between 1 and %(max)d.") % {"max": version.max_level})
        cleaned[code] = level
    return cleaned


@transaction.atomic
def create_training(
    *,
    offered_by: Municipality | None,
    title: str,
    framework_version: FrameworkVersion,
    targets: dict[str, int],
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    seats: int,
    format: str = Training.Format.ONLINE,
    place: str = "",
    provider: str = "",
    description: str = "",
    actor: Any = None,
) -> Training:
    """Offer a training to the whole cooperation."""
    if ends_at <= starts_at:
        raise CompetenceError(_("The training must end after it starts."))
    if seats < 1:
        raise CompetenceError(_("A training needs at least one seat."))
    if format != Training.Format.ONLINE and not place.strip():
        raise CompetenceError(_("Please name the place of a training held in person."))
    training = Training.objects.create(
        offered_by=offered_by,
        title=title.strip()[:200],
        description=description.strip()[:5000],
        provider=provider.strip()[:200],
        format=format,
        place=place.strip()[:300],
        starts_at=starts_at,
        ends_at=ends_at,
        seats=seats,
        framework_version=framework_version,
        targets=_validate_targets(framework_version, targets),
        created_by=actor,
    )
    audit.record("competences.training.create", actor=actor, municipality=offered_by, obj=training)
    return training


def _seats_taken(training: Training) -> int:
    return training.enrolments.filter(status__in=[Enrolment.Status.ENROLLED, Enrolment.Status.COMPLETED]).count()


@transaction.atomic
def enrol(training: Training, staff: StaffProfile, *, actor: Any) -> Enrolment:
    """Take a seat (or a place on the waiting list when all seats are taken)."""
    locked = Training.objects.select_for_update().get(pk=training.pk)
    if locked.cancelled:
        raise CompetenceError(_("This training was cancelled."))
    if locked.starts_at <= timezone.now():
        raise CompetenceError(_("This training has already started; enrolment is closed."))
    if staff.left_on is not None:
        raise CompetenceError(_("You are no longer in roadMAP of this city."))
    existing = Enrolment.objects.filter(training=locked, staff=staff).first()
    if existing is not None and existing.status != Enrolment.Status.CANCELLED:
        return existing
    status = Enrolment.Status.ENROLLED if _seats_taken(locked) < locked.seats else Enrolment.Status.WAITING
    if existing is None:
        enrolment = Enrolment.objects.create(training=locked, staff=staff, status=status)
    else:
        existing.status = status
        existing.created_at = timezone.now()  # back of the queue
        existing.save(update_fields=["status", "created_at", "updated_at"])
        enrolment = existing
    audit.record(
        "competences.training.enrol",
        actor=actor,
        municipality=staff.municipality_id,
        obj=locked,
        changes={"status": status},
    )
    return enrolment


@transaction.atomic
def cancel_enrolment(enrolment: Enrolment, *, actor: Any) -> Enrolment | None:
    """Give the seat back; the first person waiting moves up (returned)."""
    training = Training.objects.select_for_update().get(pk=enrolment.training_id)
    enrolment.refresh_from_db()
    if enrolment.status in (Enrolment.Status.COMPLETED, Enrolment.Status.CANCELLED):
        raise CompetenceError(_("This enrolment can no longer be cancelled."))
    had_seat = enrolment.status == Enrolment.Status.ENROLLED
    enrolment.status = Enrolment.Status.CANCELLED
    enrolment.save(update_fields=["status", "updated_at"])
    audit.record("competences.training.cancel", actor=actor, municipality=enrolment.staff.municipality_id, obj=training)
    if not had_seat:
        return None
    first = training.enrolments.filter(status=Enrolment.Status.WAITING).order_by("created_at", "id").first()
    if first is not None:
        first.status = Enrolment.Status.ENROLLED
        first.save(update_fields=["status", "updated_at"])
        audit.record("competences.training.move_up", municipality=first.staff.municipality_id, obj=training)
    return first


@transaction.atomic
def record_completion(enrolment: Enrolment, *, actor: Any) -> list[Evidence]:
    """The organiser confirms attendance; the completion becomes evidence for the person's assessments."""
    enrolment = Enrolment.objects.select_for_update().select_related("training", "staff").get(pk=enrolment.pk)
    if enrolment.status != Enrolment.Status.ENROLLED:
        raise CompetenceError(_("Only people with a seat can complete the training."))
    enrolment.status = Enrolment.Status.COMPLETED
    enrolment.completed_at = timezone.now()
    enrolment.save(update_fields=["status", "completed_at", "updated_at"])
    training = enrolment.training
    framework_id = training.framework_version.framework_id
    created = []
    for code, level in training.targets.items():
        latest = (
            Assessment.objects.filter(
                staff=enrolment.staff, competence_code=code, framework_version__framework_id=framework_id
            )
            .order_by("-created_at", "-id")
            .first()
        )
        if latest is None:
            continue
        created.append(
            Evidence.objects.create(
                assessment=latest,
                kind=Evidence.Kind.TRAINING,
                note=_("Completed the training “%(title)s” (target level %(level)d).")
                % {"title": training.title, "level": level},
                added_by=actor,
                enrolment=enrolment,
            )
        )
    audit.record(
        "competences.training.complete",
        actor=actor,
        municipality=enrolment.staff.municipality_id,
        obj=enrolment.staff,
        changes={"training": str(training.uuid), "evidence": len(created)},
    )
    return created


# --- expert directory ---------------------------------------------------------------------------


@transaction.atomic
def opt_in_as_expert(
    staff: StaffProfile, *, competence_codes: list[str], clusters: list[Cluster], availability: str, actor: Any
) -> Expert:
    """Be findable as an expert with the competences one chooses (or change the entry)."""
    if not competence_codes and not clusters:
        raise CompetenceError(_("Please choose at least one competence or cluster you can help with."))
    expert, _created = Expert.objects.update_or_create(
        staff=staff,
        defaults={"competence_codes": sorted(set(competence_codes))[:30], "availability": availability.strip()[:300]},
    )
    expert.clusters.set(clusters)
    audit.record("competences.expert.opt_in", actor=actor, municipality=staff.municipality_id, obj=staff)
    return expert


@transaction.atomic
def opt_out_as_expert(staff: StaffProfile, *, actor: Any) -> bool:
    """Leave the directory: the entry is deleted, nothing of it stays visible."""
    deleted, _detail = Expert.objects.filter(staff=staff).delete()
    if deleted:
        audit.record("competences.expert.opt_out", actor=actor, municipality=staff.municipality_id, obj=staff)
    return bool(deleted)
