"""``{% extends %}`` with the root template's blocks kept per compiled template: same output as Django's tag."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from django.conf import settings
from django.template import Context, Engine
from django.template import engines as configured_engines
from django.template.loader_tags import ExtendsNode
from django.test import Client, override_settings

from dikom.web.templatetags.rootblocks import RootBlocksExtendsNode, root_blocks

TEMPLATES = {
    "root.html": (
        "<!doctype html><title>{% block title %}Root{% endblock %}</title>"
        "{% if show %}{% block banner %}[banner {{ who }}]{% endblock %}{% endif %}"
        "<main>{% block main %}<p>root main</p>{% block inner %}root inner{% endblock %}{% endblock %}</main>"
        "{% for item in items %}{% block unused %}u{% endblock %}{{ item }}{% endfor %}"
        "<footer>{% block footer %}root footer{% endblock %}</footer>"
    ),
    "middle.html": (
        "{% extends 'root.html' %}{% block title %}Middle · {{ block.super }}{% endblock %}"
        "{% block inner %}middle inner / {{ block.super }}{% endblock %}"
    ),
    "leaf.html": (
        "text before is ignored {% extends 'middle.html' %}"
        "{% block title %}Leaf · {{ block.super }}{% endblock %}"
        "{% block main %}{{ block.super }}<aside>{% include 'piece.html' %}</aside>{% endblock %}"
        "{% block banner %}<b>{{ block.super }}</b>{% endblock %}"
    ),
    "piece.html": "{% extends 'piece_base.html' %}{% block piece %}piece {{ who }}{% endblock %}",
    "piece_base.html": "<span>{% block piece %}base piece{% endblock %}</span>",
    "by_object.html": "{% extends parent %}{% block footer %}object footer {{ block.super }}{% endblock %}",
    "loop.html": "{% for n in items %}{% include 'piece.html' %}{% endfor %}",
}
CONTEXTS = [
    {"who": "Anna", "show": True, "items": [1, 2]},
    {"who": "<script>", "show": False, "items": []},
]


def _engines(cached: bool) -> tuple[Engine, Engine]:
    loader = ("django.template.loaders.locmem.Loader", TEMPLATES)
    loaders = [("django.template.loaders.cached.Loader", [loader])] if cached else [loader]
    ours = Engine(loaders=copy.deepcopy(loaders), builtins=["dikom.web.templatetags.rootblocks"])
    djangos = Engine(loaders=copy.deepcopy(loaders))
    return ours, djangos


@pytest.mark.parametrize("cached", [True, False])
@pytest.mark.parametrize("name", ["root.html", "middle.html", "leaf.html", "piece.html", "loop.html"])
def test_same_output_as_djangos_extends(cached: bool, name: str) -> None:
    ours, djangos = _engines(cached)
    for values in CONTEXTS:
        for _ in range(3):  # the second and third render use the kept blocks
            expected = djangos.get_template(name).render(Context(values))
            assert ours.get_template(name).render(Context(values)) == expected
    if name in ("middle.html", "leaf.html", "piece.html"):
        node = next(n for n in ours.get_template(name).nodelist if isinstance(n, ExtendsNode))
        assert type(node) is RootBlocksExtendsNode
        assert type(next(n for n in djangos.get_template(name).nodelist if isinstance(n, ExtendsNode))) is ExtendsNode


def test_parent_given_as_a_template_object() -> None:
    ours, djangos = _engines(cached=True)
    for values in CONTEXTS:
        for parent_name in ("root.html", "middle.html"):
            expected = djangos.get_template("by_object.html").render(
                Context({**values, "parent": djangos.get_template(parent_name)})
            )
            got = ours.get_template("by_object.html").render(
                Context({**values, "parent": ours.get_template(parent_name)})
            )
            assert got == expected
            assert "object footer root footer" in got


def test_root_blocks_are_kept_only_for_a_root_template() -> None:
    ours, _ = _engines(cached=True)
    root = ours.get_template("root.html")
    blocks = root_blocks(root)
    assert blocks is not None
    assert sorted(blocks) == ["banner", "footer", "inner", "main", "title", "unused"]
    assert root_blocks(root) is blocks  # kept on the compiled template
    assert root_blocks(ours.get_template("middle.html")) is None  # it extends root.html


def test_errors_of_the_tag_are_djangos() -> None:
    from django.template import TemplateSyntaxError

    ours, djangos = _engines(cached=False)
    for source in ("{% extends %}", "{% extends 'root.html' %}{% extends 'root.html' %}"):
        with pytest.raises(TemplateSyntaxError) as theirs:
            djangos.from_string(source)
        with pytest.raises(TemplateSyntaxError) as mine:
            ours.from_string(source)
        assert str(mine.value) == str(theirs.value)


def test_the_sites_templates_use_it() -> None:
    template = _compiled("portal/finder.html")
    assert any(type(node) is RootBlocksExtendsNode for node in template.nodelist)


def _compiled(name: str) -> Any:
    """The compiled ``django.template.base.Template`` of the configured engine."""
    return configured_engines["django"].get_template(name).template  # type: ignore[attr-defined]


def _without_per_request_values(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/konto/anmelden/", "/barrierefreiheit/", "/admin/login/"])
def test_real_pages_are_byte_for_byte_as_with_djangos_tag(path: str) -> None:
    ours = Client().get(path)
    without: list[dict[str, Any]] = copy.deepcopy(settings.TEMPLATES)
    del without[0]["OPTIONS"]["builtins"]
    with override_settings(TEMPLATES=without):
        djangos = Client().get(path)
        assert not any(type(node) is RootBlocksExtendsNode for node in _compiled("portal/finder.html").nodelist)
    assert ours.status_code == djangos.status_code
    assert _without_per_request_values(ours.content.decode()) == _without_per_request_values(djangos.content.decode())
