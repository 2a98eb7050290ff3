"""Background work of the sign-in providers (periodic, see ``apps.py``)."""

from __future__ import annotations

from django.utils import timezone

from dikom.lib.tasks import retrying_task


@retrying_task(backoff_seconds=60)
def delete_expired_assertion_markers() -> int:
    """Periodic clean-up: drop replay markers of assertions that can no longer be used anyway."""
    from dikom.authproviders.actions import delete_expired_assertion_markers as delete

    return delete(timezone.now())
