"""State changes of accounts: the only code that writes users, memberships and API keys."""

from __future__ import annotations

import enum
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

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
            "api_key.create",
            actor=actor,
            municipality=municipality,
            obj=api_key,
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
    *,
    username: str,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    actor: Any = None,
    is_demo: bool = False,
    is_superuser: bool = False,
) -> User:
    with transaction.atomic():
        user = User(
            username=username,
            email=email,
            first_name=first_name,
            last_name=last_name,
            is_demo=is_demo,
            is_superuser=is_superuser,
            is_staff=is_superuser,
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
                "membership.grant",
                actor=actor,
                municipality=municipality,
                obj=membership,
                changes={"user": user.username, "role": role, "org_unit": str(org_unit) if org_unit else None},
            )
    return membership


def revoke_role(*, membership: Membership, actor: Any = None) -> None:
    with transaction.atomic():
        audit.record(
            "membership.revoke",
            actor=actor,
            municipality=membership.municipality,
            obj=membership,
            changes={"user": membership.user.username, "role": membership.role},
        )
        membership.delete()


# --- Registration ------------------------------------------------------------------


def register_citizen(*, username: str, email: str, password: str) -> User:
    """Create the account of a citizen who signed up themselves (no memberships).

    The password must already have passed the password validators (the form does that).
    """
    with transaction.atomic():
        user = User(username=username.strip(), email=email.strip())
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save()
        audit.record("user.register", actor=user, obj=user)
    return user


# --- Log-in, lockout and passwords ---------------------------------------------------


def backoff_delay(failures: int) -> timedelta:
    """How long an account is not checked after ``failures`` failed attempts in a row: nothing
    before ``DIKOM_LOGIN_MAX_FAILURES``, then ``DIKOM_LOGIN_BACKOFF_SECONDS`` doubling with each
    further failure, at most ``DIKOM_LOGIN_LOCKOUT_MINUTES``."""
    over = failures - settings.DIKOM_LOGIN_MAX_FAILURES
    if over < 0:
        return timedelta(0)
    longest = settings.DIKOM_LOGIN_LOCKOUT_MINUTES * 60
    return timedelta(seconds=min(settings.DIKOM_LOGIN_BACKOFF_SECONDS * 2 ** min(over, 32), longest))


def register_failed_login(*, user: User, reason: str = "password") -> bool:
    """Count a failed log-in attempt (wrong password or wrong second factor) for ``user``.

    From ``DIKOM_LOGIN_MAX_FAILURES`` failures in a row on, every failure puts the account on
    hold for a delay that doubles each time (``backoff_delay``), so guessing slows down
    exponentially. Attempts during the hold are recorded but neither counted nor extend it.
    A complete log-in or a password reset clears the counter. Returns True when the account
    is on hold now. Browsers with a trusted-device cookie are not held (see ``throttling``).
    """
    with transaction.atomic():
        locked_user = User.objects.select_for_update().get(pk=user.pk)
        if locked_user.is_locked:
            audit.record("auth.login_failed", obj=locked_user, changes={"reason": "locked"})
            user.failed_login_count, user.locked_until = locked_user.failed_login_count, locked_user.locked_until
            return True
        locked_user.failed_login_count += 1
        audit.record(
            "auth.login_failed",
            obj=locked_user,
            changes={"reason": reason, "failed_attempts": locked_user.failed_login_count},
        )
        delay = backoff_delay(locked_user.failed_login_count)
        if delay:
            locked_user.locked_until = timezone.now() + delay
            audit.record(
                "auth.lockout",
                obj=locked_user,
                changes={
                    "locked_until": locked_user.locked_until,
                    "seconds": int(delay.total_seconds()),
                    "failed_attempts": locked_user.failed_login_count,
                },
            )
        locked_user.save(update_fields=["failed_login_count", "locked_until", "updated_at"])
    user.failed_login_count, user.locked_until = locked_user.failed_login_count, locked_user.locked_until
    return locked_user.is_locked


def record_trusted_device_failure(*, user: User, distrusted: bool) -> None:
    """A wrong password from a browser that has signed in to ``user`` before. It does not hold
    up the account (the real owner's typos must not lock it for others, nor others' guesses for
    them); the device has its own counter, and at its limit it is trusted no longer."""
    audit.record("auth.login_failed", obj=user, changes={"reason": "password", "trusted_device": True})
    if distrusted:
        audit.record("auth.trusted_device_distrusted", obj=user)


def record_unknown_account_failure() -> None:
    """A failed attempt for an account name that does not exist (the name is not recorded:
    people type their password into the name field)."""
    audit.record("auth.login_failed", changes={"reason": "unknown_account"})


def record_login_throttled(*, reason: str, user: User | None = None, started: bool = False) -> None:
    """A throttle of the sign-in was switched on (``started``) or refused an attempt."""
    audit.record(
        "auth.login_throttle_started" if started else "auth.login_throttled", obj=user, changes={"reason": reason}
    )


def record_admin_login_redirect(*, method: str) -> None:
    """Someone used the admin's own log-in address; it only forwards to the platform's sign-in,
    and a POST there checks no credentials. Noted, as it is what an attacker tries first."""
    audit.record("auth.admin_login_redirected", changes={"method": method})


def record_two_factor_setup_refused(*, user: User, reason: str) -> None:
    audit.record("auth.2fa_setup_refused", actor=user, obj=user, changes={"reason": reason})


def clear_failed_logins(*, user: User) -> None:
    """Forget failed attempts and any lock, e.g. after a complete log-in or a password reset."""
    if user.failed_login_count or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None, updated_at=timezone.now())
        user.failed_login_count, user.locked_until = 0, None


def record_login(*, user: User, second_factor_pending: bool) -> None:
    """Note a successful password check. With a second factor pending, the counter of failed
    attempts is kept until the code is confirmed, so that guessing codes also leads to a lock."""
    with transaction.atomic():
        if not second_factor_pending:
            clear_failed_logins(user=user)
        audit.record("auth.login", actor=user, obj=user, changes={"second_factor_pending": second_factor_pending})


def record_logout(*, user: Any) -> None:
    if getattr(user, "is_authenticated", False):
        audit.record("auth.logout", actor=user, obj=user)


def note_password_reset_requested(*, user: User) -> None:
    """Audit that a reset link was mailed (the requester is never told whether the account exists)."""
    audit.record("auth.password_reset_requested", obj=user)


def set_password(*, user: User, password: str, reset: bool) -> User:
    """Set a new (validated) password: by a reset link (``reset``) or changed by the logged-in user.

    A reset also lifts a lockout: whoever can read the account's mail may log in again.
    """
    with transaction.atomic():
        user.set_password(password)
        update_fields = ["password", "updated_at"]
        if reset:
            user.failed_login_count, user.locked_until = 0, None
            update_fields += ["failed_login_count", "locked_until"]
        user.save(update_fields=update_fields)
        audit.record("auth.password_reset" if reset else "auth.password_change", actor=user, obj=user)
    return user


# --- Two-factor authentication ------------------------------------------------------

BACKUP_CODE_COUNT = 10


def normalise_token(token: str) -> str:
    """Codes are accepted with spaces or hyphens and in any case."""
    return "".join(token.split()).replace("-", "").lower()


def start_totp_setup(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator device the user is setting up (created on first call).

    Not audited: an unconfirmed device cannot be used to log in; confirming it is audited.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=str(_("Authenticator app")), confirmed=False)
    return device


def _create_backup_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=str(_("Backup codes")), confirmed=True)
    codes = [StaticToken.random_token() for _i in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def confirm_totp_device(*, user: User, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm ``device`` if ``token`` is its current code.

    The confirmed device replaces any earlier authenticator of the user, and a fresh set of
    backup codes is created. Returns the backup codes (to be shown once), or None for a wrong code.
    """
    if device.user_id != user.pk or device.confirmed:
        return None
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(normalise_token(token)):
            return None
        replaced = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk)
        had_device = replaced.filter(confirmed=True).exists()
        replaced.delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _create_backup_codes(user)
        audit.record("auth.2fa_enabled", actor=user, obj=user, changes={"replaced_device": had_device})
    return codes


def regenerate_backup_codes(*, user: User) -> list[str]:
    """Replace all backup codes of the user; the new ones are returned to be shown once."""
    with transaction.atomic():
        codes = _create_backup_codes(user)
        audit.record("auth.2fa_backup_codes_generated", actor=user, obj=user)
    return codes


class SecondFactorResult(enum.Enum):
    VERIFIED = "verified"
    WRONG = "wrong"
    THROTTLED = "throttled"
    LOCKED = "locked"


@dataclass(frozen=True)
class SecondFactorCheck:
    result: SecondFactorResult
    device: Device | None = None


def _match_device(user: User, token: str) -> SecondFactorCheck:
    """Try ``token`` on the user's authenticator and then on the backup codes."""
    candidates: list[Device] = []
    if token.isdigit():
        candidates += list(TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True))
    candidates += list(StaticDevice.objects.select_for_update().filter(user=user, confirmed=True))
    # While any device backs off after wrong codes, nothing is checked: otherwise a throttled
    # authenticator would let the backup codes be guessed without delay.
    if any(not device.verify_is_allowed()[0] for device in candidates):
        return SecondFactorCheck(SecondFactorResult.THROTTLED)
    for device in candidates:
        if device.verify_token(token):
            return SecondFactorCheck(SecondFactorResult.VERIFIED, device)
    return SecondFactorCheck(SecondFactorResult.WRONG)


def verify_second_factor(
    *, user: User, token: str, purpose: str = "login", trusted_device: bool = False
) -> SecondFactorCheck:
    """Check a TOTP or backup code of ``user``.

    A wrong code is audited (``auth.2fa_failed``) and, at log-in, counts as a failed log-in
    attempt, so guessing codes locks the account like guessing passwords. A correct code at
    log-in clears the failed attempts. A locked account is refused without checking the code,
    unless the sign-in came from a trusted device (``trusted_device``), which the account's
    hold does not apply to.
    """
    if purpose == "login" and user.is_locked and not trusted_device:
        return SecondFactorCheck(SecondFactorResult.LOCKED)
    token = normalise_token(token)
    with transaction.atomic():
        check = _match_device(user, token) if token else SecondFactorCheck(SecondFactorResult.WRONG)
        if check.result is SecondFactorResult.VERIFIED:
            if purpose == "login":
                clear_failed_logins(user=user)
                audit.record("auth.2fa_verified", actor=user, obj=user)
            return check
        if check.result is SecondFactorResult.WRONG:
            audit.record("auth.2fa_failed", actor=user, obj=user, changes={"purpose": purpose})
    if (
        check.result is SecondFactorResult.WRONG
        and purpose == "login"
        and register_failed_login(user=user, reason="second_factor")
        and not trusted_device
    ):
        return SecondFactorCheck(SecondFactorResult.LOCKED)
    return check


def disable_two_factor(*, user: User) -> None:
    """Remove the authenticator and the backup codes. The caller has checked a current code and
    that the user may do without a second factor."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record("auth.2fa_disabled", actor=user, obj=user)
