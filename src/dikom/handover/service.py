"""What other apps may use of the hand-over (keep it small)."""

from __future__ import annotations

from dikom.handover.models import Delivery
from dikom.portal.models import Application


def delivery_states(application: Application) -> list[tuple[str, str]]:
    """(target name, status) of every delivery of ``application``, e.g. for a case page."""
    return [
        (d.target.name, d.status)
        for d in Delivery.objects.filter(application=application).select_related("target").order_by("target__name")
    ]
