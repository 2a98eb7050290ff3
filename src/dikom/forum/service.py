"""What other apps use of the transfer forum (kept small)."""

from __future__ import annotations

from django.urls import reverse

__all__ = ["competence_topics_url"]


def competence_topics_url(code: str) -> str:
    """The forum's list of topics tagged with a DigComp competence, e.g. to link from a gap."""
    return reverse("forum:index") + f"?thema=digcomp-{code.replace('.', '-')}"
