"""State changes of accounts: the only code that writes users, memberships and API keys."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dikom.accounts.models import ApiKey, Membership, User
from dikom.accounts.scopes import SCOPES
from dikom.accounts.service import KEY_PREFIX, hash_secret
from dikom.audit import actions as audit
from dikom.municipalities.models import Municipality, OrgUnit


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    token: str  # shown once, never stored


def create_api_key(
    *, municipality: Municipality, name: str, scopes: Iterable[str], actor: Any = None, expires_at: Any = None
) -> CreatedApiKey:
    """Create a key for ``municipality``; the returned token is the only copy of the secret."""
    scope_list = sorted(set(scopes))
    unknown = [s for s in scope_list if s not in SCOPES]
    if unknown:
        raise ValidationError(_("Unknown scopes: %(scopes)s") % {"scopes": ", ".join(unknown)})
    if not scope_list:
        raise ValidationError(_("Choose at least one scope."))
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the key a name."))
    with transaction.atomic():
        prefix = secrets.token_hex(6)
        while ApiKey.objects.filter(prefix=prefix).exists():
            prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        api_key = ApiKey.objects.create(
            municipality=municipality,
            name=name,
            prefix=prefix,
            secret_hash=hash_secret(secret),
            scopes=scope_list,
            created_by=actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None,
            expires_at=expires_at,
        )
        audit.record(
            "api_key.create", actor=actor, municipality=municipality, obj=api_key,
            changes={"scopes": scope_list, "expires_at": expires_at},
        )
    return CreatedApiKey(api_key=api_key, token=f"{KEY_PREFIX}_{prefix}_{secret}")


def revoke_api_key(*, api_key: ApiKey, actor: Any = None) -> ApiKey:
    with transaction.atomic():
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at", "updated_at"])
            audit.record("api_key.revoke", actor=actor, municipality=api_key.municipality, obj=api_key)
    return api_key


def create_user(
    *, username: str, email: str, password: str | None, first_name: str = "", last_name: str = "",
    actor: Any = None, is_demo: bool = False, is_superuser: bool = False,
) -> User:
    with transaction.atomic():
        user = User(
            username=username, email=email, first_name=first_name, last_name=last_name,
            is_demo=is_demo, is_superuser=is_superuser, is_staff=is_superuser,
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        audit.record("user.create", actor=actor, obj=user, changes={"platform_admin": is_superuser})
    return user


def grant_role(
    *, user: User, municipality: Municipality, role: str, org_unit: OrgUnit | None = None, actor: Any = None
) -> Membership:
    if org_unit is not None and org_unit.municipality_id != municipality.pk:
        raise ValidationError(_("The organisational unit belongs to another municipality."))
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, municipality=municipality, role=role, defaults={"org_unit": org_unit}
        )
        if created:
            audit.record(
                "membership.grant", actor=actor, municipality=municipality, obj=membership,
                changes={"user": user.username, "role": role, "org_unit": str(org_unit) if org_unit else None},
            )
    return membership


def revoke_role(*, membership: Membership, actor: Any = None) -> None:
    with transaction.atomic():
        audit.record(
            "membership.revoke", actor=actor, municipality=membership.municipality, obj=membership,
            changes={"user": membership.user.username, "role": membership.role},
        )
        membership.delete()
