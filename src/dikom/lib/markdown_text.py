"""Markdown that people write (forum posts), rendered safely.

CommonMark without raw HTML: whatever someone types as HTML is escaped and shown as text, and
markdown-it refuses ``javascript:``/``data:`` link targets. The same configuration the open
data portal uses for dataset descriptions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

_MARKDOWN = MarkdownIt("commonmark", {"html": False})
MAX_CHARS = 50_000


def _link_mentions(state: StateCore) -> None:
    """Turn ``@name`` in plain text (not in code, not inside a link) into a link, where ``env`` has one.

    ``env["mention_pattern"]`` finds the names (group 1), ``env["mention_links"]`` maps a name to its
    address; names without an address stay text. The renderer escapes the text and the address.
    """
    pattern: re.Pattern[str] | None = state.env.get("mention_pattern")
    links: Mapping[str, str] = state.env.get("mention_links") or {}
    if pattern is None or not links:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        depth = 0
        for token in block.children:
            depth += 1 if token.type == "link_open" else -1 if token.type == "link_close" else 0
            if token.type != "text" or depth > 0:
                children.append(token)
                continue
            position = 0
            for match in pattern.finditer(token.content):
                url = links.get(match.group(1))
                if url is None:
                    continue
                if match.start() > position:
                    children.append(_text(token.content[position : match.start()]))
                opening = Token("link_open", "a", 1)
                opening.attrs = {"href": url, "class": "mention"}
                children += [opening, _text(match.group(0)), Token("link_close", "a", -1)]
                position = match.end()
            if position == 0:
                children.append(token)
            elif position < len(token.content):
                children.append(_text(token.content[position:]))
        block.children = children


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


_MARKDOWN.core.ruler.push("link_mentions", _link_mentions)


def render_markdown(
    text: str,
    limit: int | None = MAX_CHARS,
    *,
    mention_pattern: re.Pattern[str] | None = None,
    mention_links: Mapping[str, str] | None = None,
) -> SafeString:
    """``text`` (its first ``limit`` characters) as HTML, with every HTML tag the author wrote escaped.

    With ``mention_pattern`` and ``mention_links``, mentions of the names in ``mention_links`` become
    links to their addresses (see ``_link_mentions``).
    """
    source = text or ""
    if limit is not None:
        source = source[:limit]
    env: dict[str, Any] = {"mention_pattern": mention_pattern, "mention_links": mention_links}
    return mark_safe(_MARKDOWN.render(source, env))  # noqa: S308 (raw HTML disabled, output escaped)
