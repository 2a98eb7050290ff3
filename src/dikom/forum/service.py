"""What other apps use of the transfer forum (kept small)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from dikom.forum import access
from dikom.forum.actions import install_default_categories
from dikom.forum.models import Topic
from dikom.forum.search import Document, Source, index, register, remove

__all__ = [
    "Document",
    "Source",
    "ask_about_service_url",
    "competence_topics_url",
    "index",
    "install_default_categories",
    "is_forum_user",
    "register",
    "remove",
    "service_topics",
]

is_forum_user = access.is_forum_user


def competence_topics_url(code: str) -> str:
    """The forum's list of topics tagged with a DigComp competence, e.g. to link from a gap."""
    return reverse("forum:index") + f"?thema=digcomp-{code.replace('.', '-')}"


def service_topics(user: Any, service_slug: str, limit: int = 10) -> list[Topic]:
    """Published questions about a shared online service, for staff only (empty for anyone else)."""
    if not access.is_forum_user(user):
        return []
    return list(
        access.visible_topics(user)
        .filter(tags__service_slug=service_slug)
        .select_related("author_municipality")
        .order_by("-last_activity_at")
        .distinct()[:limit]
    )


def ask_about_service_url(service_slug: str) -> str:
    """The question form, prefilled with the online service."""
    return reverse("forum:ask") + "?" + urlencode({"dienst": service_slug})
