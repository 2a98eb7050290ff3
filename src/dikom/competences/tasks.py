"""Periodic roadMAP jobs (registered in apps.py); both are idempotent and find their work in the database."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django_tasks import task


@task()
def send_review_reminders() -> int:
    """E-mail people whose periodic competence review is due (once per due date)."""
    from dikom.competences import actions

    with translation.override(settings.LANGUAGE_CODE):
        return actions.send_review_reminders()


@task()
def delete_departed() -> int:
    """Delete roadMAP data of people who left longer ago than their city's retention period."""
    from dikom.competences import actions

    return actions.delete_departed()
