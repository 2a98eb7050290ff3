"""Sending e-mail in the background, with retries (SMTP servers fail)."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from dikom.lib.tasks import retrying_task


@retrying_task(backoff_seconds=60)
def send_mail_task(subject: str, body: str, to: list[str], html: str | None = None) -> int:
    message = EmailMultiAlternatives(subject=subject, body=body, to=to)
    if html:
        message.attach_alternative(html, "text/html")
    return message.send()


def send_mail_on_commit(subject: str, body: str, to: list[str], html: str | None = None) -> None:
    """Queue a mail once the current transaction has committed."""
    transaction.on_commit(lambda: send_mail_task.enqueue(subject, body, to, html))
