"""Who may see and change what in the service library. Written once, used by
the pages and the API.

- Released versions: everyone, signed in or not (the shared library).
- Drafts: the process designers and administrators of the authoring city.
- Versions that were submitted (in review, changes requested, or withdrawn
  after a review): additionally the authoring city's reviewers and the
  working-group reviewers of every other city. A city without a reviewer
  never sees another city's drafts or versions under review: 404.
- Editing, submitting and withdrawing: process designers of the authoring city.
- Reviewing: reviewers of another city (never of the authoring city).
- Adopting: municipality administrators of the adopting city.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from dikom.accounts.access import get_municipality_for_role, has_role
from dikom.accounts.models import Membership
from dikom.accounts.roles import Role
from dikom.accounts.scopes import register_scope
from dikom.eservices.models import Adoption, Notification, ReviewComment, ServiceDefinition, ServiceVersion
from dikom.municipalities.models import Municipality

ESERVICES_READ = register_scope(
    "eservices:read", _("Read the municipality's online service drafts and its adoptions of library services")
)

DESIGN_ROLES = (Role.PROCESS_DESIGNER,)
DRAFT_VIEW_ROLES = (Role.PROCESS_DESIGNER, Role.MUNICIPALITY_ADMIN)
ADOPT_ROLES = (Role.MUNICIPALITY_ADMIN,)

Status = ServiceVersion.Status
SUBMITTED = (Status.IN_REVIEW, Status.CHANGES_REQUESTED)


def membership_cities(user: Any, roles: tuple[str, ...]) -> set[int]:
    """Ids of the cities where ``user`` holds one of ``roles`` through a membership (no superuser
    bypass: platform administrators review or design only where they hold the role). Cached per user object."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return set()
    cache: dict[tuple[str, ...], set[int]] = user.__dict__.setdefault("_eservices_city_cache", {})
    if roles not in cache:
        cache[roles] = set(
            Membership.objects.filter(user=user, role__in=roles).values_list("municipality_id", flat=True)
        )
    return cache[roles]


def _is_platform_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) and getattr(user, "is_active", False))


def reviewer_municipalities(user: Any, version: ServiceVersion | None = None) -> list[Municipality]:
    """The cities on whose behalf ``user`` may review (``version``: excluding its authoring city)."""
    ids = membership_cities(user, (Role.REVIEWER,))
    if version is not None:
        ids = ids - {version.municipality_id}
    return list(Municipality.objects.filter(pk__in=ids).order_by("name"))


def designer_municipalities(user: Any) -> QuerySet[Municipality]:
    """The cities in which ``user`` may create services."""
    if _is_platform_admin(user):
        return Municipality.objects.all()
    return Municipality.objects.filter(pk__in=membership_cities(user, DESIGN_ROLES))


def is_reviewer_elsewhere(user: Any, municipality_id: int) -> bool:
    return bool(membership_cities(user, (Role.REVIEWER,)) - {municipality_id})


def can_view_version(user: Any, version: ServiceVersion) -> bool:
    if version.status == Status.RELEASED:
        return True
    if has_role(user, version.municipality, DRAFT_VIEW_ROLES):
        return True
    was_submitted = version.status in SUBMITTED or (
        version.status == Status.WITHDRAWN and version.submitted_at is not None
    )
    if not was_submitted:
        return False
    # Reviewers of other cities review it; the authoring city's own reviewers follow it.
    return bool(membership_cities(user, (Role.REVIEWER,)))


def visible_versions(user: Any) -> QuerySet[ServiceVersion]:
    """Every version ``user`` may see, as a queryset (the rule of ``can_view_version``)."""
    versions = ServiceVersion.objects.all()
    if _is_platform_admin(user):
        return versions
    visible = Q(status=Status.RELEASED) | Q(municipality_id__in=membership_cities(user, DRAFT_VIEW_ROLES))
    submitted = Q(status__in=SUBMITTED) | Q(status=Status.WITHDRAWN, submitted_at__isnull=False)
    if membership_cities(user, (Role.REVIEWER,)):
        # Reviewers of other cities review it; the authoring city's reviewers follow it.
        visible |= submitted
    return versions.filter(visible)


def get_definition(user: Any, slug: str) -> ServiceDefinition:
    """The service ``slug`` if ``user`` may see at least one of its versions; 404 otherwise."""
    try:
        definition = ServiceDefinition.objects.select_related("municipality", "latest_released").get(slug=slug)
    except ServiceDefinition.DoesNotExist as exc:
        raise Http404 from exc
    if definition.latest_released_id is not None:
        return definition
    if not visible_versions(user).filter(definition=definition).exists():
        raise Http404
    return definition


def get_version(user: Any, slug: str, number: int | str) -> ServiceVersion:
    """Version ``number`` of service ``slug``; 404 when it does not exist or ``user`` may not see it."""
    try:
        version = ServiceVersion.objects.select_related("definition", "municipality", "based_on").get(
            definition__slug=slug, number=int(number)
        )
    except (ServiceVersion.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if not can_view_version(user, version):
        raise Http404
    return version


def can_design(user: Any, municipality: Municipality) -> bool:
    return has_role(user, municipality, DESIGN_ROLES)


def can_edit_version(user: Any, version: ServiceVersion) -> bool:
    return version.is_editable and can_design(user, version.municipality)


def get_version_for_designer(user: Any, slug: str, number: int | str) -> ServiceVersion:
    """A version the user may see and whose authoring city he designs for (403 if he only may look)."""
    version = get_version(user, slug, number)
    if not can_design(user, version.municipality):
        raise PermissionDenied
    return version


def can_review(user: Any, version: ServiceVersion) -> bool:
    return version.status == Status.IN_REVIEW and is_reviewer_elsewhere(user, version.municipality_id)


def get_reviewing_municipality(user: Any, version: ServiceVersion, municipality_id: Any = None) -> Municipality:
    """The city on whose behalf ``user`` reviews ``version`` (a chosen one, or the only one); 403 if none."""
    cities = reviewer_municipalities(user, version)
    if not cities:
        raise PermissionDenied
    if municipality_id in (None, ""):
        return cities[0]
    for city in cities:
        if str(city.pk) == str(municipality_id):
            return city
    raise PermissionDenied


def commenting_municipality(user: Any, version: ServiceVersion) -> Municipality | None:
    """Who comments: a reviewer of another city, or a designer of the authoring city (answering)."""
    if version.status != Status.IN_REVIEW:
        return None
    cities = reviewer_municipalities(user, version)
    if cities:
        return cities[0]
    if version.municipality_id in membership_cities(user, DESIGN_ROLES):
        return version.municipality
    return None


def can_resolve_comment(user: Any, comment: ReviewComment) -> bool:
    if comment.resolved:
        return False
    version = comment.version
    return can_design(user, version.municipality) or (
        getattr(user, "pk", None) is not None and comment.author_id == user.pk
    )


def get_comment(version: ServiceVersion, comment_id: Any) -> ReviewComment:
    try:
        return ReviewComment.objects.select_related("version").get(version=version, pk=int(comment_id))
    except (ReviewComment.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


# --- adoption -------------------------------------------------------------------------


def get_adopting_municipality(user: Any, slug: str) -> Municipality:
    """The city ``slug`` if ``user`` administers it (403 otherwise, 404 for an unknown city)."""
    return get_municipality_for_role(user, slug, ADOPT_ROLES)


def adopting_municipalities(user: Any) -> list[Municipality]:
    if _is_platform_admin(user):
        return list(Municipality.objects.order_by("name"))
    return list(Municipality.objects.filter(pk__in=membership_cities(user, ADOPT_ROLES)).order_by("name"))


def get_adoption(municipality: Municipality, definition: ServiceDefinition) -> Adoption | None:
    return (
        Adoption.objects.select_related("version", "pending_upgrade_to", "org_unit", "definition")
        .filter(municipality=municipality, definition=definition)
        .first()
    )


# --- notifications ----------------------------------------------------------------------


def notifications_for(user: Any) -> QuerySet[Notification]:
    """Notifications addressed to a role the user holds in the city it holds it in."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return Notification.objects.none()
    pairs = Membership.objects.filter(user=user).values_list("municipality_id", "role")
    condition = Q(pk__in=[])
    for municipality_id, role in pairs:
        condition |= Q(municipality_id=municipality_id, role=role)
    return Notification.objects.filter(condition).select_related("municipality")


def get_notification(user: Any, notification_id: Any) -> Notification:
    try:
        return notifications_for(user).get(pk=int(notification_id))
    except (Notification.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
