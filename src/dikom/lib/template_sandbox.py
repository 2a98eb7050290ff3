"""The sandbox for Django templates that staff write (letter templates, automation texts and documents).

A template a process designer or a rule author writes runs on the server with
case data, often in another city than the one it was written in. So it gets:

- its own :class:`~django.template.Engine` with no loaders, no libraries and
  only an allow-list of tags and filters (no ``load``, ``include``,
  ``extends``, ``debug``, ``url``, ``csrf_token``, ``lorem``, ``autoescape``;
  no ``safe``, ``pprint``, ``stringformat``, ``ljust`` …), autoescaping on;
- plain data only: the context is copied into read-only mappings, tuples and
  scalars, so no model instance, manager or mutable list is reachable, and
  Django already refuses names that start with an underscore;
- limits: the source may have at most :data:`MAX_SOURCE_CHARS` characters
  (checked when it is saved and when it runs), and a render may take at most
  :data:`MAX_STEPS` node renders and filter calls, produce at most
  :data:`MAX_OUTPUT_CHARS` characters and run for at most
  :data:`MAX_SECONDS` seconds; every node and every filter call checks these,
  so a template that would take long stops with :class:`TemplateRefused`.

What comes out is HTML or text; turning it into a PDF is
:func:`dikom.lib.pdf.render_pdf`'s job, which fetches nothing but the
platform's own static files.
"""

from __future__ import annotations

import contextvars
import functools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from django.template import Context, Engine, Library, Node, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import Lexer, TokenType
from django.utils.translation import gettext as _

#: Longest template source accepted (characters).
MAX_SOURCE_CHARS = 50_000
#: Most characters one render may produce (counted per node, so nesting counts more than once).
MAX_OUTPUT_CHARS = 2_000_000
#: Most node renders and filter calls in one render.
MAX_STEPS = 200_000
#: Longest a render may run (seconds of wall time).
MAX_SECONDS = 5.0

ALLOWED_TAGS = frozenset(
    {
        "comment", "cycle", "filter", "firstof", "for", "if", "ifchanged", "now", "regroup", "resetcycle",
        "spaceless", "templatetag", "verbatim", "widthratio", "with",
    }
)  # fmt: skip
#: Closing and intermediate tags of the allowed ones.
_INNER_TAGS = frozenset(
    {
        "endcomment", "endfilter", "endfor", "empty", "endif", "elif", "else", "endifchanged", "endspaceless",
        "endverbatim", "endwith",
    }
)  # fmt: skip
ALLOWED_FILTERS = frozenset(
    {
        "add", "addslashes", "capfirst", "cut", "date", "default", "default_if_none", "divisibleby", "escape",
        "filesizeformat", "first", "floatformat", "force_escape", "get_digit", "join", "last", "length",
        "linebreaks", "linebreaksbr", "lower", "phone2numeric", "pluralize", "slice", "slugify", "striptags",
        "time", "timesince", "timeuntil", "title", "truncatechars", "truncatechars_html", "truncatewords",
        "truncatewords_html", "upper", "urlencode", "wordcount", "wordwrap", "yesno",
    }
)  # fmt: skip
#: Filters whose argument is a precision: ``floatformat:"99999"`` would build a huge number.
_PRECISION_FILTERS = frozenset({"floatformat"})
_MAX_PRECISION = 20


class TemplateRefused(ValueError):
    """The template cannot be used; the message says why, for the person who wrote it."""


@dataclass
class _Budget:
    deadline: float
    steps: int = 0
    output: int = 0
    stopped: str = field(default="")

    def spend(self, output: int = 0) -> None:
        self.steps += 1
        self.output += output
        if self.steps > MAX_STEPS or self.output > MAX_OUTPUT_CHARS:
            raise TemplateRefused(_("The template produces too much text; please shorten it or its loops."))
        if time.monotonic() > self.deadline:
            raise TemplateRefused(_("The template takes too long to fill in; please simplify it."))


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_sandbox_budget", default=None)


def _spend(output: int = 0) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.spend(output)


def _metered_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def metered(*args: Any, **kwargs: Any) -> Any:
        if name in _PRECISION_FILTERS and len(args) > 1 and _too_large(args[1]):
            raise TemplateRefused(_("The argument of the filter “%(name)s” is too large.") % {"name": name})
        result = function(*args, **kwargs)
        _spend(len(result) if isinstance(result, str) else 0)
        return result

    return metered


def _too_large(argument: Any) -> bool:
    try:
        return abs(int(str(argument).strip().rstrip("gu") or 0)) > _MAX_PRECISION
    except ValueError:
        return False


def _library() -> Library:
    library = Library()
    for name in ALLOWED_TAGS:
        library.tags[name] = defaulttags.register.tags[name]
    for name in ALLOWED_FILTERS:
        library.filters[name] = _metered_filter(name, defaultfilters.register.filters[name])
    return library


class _SandboxEngine(Engine):
    # Engine adds Django's default tags (load, include, extends, debug …) to any builtins; a sandbox has none.
    default_builtins: ClassVar[list[str]] = []

    def __init__(self) -> None:
        super().__init__(loaders=[], autoescape=True, libraries={}, builtins=[], debug=False)
        self.template_builtins = [_library()]


ENGINE = _SandboxEngine()

_FILTER_ERROR = re.compile(r"^Invalid filter: '([^']*)'")


def check(source: str) -> None:
    """Raise :class:`TemplateRefused` with a message for the author if the sandbox would not run ``source``.

    Used when a template is saved (forms, API, service definitions) and again before it runs."""
    _compile(source)


def _compile(source: str) -> Any:
    if not isinstance(source, str):
        raise TemplateRefused(_("The template must be a text."))
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateRefused(
            _("The template is too long (%(length)d characters; at most %(limit)d are allowed).")
            % {"length": len(source), "limit": MAX_SOURCE_CHARS}
        )
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.BLOCK:
            continue
        bits = token.split_contents()
        name = bits[0] if bits else ""
        if name not in ALLOWED_TAGS and name not in _INNER_TAGS:
            raise TemplateRefused(
                _("The tag “%(tag)s” is not allowed in templates (line %(line)d). Allowed tags: %(allowed)s.")
                % {"tag": name, "line": token.lineno, "allowed": ", ".join(sorted(ALLOWED_TAGS))}
            )
    try:
        template = ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        message = str(error)
        if match := _FILTER_ERROR.match(message):
            raise TemplateRefused(
                _("The filter “%(filter)s” is not allowed in templates. Allowed filters: %(allowed)s.")
                % {"filter": match[1], "allowed": ", ".join(sorted(ALLOWED_FILTERS))}
            ) from error
        if "may not begin with underscores" in message:
            raise TemplateRefused(_("Names that begin with an underscore are not allowed in templates.")) from error
        raise TemplateRefused(_("The template has an error: %(error)s") % {"error": message}) from error
    for node in template.nodelist.get_nodes_by_type(Node):
        # Per instance, so Django's own templates stay untouched; NodeList and ForNode call render_annotated.
        setattr(node, "render_annotated", _metered_node(node.render_annotated))  # noqa: B010
    return template


def _metered_node(render: Callable[[Context], Any]) -> Callable[[Context], Any]:
    def metered(context: Context) -> Any:
        _spend()
        output = render(context)
        _spend(len(output) if isinstance(output, str) else 0)
        return output

    return metered


class _ReadOnlyList(tuple[Any, ...]):
    """A list in a template: shown like a list, but without ``pop``, ``clear`` and the like."""

    def __str__(self) -> str:
        return str(list(self))


def plain(value: Any) -> Any:
    """``value`` as read-only plain data: mappings, tuples, strings, numbers, booleans and None."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({str(key): plain(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return _ReadOnlyList(plain(item) for item in value)
    return str(value)


def render(source: str, context: Mapping[str, Any], *, autoescape: bool = True) -> str:
    """``source`` filled in with a read-only copy of ``context``; raises :class:`TemplateRefused`."""
    template = _compile(source)
    data = {str(key): plain(value) for key, value in context.items()}
    token = _budget.set(_Budget(deadline=time.monotonic() + MAX_SECONDS))
    try:
        output: str = template.render(Context(data, autoescape=autoescape))
    except TemplateRefused:
        raise
    except Exception as error:  # whatever the author's template trips over is their error, never a 500
        raise TemplateRefused(_("The template cannot be filled in: %(error)s") % {"error": error}) from error
    finally:
        _budget.reset(token)
    return output
