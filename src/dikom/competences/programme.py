"""The only code that changes the qualification programme and the expert directory.

(``actions.py`` holds frameworks, profiles and assessments; this module was split off
to keep both readable.) Every function runs in one transaction and writes the audit
log. Enrolling is asked for (``request_enrolment``) and decided by the person's line
manager (``decide_enrolment``); only an approved request takes a seat. Seats
(``dikom.lib.waitlist``): the training row is locked while a place is given or freed, so
two approvals at once never give more seats than there are; whoever does not get a seat
lands on the waiting list (in order of approval), and a freed seat goes to the first
person waiting.
A completed training becomes evidence on the person's latest assessment of each
competence the training builds (if they have one against the same framework).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.audit import actions as audit
from dikom.competences import access
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
from dikom.lib import waitlist
from dikom.lib.mail import send_mail_on_commit
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


SEATED = (Enrolment.Status.ENROLLED, Enrolment.Status.COMPLETED)
CLOSED = (Enrolment.Status.CANCELLED, Enrolment.Status.DECLINED)


def _seated(training: Training) -> Any:
    """Enrolments holding a seat: only approved ones (a request awaiting approval holds none)."""
    return training.enrolments.filter(status__in=SEATED)


def _check_open(training: Training, staff: StaffProfile) -> None:
    if training.cancelled:
        raise CompetenceError(_("This training was cancelled."))
    if training.starts_at <= timezone.now():
        raise CompetenceError(_("This training has already started; enrolment is closed."))
    if staff.left_on is not None:
        raise CompetenceError(_("You are no longer in roadMAP of this city."))


def _take_seat_or_queue(locked: Training, enrolment: Enrolment) -> None:
    """With the training locked: a free seat, else the end of the waiting list."""
    enrolment.status = (
        Enrolment.Status.ENROLLED if waitlist.seat_is_free(locked.seats, _seated(locked)) else Enrolment.Status.WAITING
    )
    enrolment.queued_at = timezone.now()


def _site_url(path: str) -> str:
    base = str(getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}"


def _name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


@transaction.atomic
def request_enrolment(training: Training, staff: StaffProfile, *, actor: Any) -> Enrolment:
    """Ask for a seat: the request goes to the person's line manager (``access.approvers_of``) by mail.

    No seat is taken until the request is approved. Asking again while a request or a seat
    exists changes nothing; after a cancellation or a refusal one may ask again.
    """
    locked = waitlist.lock(Training, training.pk)
    _check_open(locked, staff)
    existing = Enrolment.objects.filter(training=locked, staff=staff).first()
    if existing is not None and existing.status not in CLOSED:
        return existing
    fields = {
        "status": Enrolment.Status.REQUESTED,
        "queued_at": None,
        "decided_by": None,
        "decided_at": None,
        "decision_comment": "",
    }
    if existing is None:
        enrolment = Enrolment.objects.create(training=locked, staff=staff, **fields)
    else:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.created_at = timezone.now()
        existing.save()
        enrolment = existing
    audit.record(
        "competences.training.request",
        actor=actor,
        municipality=staff.municipality_id,
        obj=locked,
        changes={"staff": str(staff.uuid)},
    )
    recipients = sorted({u.email for u in access.approvers_of(staff) if u.email})
    if recipients:
        send_mail_on_commit(
            _("roadMAP: %(name)s asks to attend a training") % {"name": _name(staff.user)},
            _(
                "Hello,\n\n%(name)s asks to attend the training “%(title)s” on %(date)s. "
                "Please approve or decline the request in roadMAP:\n%(url)s\n"
            )
            % {
                "name": _name(staff.user),
                "title": locked.title,
                "date": timezone.localtime(locked.starts_at).strftime("%d.%m.%Y %H:%M"),
                "url": _site_url(reverse("competences:approvals")),
            },
            recipients,
        )
    return enrolment


def _notify_decision(enrolment: Enrolment, training: Training) -> None:
    user = enrolment.staff.user
    if not user.email:
        return
    outcome = {
        Enrolment.Status.ENROLLED: _("approved; you have a seat"),
        Enrolment.Status.WAITING: _("approved; all seats are taken, you are on the waiting list"),
        Enrolment.Status.DECLINED: _("declined"),
    }[Enrolment.Status(enrolment.status)]
    body = _("Hello %(name)s,\n\nyour request to attend “%(title)s” was %(outcome)s.\n") % {
        "name": _name(user),
        "title": training.title,
        "outcome": outcome,
    }
    if enrolment.decision_comment:
        body += _("Comment: %(comment)s\n") % {"comment": enrolment.decision_comment}
    body += _site_url(reverse("competences:training", args=[training.uuid])) + "\n"
    send_mail_on_commit(_("roadMAP: your training request"), body, [user.email])


@transaction.atomic
def decide_enrolment(enrolment: Enrolment, *, approver: Any, approve: bool, comment: str = "") -> Enrolment:
    """The line manager approves (a seat or the waiting list, in order of approval) or declines."""
    locked = waitlist.lock(Training, enrolment.training_id)
    enrolment = Enrolment.objects.select_related("staff__user").get(pk=enrolment.pk)
    if not access.can_approve(approver, enrolment.staff):
        raise CompetenceError(_("Only the line manager decides on this request."))
    if enrolment.status != Enrolment.Status.REQUESTED:
        raise CompetenceError(_("This request was already decided or withdrawn."))
    if approve:
        _check_open(locked, enrolment.staff)
        _take_seat_or_queue(locked, enrolment)
    else:
        enrolment.status = Enrolment.Status.DECLINED
    enrolment.decided_by = approver
    enrolment.decided_at = timezone.now()
    enrolment.decision_comment = comment.strip()[:500]
    enrolment.save()
    audit.record(
        "competences.training.approve" if approve else "competences.training.decline",
        actor=approver,
        municipality=enrolment.staff.municipality_id,
        obj=locked,
        changes={"staff": str(enrolment.staff.uuid), "status": enrolment.status},
    )
    _notify_decision(enrolment, locked)
    return enrolment


@transaction.atomic
def enrol(training: Training, staff: StaffProfile, *, actor: Any) -> Enrolment:
    """Take a seat (or a place on the waiting list) without the approval step.

    For organisers and HR booking someone directly, for the demo and for tests; people
    enrolling themselves go through ``request_enrolment`` and ``decide_enrolment``.
    """
    locked = waitlist.lock(Training, training.pk)
    _check_open(locked, staff)
    existing = Enrolment.objects.filter(training=locked, staff=staff).first()
    if existing is not None and existing.status not in CLOSED:
        return existing
    enrolment = existing or Enrolment(training=locked, staff=staff)
    _take_seat_or_queue(locked, enrolment)
    enrolment.save()
    audit.record(
        "competences.training.enrol",
        actor=actor,
        municipality=staff.municipality_id,
        obj=locked,
        changes={"status": enrolment.status},
    )
    return enrolment


@transaction.atomic
def cancel_enrolment(enrolment: Enrolment, *, actor: Any) -> Enrolment | None:
    """Give the seat back (or withdraw the request); the longest waiting person moves up (returned)."""
    training = waitlist.lock(Training, enrolment.training_id)
    enrolment.refresh_from_db()
    if enrolment.status in (Enrolment.Status.COMPLETED, *CLOSED):
        raise CompetenceError(_("This enrolment can no longer be cancelled."))
    had_seat = enrolment.status == Enrolment.Status.ENROLLED
    enrolment.status = Enrolment.Status.CANCELLED
    enrolment.save(update_fields=["status", "updated_at"])
    audit.record("competences.training.cancel", actor=actor, municipality=enrolment.staff.municipality_id, obj=training)
    if not had_seat:
        return None
    moved = waitlist.fill_free_seats(
        training.seats,
        _seated(training),
        training.enrolments.filter(status=Enrolment.Status.WAITING),
        seat={"status": Enrolment.Status.ENROLLED},
        order=("queued_at", "id"),
    )
    for first in moved:
        audit.record("competences.training.move_up", municipality=first.staff.municipality_id, obj=training)
    return moved[0] if moved else None


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
    staff: StaffProfile,
    *,
    competence_codes: list[str],
    clusters: list[Cluster],
    availability: str,
    actor: Any,
    unavailable_until: datetime.date | None = None,
    share_email: bool = False,
) -> Expert:
    """Be findable as an expert with the competences one chooses (or change the entry)."""
    if not competence_codes and not clusters:
        raise CompetenceError(_("Please choose at least one competence or cluster you can help with."))
    expert, _created = Expert.objects.update_or_create(
        staff=staff,
        defaults={
            "competence_codes": sorted(set(competence_codes))[:30],
            "availability": availability.strip()[:300],
            "unavailable_until": unavailable_until,
            "share_email": share_email,
        },
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


MAX_CONTACTS_PER_DAY = 10


@transaction.atomic
def contact_expert(expert: Expert, *, sender: Any, message: str) -> None:
    """Send the expert a contact request by mail, unless they are away; the expert's address is not shown.

    The mail carries the sender's name, city and e-mail address (the sender chose to write), so the
    expert can answer directly. Only that a request was sent is stored (for the daily limit).
    """
    from dikom.accounts.access import staff_municipalities
    from dikom.competences.models import ExpertContact

    message = message.strip()[:2000]
    if not message:
        raise CompetenceError(_("Please write your question or request."))
    if expert.staff.user_id == getattr(sender, "pk", None):
        raise CompetenceError(_("This is your own entry."))
    if not expert.is_available():
        raise CompetenceError(
            _("%(name)s is not available until %(date)s. Please ask in the transfer forum or try later.")
            % {"name": _name(expert.staff.user), "date": expert.unavailable_until.strftime("%d.%m.%Y")}  # type: ignore[union-attr]
        )
    since = timezone.now() - datetime.timedelta(days=1)
    if ExpertContact.objects.filter(sender=sender, created_at__gte=since).count() >= MAX_CONTACTS_PER_DAY:
        raise CompetenceError(_("You have sent many contact requests today. Please try again tomorrow."))
    recipient = expert.staff.user.email
    if not recipient:
        raise CompetenceError(_("This expert cannot be reached by e-mail. Please ask in the transfer forum."))
    ExpertContact.objects.create(expert=expert, sender=sender)
    home = staff_municipalities(sender).order_by("name").first()
    send_mail_on_commit(
        _("roadMAP: %(name)s asks for your help") % {"name": _name(sender)},
        _(
            "Hello %(expert)s,\n\n%(name)s (%(city)s) found you in the expert directory of the cooperation "
            "and writes:\n\n%(message)s\n\nPlease answer directly to %(email)s.\n"
            "You change or end your entry in roadMAP: %(url)s\n"
        )
        % {
            "expert": _name(expert.staff.user),
            "name": _name(sender),
            "city": home.name if home else "",
            "message": message,
            "email": sender.email or _("(no e-mail address; please answer in the transfer forum)"),
            "url": _site_url(reverse("competences:expert_entry")),
        },
        [recipient],
    )
    audit.record(
        "competences.expert.contact",
        actor=sender,
        municipality=expert.staff.municipality_id,
        obj=expert.staff,
    )
