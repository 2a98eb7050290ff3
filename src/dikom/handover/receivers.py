"""Listening to the portal: every submitted application gets its deliveries."""

from __future__ import annotations

from typing import Any

from dikom.handover.actions import create_deliveries
from dikom.portal.models import Application


def on_application_submitted(sender: Any, application: Application, **kwargs: Any) -> None:
    # Sent after the submission committed; the unique (application, target)
    # constraint makes a repeated signal harmless.
    create_deliveries(application)
