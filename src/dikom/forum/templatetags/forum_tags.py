from typing import Any

from django import template
from django.utils.safestring import SafeString

from dikom.lib.markdown_text import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    return render_markdown(text)


@register.filter
def markdown_mentions(text: str, links: dict[str, str] | None) -> SafeString:
    """A post as HTML with ``@name`` linked to the colleague's page, for names in ``links`` (notifications.mention_links)."""
    from dikom.forum.notifications import MENTION_RE

    return render_markdown(text, mention_pattern=MENTION_RE, mention_links=links or {})


@register.simple_tag(takes_context=True)
def forum_moderator(context: Any) -> bool:
    """Whether the person looking at the page moderates the forum (for the moderation link)."""
    from dikom.forum.access import is_moderator

    request = context.get("request")
    return bool(request is not None and is_moderator(request.user))
