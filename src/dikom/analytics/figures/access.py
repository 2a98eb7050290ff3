"""Who may upload and read a city's aggregated figures: its analysts and municipality administrators."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404

from dikom.accounts.access import get_municipality_for_role
from dikom.analytics.access import READ_ROLES
from dikom.analytics.figures.models import FigureUpload
from dikom.municipalities.models import Municipality


def get_figures_municipality(user: Any, slug: str) -> Municipality:
    """The city ``slug`` if ``user`` is an analyst or municipality administrator there (403 otherwise, 404 unknown)."""
    return get_municipality_for_role(user, slug, READ_ROLES)


def get_upload(municipality: Municipality, upload_uuid: Any) -> FigureUpload:
    """An upload of ``municipality``; another city's (or an unknown) upload is a 404."""
    try:
        return FigureUpload.objects.select_related("municipality", "uploaded_by").get(
            municipality=municipality, uuid=upload_uuid
        )
    except (FigureUpload.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404 from exc
