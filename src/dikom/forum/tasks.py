"""Periodic job of the transfer forum (registered in apps.py): idempotent, finds its work in the database."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django_tasks import task


@task()
def send_daily_digests() -> int:
    """Once a day per person: one e-mail with what is new in their subscriptions (daily mode)."""
    from dikom.forum import notifications

    with translation.override(settings.LANGUAGE_CODE):
        return notifications.send_daily_digests()
