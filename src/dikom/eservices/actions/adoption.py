"""Adoption of released services by a city: local settings, upgrades, notifications read."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.accounts.roles import Role
from dikom.audit import actions as audit
from dikom.eservices.actions.common import (
    MAX_FEE_CENTS,
    WorkflowError,
    acting_user,
)
from dikom.eservices.models import (
    Adoption,
    Notification,
    ServiceVersion,
)
from dikom.municipalities.models import Municipality, OrgUnit

Status = ServiceVersion.Status

# --- adoption -------------------------------------------------------------------------------


def adjustable_fees(content: Any) -> dict[str, dict[str, Any]]:
    """Fee key → fee of the fees a city may set itself (``locally_adjustable``)."""
    fees = content.get("fees") if isinstance(content, dict) else None
    return {
        fee["key"]: fee
        for fee in (fees if isinstance(fees, list) else [])
        if isinstance(fee, dict) and isinstance(fee.get("key"), str) and fee.get("locally_adjustable") is True
    }


@dataclass
class LocalSettings:
    """What a city sets when it adopts a service."""

    start_date: dt.date
    org_unit: OrgUnit | None = None
    fees: dict[str, int] = field(default_factory=dict)
    contact_email: str = ""
    contact_phone: str = ""
    hint_de: str = ""
    hint_en: str = ""
    active: bool = True
    #: Lane name of the process → id of one of the city's org units (overrides the shared mapping).
    lanes: dict[str, int] = field(default_factory=dict)


PHONE = re.compile(r"^\+?[0-9 ()/\-]{3,40}$")


def check_local_settings(municipality: Municipality, version: ServiceVersion, local: LocalSettings) -> None:
    """Raise ``ValidationError`` (by field) for local settings that do not fit the city or the version."""
    errors: dict[str, list[str]] = {}
    if local.org_unit is not None and local.org_unit.municipality_id != municipality.pk:
        errors.setdefault("org_unit", []).append(_("Choose an organisational unit of your own city."))
    adjustable = adjustable_fees(version.content)
    for key, amount in local.fees.items():
        if key not in adjustable:
            errors.setdefault("fees", []).append(
                _("The fee “%(key)s” cannot be set locally in this version.") % {"key": key}
            )
        elif isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            errors.setdefault("fees", []).append(_("The fee “%(key)s” must be a non-negative amount.") % {"key": key})
        elif amount > MAX_FEE_CENTS:
            errors.setdefault("fees", []).append(_("The fee “%(key)s” is implausibly high.") % {"key": key})
    if local.lanes:
        from dikom.eservices.process import process_lanes

        lanes = set(process_lanes(version.content))
        own_units = set(OrgUnit.objects.filter(municipality=municipality).values_list("pk", flat=True))
        for lane, unit_id in local.lanes.items():
            if lane not in lanes:
                errors.setdefault("lanes", []).append(
                    _("The process of this version has no lane “%(lane)s”.") % {"lane": lane}
                )
            elif unit_id not in own_units:
                errors.setdefault("lanes", []).append(
                    _("Lane “%(lane)s”: choose an organisational unit of your own city.") % {"lane": lane}
                )
    if local.contact_phone and not PHONE.match(local.contact_phone):
        errors.setdefault("contact_phone", []).append(_("Enter a phone number of digits, spaces, +, /, - and ()."))
    if local.start_date is None:
        errors.setdefault("start_date", []).append(_("Enter the date from which your city offers the service."))
    if errors:
        raise ValidationError(errors)


def _apply_local(adoption: Adoption, local: LocalSettings) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    values = {
        "org_unit_id": local.org_unit.pk if local.org_unit else None,
        "fees": dict(sorted(local.fees.items())),
        "lanes": dict(sorted(local.lanes.items())),
        "contact_email": local.contact_email.strip(),
        "contact_phone": local.contact_phone.strip(),
        "hint_de": local.hint_de.strip(),
        "hint_en": local.hint_en.strip(),
        "start_date": local.start_date,
        "active": local.active,
    }
    for name, value in values.items():
        old = getattr(adoption, name)
        if old != value:
            changes[name] = [old, value]
            setattr(adoption, name, value)
    return changes


@transaction.atomic
def adopt_service(
    *, municipality: Municipality, version: ServiceVersion, actor: Any, local: LocalSettings, is_demo: bool = False
) -> Adoption:
    """``municipality`` offers the released ``version`` with its local settings (the definition is not copied)."""
    version = ServiceVersion.objects.select_related("definition").get(pk=version.pk)
    if version.status != Status.RELEASED:
        raise WorkflowError(_("Only released versions can be adopted."))
    if Adoption.objects.filter(municipality=municipality, definition=version.definition).exists():
        raise WorkflowError(_("Your city has already adopted this service; change its settings instead."))
    check_local_settings(municipality, version, local)
    adoption = Adoption(
        municipality=municipality,
        definition=version.definition,
        version=version,
        adopted_by=acting_user(actor),
        start_date=local.start_date,
        is_demo=is_demo,
    )
    changes = _apply_local(adoption, local)
    latest = version.definition.latest_released
    if latest is not None and latest.number > version.number:
        adoption.pending_upgrade_to = latest
    try:
        with transaction.atomic():
            adoption.save()
    except IntegrityError as exc:
        raise WorkflowError(_("Your city has already adopted this service; change its settings instead.")) from exc
    audit.record(
        "eservice.adopt",
        actor=actor,
        municipality=municipality,
        obj=adoption,
        changes={"version": version.number, **changes},
    )
    return adoption


@transaction.atomic
def update_adoption(adoption: Adoption, *, actor: Any, local: LocalSettings) -> Adoption:
    """Change a city's local settings of an adopted service."""
    adoption = (
        Adoption.objects.select_for_update(of=("self",)).select_related("version", "municipality").get(pk=adoption.pk)
    )
    check_local_settings(adoption.municipality, adoption.version, local)
    changes = _apply_local(adoption, local)
    if changes:
        adoption.save()
        audit.record(
            "eservice.adoption.update", actor=actor, municipality=adoption.municipality, obj=adoption, changes=changes
        )
    return adoption


@transaction.atomic
def upgrade_adoption(adoption: Adoption, *, actor: Any, to_version: ServiceVersion | None = None) -> Adoption:
    """Move a city to a newer released version. New applications start on it; applications in
    progress keep the version they started on (they store it). Local fees for fee keys the new
    version no longer lets cities adjust are dropped, and so are lane choices for lanes its
    process no longer has."""
    adoption = (
        Adoption.objects.select_for_update(of=("self",))
        .select_related("version", "definition", "municipality", "pending_upgrade_to")
        .get(pk=adoption.pk)
    )
    target = to_version or adoption.pending_upgrade_to or adoption.definition.latest_released
    if target is None or target.definition_id != adoption.definition_id or target.status != Status.RELEASED:
        raise WorkflowError(_("There is no released version to upgrade to."))
    if target.number <= adoption.version.number:
        raise WorkflowError(_("Your city already offers this version or a newer one."))
    adjustable = adjustable_fees(target.content)
    dropped = sorted(key for key in adoption.fees if key not in adjustable)
    from dikom.eservices.process import process_lanes

    target_lanes = set(process_lanes(target.content))
    dropped_lanes = sorted(lane for lane in adoption.lanes if lane not in target_lanes)
    adoption.lanes = {lane: unit for lane, unit in adoption.lanes.items() if lane in target_lanes}
    previous = adoption.version.number
    adoption.version = target
    adoption.fees = {key: value for key, value in adoption.fees.items() if key in adjustable}
    latest = adoption.definition.latest_released
    adoption.pending_upgrade_to = latest if latest is not None and latest.number > target.number else None
    adoption.save()
    audit.record(
        "eservice.adoption.upgrade",
        actor=actor,
        municipality=adoption.municipality,
        obj=adoption,
        changes={"version": [previous, target.number], "dropped_fees": dropped, "dropped_lanes": dropped_lanes},
    )
    Notification.objects.filter(
        municipality=adoption.municipality,
        role=Role.MUNICIPALITY_ADMIN,
        version__definition=adoption.definition,
        version__number__lte=target.number,
        read_at__isnull=True,
    ).update(read_at=timezone.now(), read_by=acting_user(actor))
    return adoption


@transaction.atomic
def mark_notification_read(notification: Notification, *, actor: Any) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.read_by = acting_user(actor)
        notification.save(update_fields=["read_at", "read_by"])
    return notification
