"""Markdown that people write (forum posts), rendered safely.

CommonMark without raw HTML: whatever someone types as HTML is escaped and shown as text, and
markdown-it refuses ``javascript:``/``data:`` link targets. The same configuration the open
data portal uses for dataset descriptions.
"""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False})
MAX_CHARS = 50_000


def render_markdown(text: str, limit: int | None = MAX_CHARS) -> SafeString:
    """``text`` (its first ``limit`` characters) as HTML, with every HTML tag the author wrote escaped."""
    source = text or ""
    if limit is not None:
        source = source[:limit]
    return mark_safe(_MARKDOWN.render(source))  # noqa: S308 (raw HTML disabled, output escaped)
