"""What the state changes of the service library share: workflow errors, the quorum, notifications, caches."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from dikom.eservices.models import (
    Notification,
    ServiceDefinition,
    ServiceVersion,
)
from dikom.lib.slugs import german_slugify as slugify
from dikom.municipalities.models import Municipality

DEFAULT_RELEASE_QUORUM = 2
# Paths under /dienste/ that are pages, not services.
RESERVED_SLUGS = frozenset({"meine", "neu", "importieren", "benachrichtigungen"})
MAX_FEE_CENTS = 100_000_000  # one million euros: far above any municipal fee


class WorkflowError(Exception):
    """A state change the workflow does not allow; ``message`` is shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SubmissionBlocked(WorkflowError):
    """Submission refused because the definition has problems (``problems``: DefinitionProblem list)."""

    def __init__(self, problems: list[Any]) -> None:
        super().__init__(
            _("The service cannot be submitted yet: %(count)s problem(s) must be solved first.")
            % {"count": len(problems)}
        )
        self.problems = problems


def release_quorum() -> int:
    """Approvals from different cities that release a version (``DIKOM_ESERVICES_RELEASE_QUORUM``, default 2)."""
    value = getattr(settings, "DIKOM_ESERVICES_RELEASE_QUORUM", DEFAULT_RELEASE_QUORUM)
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_RELEASE_QUORUM


def acting_user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None


def plain_text(value: Any) -> str:
    from dikom.eservices.definition.schema import text

    return text(value)


def identity_caches(content: Any) -> dict[str, str]:
    identity = content.get("identity") if isinstance(content, dict) else None
    identity = identity if isinstance(identity, dict) else {}
    keywords = identity.get("keywords")
    keywords = [str(k) for k in keywords] if isinstance(keywords, list) else []
    leika = identity.get("leika_key")
    return {
        "title": (plain_text(identity.get("title")) or "?")[:300],
        "leika_key": leika[:14] if isinstance(leika, str) else "",
        "keywords": ", ".join(keywords)[:1000],
    }


def update_caches(definition: ServiceDefinition, content: Any) -> None:
    caches = identity_caches(content)
    changed = [name for name, value in caches.items() if getattr(definition, name) != value]
    if changed:
        for name in changed:
            setattr(definition, name, caches[name])
        definition.save(update_fields=[*changed, "updated_at"])


def unique_slug(title: str) -> str:
    base = slugify(title)[:70].strip("-") or "dienst"
    slug, counter = base, 2
    while slug in RESERVED_SLUGS or ServiceDefinition.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


def notify(municipality: Municipality | int, role: str, text: str, link: str, version: ServiceVersion | None) -> None:
    Notification.objects.create(
        municipality_id=getattr(municipality, "pk", municipality),
        role=role,
        text=text[:500],
        link=link,
        version=version,
    )


def version_url(version: ServiceVersion, name: str = "eservices:version") -> str:
    return reverse(name, kwargs={"slug": version.definition.slug, "number": version.number})


def locked_version(version: ServiceVersion) -> ServiceVersion:
    """The version's row, locked for the rest of the transaction (PostgreSQL; SQLite locks the whole file)."""
    return (
        ServiceVersion.objects.select_for_update(of=("self",))
        .select_related("definition", "municipality")
        .get(pk=version.pk)
    )
