"""The reply address of a case: ``antwort+<case><mac>@DIKOM_INBOUND_MAIL_DOMAIN``, which nobody can guess.

``<case>`` is the case's uuid in base32 (26 characters), ``<mac>`` the first 100 bits of an HMAC-SHA256
over it with the secret key (``salted_hmac``, its own salt; keys in ``SECRET_KEY_FALLBACKS`` still verify,
so rotating the key does not orphan addresses already sent). Lower case throughout, since mail systems may
change the case of the local part. Knowing one case's address tells nothing about another's; a forged or
altered address verifies for no case, so a mail can only reach the case (and the city) it was sent for.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

PREFIX = "antwort"
SALT = "dikom.cases.mail.reply-address"
_CASE_CHARS = 26
_MAC_CHARS = 20


def enabled() -> bool:
    return bool(settings.DIKOM_INBOUND_MAIL_DOMAIN)


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _mac(case_part: str, secret: Any = None) -> str:
    return _b32(salted_hmac(SALT, case_part, secret=secret, algorithm="sha256").digest())[:_MAC_CHARS]


def token(case_uuid: uuid.UUID) -> str:
    case_part = _b32(case_uuid.bytes)
    return case_part + _mac(case_part)


def reply_address(case: Any) -> str:
    """The case's reply address, or "" when inbound e-mail is not configured."""
    if not enabled():
        return ""
    return f"{PREFIX}+{token(case.uuid)}@{settings.DIKOM_INBOUND_MAIL_DOMAIN}"


def is_ours(address: str) -> bool:
    """An address of the inbound domain with the reply prefix (whether or not its token verifies)."""
    local, _, domain = address.strip().lower().rpartition("@")
    return enabled() and domain == settings.DIKOM_INBOUND_MAIL_DOMAIN and local.startswith(PREFIX + "+")


def case_uuid_of(address: str) -> uuid.UUID | None:
    """The uuid of the case whose verified reply address ``address`` is, else None."""
    if not is_ours(address):
        return None
    local = address.strip().lower().rpartition("@")[0]
    value = local.removeprefix(PREFIX + "+")
    if len(value) != _CASE_CHARS + _MAC_CHARS:
        return None
    case_part, mac = value[:_CASE_CHARS], value[_CASE_CHARS:]
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(hmac.compare_digest(mac, _mac(case_part, secret)) for secret in secrets):
        return None
    try:
        return uuid.UUID(bytes=base64.b32decode(case_part.upper() + "======"))
    except (ValueError, TypeError):
        return None
