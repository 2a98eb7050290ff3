"""Inbound e-mail: reading a mail (``cases.mail.parsing.parse``), against the standard library alone.

Usage: DJANGO_SETTINGS_MODULE=dikom.conf.ci .venv/bin/python benchmarks/bench_inbound_mail.py [RUNS]
Three mails built with Python's ``email`` package: a short reply with 200 quoted lines, two 1 MiB PDFs,
twenty 1 MiB PDFs (about the 25 MiB limit after base64). Median of RUNS parses (default 5) after a warm-up.
The reference ("limit") is what the standard library needs at least: ``message_from_bytes`` with the same
policy and ``get_payload(decode=True)`` of every leaf part. No database, no virus scan (the scanner's own
cost is clamd's and comes on top).
"""

from __future__ import annotations

import email
import email.policy
import os
import statistics
import sys
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.ci")

import django

django.setup()

from dikom.cases.mail import parsing  # noqa: E402


def build(attachments: int) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "antwort+x@post.example", "Nachweis"
    message["Message-ID"] = "<bench@example.org>"
    message.set_content("Guten Tag,\nanbei.\n\nAm 01.12.2026 schrieb Stadt Fulda:\n" + "> alter Text\n" * 200)
    for index in range(attachments):
        content = b"%PDF-1.4\n" + os.urandom(1 << 20)
        message.add_attachment(content, maintype="application", subtype="pdf", filename=f"d{index}.pdf")
    return message.as_bytes()


def stdlib(raw: bytes) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        if not part.is_multipart():
            part.get_payload(decode=True)


def median_ms(function: object, raw: bytes, runs: int) -> float:
    function(raw)  # type: ignore[operator]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function(raw)  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(runs: int) -> None:
    print("| mail | raw MiB | parse ms | stdlib ms | ratio |")
    print("|---|---|---|---|---|")
    for label, attachments in (("short reply, 200 quoted lines", 0), ("2 × 1 MiB PDF", 2), ("20 × 1 MiB PDF", 20)):
        raw = build(attachments)
        ours = median_ms(lambda r: parsing.parse(r, max_bytes=1 << 30), raw, runs)
        limit = median_ms(stdlib, raw, runs)
        print(f"| {label} | {len(raw) / 1048576:.1f} | {ours:.1f} | {limit:.1f} | {ours / limit:.2f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
