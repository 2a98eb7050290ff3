"""What other apps use of the transfer forum (kept small)."""

from __future__ import annotations

from django.urls import reverse

from dikom.forum.actions import install_default_categories

__all__ = ["competence_topics_url", "install_default_categories"]


def competence_topics_url(code: str) -> str:
    """The forum's list of topics tagged with a DigComp competence, e.g. to link from a gap."""
    return reverse("forum:index") + f"?thema=digcomp-{code.replace('.', '-')}"
