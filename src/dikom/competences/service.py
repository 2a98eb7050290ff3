"""What other apps use of roadMAP (trainings, the expert directory and the forum will build on this)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dikom.competences import access, gaps
from dikom.competences.actions import install_builtin_clusters, install_builtin_frameworks
from dikom.competences.documents import DocumentHit, search_documents
from dikom.competences.models import Evidence, Expert, FrameworkVersion, StaffProfile

__all__ = [
    "EVIDENCE_KINDS",
    "DocumentHit",
    "FrameworkVersion",
    "OwnGap",
    "competence_titles",
    "install_builtin_clusters",
    "install_builtin_frameworks",
    "mention_targets",
    "own_gaps",
    "search_documents",
]

EVIDENCE_KINDS = Evidence.Kind


@dataclass(frozen=True)
class OwnGap:
    municipality_id: int
    framework_version_id: int
    competence_code: str
    required: int
    confirmed: int


def own_gaps(user: Any) -> list[OwnGap]:
    """The signed-in person's own gaps (required above confirmed level), e.g. to recommend trainings.

    Only the person's own data: never call this for someone else.
    """
    result = []
    for staff in access.own_staff_profiles(user):
        if staff.role_profile is None:
            continue
        for row in gaps.person_rows(staff):
            if row.required is not None and row.gap:
                result.append(
                    OwnGap(
                        municipality_id=staff.municipality_id,
                        framework_version_id=staff.role_profile.framework_version_id,
                        competence_code=row.code,
                        required=row.required,
                        confirmed=row.confirmed_level or 0,
                    )
                )
    return result


def competence_titles(language: str = "de") -> list[tuple[str, str]]:
    """(code, title) of the competences of DigComp 2.2 (latest version), in framework order."""
    version = (
        FrameworkVersion.objects.filter(framework__key="digcomp-2.2", framework__municipality__isnull=True)
        .order_by("-number")
        .first()
    )
    if version is None:
        return []
    return [(c["code"], c["title"].get(language) or c["title"]["de"]) for c in version.competences()]


def mention_targets(viewer: Any, user_ids: list[int]) -> dict[int, str]:
    """Where a mention of each of these people links for ``viewer`` (people without a page the viewer may open: none).

    The expert directory's page of the person when they opted in as an expert and have not left
    (every staff member of the cooperation may open it); otherwise their roadMAP page, only when
    the viewer may see it (the person, their line managers, HR of their city).
    """
    from django.urls import reverse

    if not user_ids or not access.is_staff(viewer):
        return {}
    result: dict[int, str] = {}
    for expert in Expert.objects.filter(staff__user_id__in=user_ids, staff__left_on__isnull=True).select_related(
        "staff"
    ):
        result.setdefault(expert.staff.user_id, reverse("competences:expert_contact", args=[expert.uuid]))
    for staff in (
        StaffProfile.objects.filter(user_id__in=user_ids, left_on__isnull=True)
        .exclude(user_id__in=list(result))
        .order_by("pk")
    ):
        if staff.user_id not in result and access.can_view_person(viewer, staff):
            result[staff.user_id] = reverse("competences:person", args=[staff.uuid])
    return result
