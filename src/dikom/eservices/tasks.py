"""Background jobs of the service library."""

from __future__ import annotations

from django_tasks import task


@task()
def refresh_configured_codelists() -> dict[str, str]:
    """Daily: fetch the code lists of DIKOM_FIM_CODELIST_URLS; a new version is added, a known one left alone."""
    from dikom.eservices.codelists import fetch_configured

    return fetch_configured()
