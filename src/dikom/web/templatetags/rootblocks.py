"""``{% extends %}`` with the root template's blocks looked up once per compiled template (issue 21).

Django's ``ExtendsNode.render`` walks the whole node tree of the root template (the one that
extends nothing, here ``base.html``) on every render to collect its ``{% block %}`` nodes: about a
tenth of the Python function calls of a citizen page. The compiled root template does not change
(the cached loader keeps one per process; without it every load compiles a new one), so the walk's
result is kept on the compiled template object itself and reused. Everything else is Django's own
``ExtendsNode``: parsing, the parent's lookup, the block context, the rendering.

Registered as a template builtin (``TEMPLATES[0]["OPTIONS"]["builtins"]``), which replaces the
``extends`` tag of Django's ``loader_tags`` for every template; ``web/tests/test_rootblocks.py``
renders the same templates with Django's tag and with this one and compares the output.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Parser, TextNode, Token
from django.template.context import Context
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockContext, BlockNode, ExtendsNode, do_extends

register = template.Library()

#: Attribute of a compiled ``django.template.base.Template``: its block nodes by name when it is a
#: root template (extends nothing), ``None`` when it extends another one.
_ROOT_BLOCKS = "_dikom_root_blocks"
_UNKNOWN = object()


def root_blocks(compiled: Any) -> dict[str, BlockNode] | None:
    """The block nodes of ``compiled`` by name if it is a root template, else None (kept on the object)."""
    found = getattr(compiled, _ROOT_BLOCKS, _UNKNOWN)
    if found is _UNKNOWN:
        found = None
        for node in compiled.nodelist:
            # The ExtendsNode has to be the first non-text node (as Django's ExtendsNode.render looks).
            if not isinstance(node, TextNode):
                if not isinstance(node, ExtendsNode):
                    found = {n.name: n for n in compiled.nodelist.get_nodes_by_type(BlockNode)}
                break
        setattr(compiled, _ROOT_BLOCKS, found)
    return found  # type: ignore[return-value]


class RootBlocksExtendsNode(ExtendsNode):
    def render(self, context: Context) -> Any:
        compiled_parent: Any = self.get_parent(context)
        if BLOCK_CONTEXT_KEY not in context.render_context:
            context.render_context[BLOCK_CONTEXT_KEY] = BlockContext()
        block_context = context.render_context[BLOCK_CONTEXT_KEY]
        # The block nodes of this template, then (for a root parent) the parent's own.
        block_context.add_blocks(self.blocks)
        blocks = root_blocks(compiled_parent)
        if blocks is not None:
            block_context.add_blocks(blocks)
        # Template._render, so the parser context stays the same (as Django's ExtendsNode).
        with context.render_context.push_state(compiled_parent, isolated_context=False):
            return compiled_parent._render(context)


@register.tag("extends")
def extends(parser: Parser, token: Token) -> RootBlocksExtendsNode:
    node = do_extends(parser, token)
    return RootBlocksExtendsNode(node.nodelist, node.parent_name, node.template_dirs)
