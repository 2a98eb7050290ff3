"""State changes of the municipality administration: org units and staff.

Every function runs in one transaction and writes an audit event. Input is
validated here as well as in the forms, so that other callers (API, demo data,
management commands) cannot bypass the rules.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from dikom.accounts import actions as account_actions
from dikom.accounts.models import Membership, User
from dikom.accounts.roles import Role
from dikom.audit import actions as audit
from dikom.municipalities.models import Municipality, OrgUnit

ORG_UNIT_FIELDS = ("name", "short_name", "kind", "parent", "email")
#: The authority's details that letters and receipts print (letterhead, legal remedy, information block).
AUTHORITY_FIELDS = ("authority_name", "authority_head", "street_address", "postcode", "locality", "phone", "email")


def _display(unit_field: str, value: Any) -> Any:
    if unit_field == "parent":
        return value.name if value is not None else None
    return value


def _save_validated(org_unit: OrgUnit) -> None:
    org_unit.full_clean(exclude=["municipality"], validate_constraints=False)
    # NULL parents are distinct in SQL, so the unique constraint does not cover top-level units.
    siblings = OrgUnit.objects.filter(
        municipality_id=org_unit.municipality_id, parent_id=org_unit.parent_id, name__iexact=org_unit.name
    ).exclude(pk=org_unit.pk)
    if siblings.exists():
        raise ValidationError({"name": _("A unit with this name already exists at this place in the tree.")})
    try:
        with transaction.atomic():
            org_unit.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _("A unit with this name already exists at this place in the tree.")}) from exc


def create_org_unit(
    *,
    municipality: Municipality,
    name: str,
    kind: str,
    parent: OrgUnit | None = None,
    short_name: str = "",
    email: str = "",
    actor: Any = None,
    request: HttpRequest | None = None,
) -> OrgUnit:
    """Create an organisational unit; the parent must belong to the same municipality."""
    with transaction.atomic():
        org_unit = OrgUnit(
            municipality=municipality,
            name=name.strip(),
            short_name=short_name.strip(),
            kind=kind,
            parent=parent,
            email=email.strip(),
        )
        _save_validated(org_unit)
        audit.record(
            "orgunit.create",
            actor=actor,
            municipality=municipality,
            obj=org_unit,
            request=request,
            changes={f: [None, _display(f, getattr(org_unit, f))] for f in ORG_UNIT_FIELDS},
        )
    return org_unit


def update_org_unit(
    *, org_unit: OrgUnit, actor: Any = None, request: HttpRequest | None = None, **fields: Any
) -> OrgUnit:
    """Change fields of a unit; changing ``parent`` moves it (cycles are rejected).

    The audit event holds the changed fields as ``{field: [old, new]}``.
    """
    unknown = set(fields) - set(ORG_UNIT_FIELDS)
    if unknown:
        raise TypeError(f"update_org_unit() got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        current = OrgUnit.objects.select_for_update(of=("self",)).select_related("parent").get(pk=org_unit.pk)
        changes: dict[str, list[Any]] = {}
        for name, value in fields.items():
            if isinstance(value, str):
                value = value.strip()
            old = getattr(current, name)
            # Model instances compare by primary key, so this also works for ``parent``.
            if old != value:
                changes[name] = [_display(name, old), _display(name, value)]
                setattr(current, name, value)
        if changes:
            _save_validated(current)
            action = "orgunit.move" if "parent" in changes else "orgunit.update"
            audit.record(
                action,
                actor=actor,
                municipality=current.municipality_id,
                obj=current,
                changes=changes,
                request=request,
            )
    return current


def delete_org_unit(*, org_unit: OrgUnit, actor: Any = None, request: HttpRequest | None = None) -> None:
    """Delete a unit that has no sub-units and no staff assigned to it."""
    with transaction.atomic():
        if org_unit.children.exists():
            raise ValidationError(
                _("“%(name)s” still has sub-units. Move or delete them first.") % {"name": org_unit.name},
                code="has_children",
            )
        if org_unit.memberships.exists():
            raise ValidationError(
                _("Staff members are still assigned to “%(name)s”. Assign them to another unit first.")
                % {"name": org_unit.name},
                code="has_memberships",
            )
        audit.record(
            "orgunit.delete",
            actor=actor,
            municipality=org_unit.municipality_id,
            obj=org_unit,
            request=request,
            changes={f: [_display(f, getattr(org_unit, f)), None] for f in ORG_UNIT_FIELDS},
        )
        try:
            with transaction.atomic():
                org_unit.delete()
        except (ProtectedError, RestrictedError) as exc:
            raise ValidationError(
                _("“%(name)s” is still in use elsewhere and cannot be deleted.") % {"name": org_unit.name},
                code="protected",
            ) from exc


def add_staff_member(
    *,
    municipality: Municipality,
    user: User,
    role: str,
    org_unit: OrgUnit | None = None,
    actor: Any = None,
) -> Membership:
    """Grant ``role`` in ``municipality`` to an existing account."""
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if Membership.objects.filter(user=user, municipality=municipality, role=role).exists():
        raise ValidationError(
            _("%(user)s already holds this role here.") % {"user": user.get_username()}, code="duplicate_role"
        )
    return account_actions.grant_role(user=user, municipality=municipality, role=role, org_unit=org_unit, actor=actor)


def create_staff_account(
    *,
    municipality: Municipality,
    username: str,
    email: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    org_unit: OrgUnit | None = None,
    actor: Any = None,
) -> Membership:
    """Create an account without a usable password and grant it a first role.

    The person sets a password through the "forgot password" flow.
    """
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    with transaction.atomic():
        user = account_actions.create_user(
            username=username, email=email, password=None, first_name=first_name, last_name=last_name, actor=actor
        )
        # user.create carries no municipality; this event makes the creation visible in the city's log.
        audit.record(
            "staff.create_account",
            actor=actor,
            municipality=municipality,
            obj=user,
            changes={"username": user.username, "email": user.email},
        )
        return account_actions.grant_role(
            user=user, municipality=municipality, role=role, org_unit=org_unit, actor=actor
        )


def remove_staff_role(*, membership: Membership, actor: Any = None) -> None:
    """Revoke a role. Administrators cannot take away their own administrator role."""
    if (
        membership.role == Role.MUNICIPALITY_ADMIN
        and getattr(actor, "pk", None) == membership.user_id
        and not getattr(actor, "is_superuser", False)
    ):
        raise ValidationError(
            _("You cannot revoke your own administrator role. Ask another administrator of %(municipality)s to do it.")
            % {"municipality": membership.municipality.name},
            code="own_admin_role",
        )
    account_actions.revoke_role(membership=membership, actor=actor)


def update_authority_details(
    *, municipality: Municipality, actor: Any = None, request: HttpRequest | None = None, **fields: Any
) -> Municipality:
    """Change the authority's name, head, address and contact as letters print them; audited as
    ``municipality.update`` with ``{field: [old, new]}``."""
    unknown = set(fields) - set(AUTHORITY_FIELDS)
    if unknown:
        raise TypeError(f"update_authority_details() got unexpected fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        current = Municipality.objects.select_for_update().get(pk=municipality.pk)
        changes: dict[str, list[Any]] = {}
        for name, value in fields.items():
            value = (value or "").strip()
            if getattr(current, name) != value:
                changes[name] = [getattr(current, name), value]
                setattr(current, name, value)
        if changes:
            current.full_clean()
            current.save(update_fields=[*changes, "updated_at"])
            audit.record(
                "municipality.update",
                actor=actor,
                municipality=current.pk,
                obj=current,
                changes=changes,
                request=request,
            )
    return current
