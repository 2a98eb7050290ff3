"""``{% fragment "name" value … %}…{% endfragment %}``: a part of a page rendered once per
process, language and values (see ``dikom.lib.fragments`` for what may be inside)."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.utils.translation import get_language

from dikom.lib import fragments

register = template.Library()


class FragmentNode(template.Node):
    def __init__(self, name: str, vary: list[FilterExpression], nodelist: NodeList) -> None:
        self.name = name
        self.vary = vary
        self.nodelist = nodelist

    def render(self, context: template.Context) -> str:
        values = tuple(_hashable(expression.resolve(context)) for expression in self.vary)
        key = ("fragment", self.name, get_language(), values)
        return fragments.get_or_render(key, lambda: self.nodelist.render(context))


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@register.tag("fragment")
def do_fragment(parser: Parser, token: Token) -> FragmentNode:
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError("{% fragment %} needs a quoted name first")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(bits[1][1:-1], [parser.compile_filter(bit) for bit in bits[2:]], nodelist)
