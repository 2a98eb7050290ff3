"""Polling a Maildir: each mail in ``new/`` goes through ``receive_mail`` and then to ``cur/``.

Accepted mails (and duplicates) get the flag ``S`` (seen), refused ones ``T`` (trashed; kept for the
operator, nothing of them reaches a case), and a temporary failure leaves the mail in ``new/`` for the
next run. A crash between storing and moving is harmless: the next run finds the Message-ID stored and
only moves the file. Files are read up to one byte more than the size limit, so a huge file costs no
more memory than an allowed one.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from django.conf import settings

from dikom.cases.mail import actions


class NotAMaildir(Exception):
    pass


def _flagged(name: str, flag: str) -> str:
    base = name.split(":2,", 1)[0]
    return f"{base}:2,{flag}"


def fetch_maildir(path: str | os.PathLike[str]) -> Counter[str]:
    """Process every mail in ``<path>/new``; how many ended how (the ``Outcome.status`` words)."""
    root = Path(path)
    new, cur = root / "new", root / "cur"
    if not new.is_dir() or not cur.is_dir():
        raise NotAMaildir(str(root))
    limit = int(settings.DIKOM_INBOUND_MAIL_MAX_BYTES)
    counts: Counter[str] = Counter()
    for entry in sorted(new.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        with entry.open("rb") as handle:
            raw = handle.read(limit + 1)
        outcome = actions.receive_mail(raw)
        counts[outcome.status] += 1
        if outcome.status == actions.TEMPORARY:
            continue
        entry.rename(cur / _flagged(entry.name, "S" if outcome.accepted else "T"))
    return counts
