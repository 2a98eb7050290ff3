"""What other apps and the commands use of inbound e-mail (see ``dikom.cases.mail.actions``)."""

from __future__ import annotations

from dikom.cases.mail.actions import (
    ACCEPTED,
    BAD_DATA,
    DUPLICATE,
    EX_DATAERR,
    EX_NOUSER,
    EX_OK,
    EX_TEMPFAIL,
    TEMPORARY,
    UNKNOWN_RECIPIENT,
    Outcome,
    receive_mail,
)
from dikom.cases.mail.addressing import enabled, reply_address
from dikom.cases.mail.maildir import NotAMaildir, fetch_maildir

__all__ = [
    "ACCEPTED",
    "BAD_DATA",
    "DUPLICATE",
    "EX_DATAERR",
    "EX_NOUSER",
    "EX_OK",
    "EX_TEMPFAIL",
    "TEMPORARY",
    "UNKNOWN_RECIPIENT",
    "NotAMaildir",
    "Outcome",
    "enabled",
    "fetch_maildir",
    "receive_mail",
    "reply_address",
]
