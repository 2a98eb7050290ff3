#!/usr/bin/env python3
"""Tell whether an outside server that a test run needs is reachable.

Usage: ``check_service.py postgres DATABASE_URL``

Exit codes, so that a Makefile target can decide in one line:

- 0: reachable, run the tests;
- 3: not reachable and not required: the reason is printed, skip the tests;
- 1: not reachable but ``DIKOM_REQUIRE_SERVICES=1`` (CI): the reason is printed, fail.

A developer without PostgreSQL gets a clear skip; CI can never pass by skipping.
"""

from __future__ import annotations

import os
import sys

TIMEOUT_SECONDS = 3
EXIT_REACHABLE = 0
EXIT_REQUIRED_BUT_UNREACHABLE = 1
EXIT_SKIP = 3


def services_required() -> bool:
    return os.environ.get("DIKOM_REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes", "on"}


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def check_postgres(url: str) -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(url, connect_timeout=TIMEOUT_SECONDS) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        message = " ".join(str(exc).split())
        # The server answered; only the database is missing. pytest-django creates
        # its own test database through the maintenance database, so that is fine.
        if "does not exist" in message and "database" in message:
            return None
        return message
    return None


CHECKS = {"postgres": check_postgres}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in CHECKS:
        print(f"usage: {argv[0]} {{{','.join(CHECKS)}}} URL", file=sys.stderr)
        return 2
    service, url = argv[1], argv[2]
    reason = CHECKS[service](url)
    if reason is None:
        print(f"{service} reachable at {redact(url)}")
        return EXIT_REACHABLE
    reason = f"{service} is not reachable at {redact(url)} within {TIMEOUT_SECONDS} s: {reason}"
    if services_required():
        print(f"FAIL: {reason} (DIKOM_REQUIRE_SERVICES is set)", file=sys.stderr)
        return EXIT_REQUIRED_BUT_UNREACHABLE
    print(f"SKIPPED: {reason}. Start the server or set DATABASE_URL to run these tests.", file=sys.stderr)
    return EXIT_SKIP


if __name__ == "__main__":
    sys.exit(main(sys.argv))
