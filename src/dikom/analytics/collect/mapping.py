"""Matomo mapping rules: validation on save and safe, precompiled matching.

Regular expressions come from staff and run on every tracking request, so they
are checked before they are saved: at most ``MAX_PATTERN_LENGTH`` characters,
no nested quantifiers (``(a+)+``), no alternation inside an unbounded
repetition (``(a|aa)*``), no back-references — the constructs that make
Python's backtracking engine take exponential time. They are matched with
``re.fullmatch`` against the URL *path* only, cut to ``MAX_INPUT_LENGTH``
characters; the query string and the host never take part.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from dikom.analytics.models import EventType

if TYPE_CHECKING:
    from dikom.analytics.collect.matomo import MatomoRequest
    from dikom.analytics.collect.models import MatomoRule

# The parser of the re module (public as the deprecated sre_parse until Python 3.13).
from re import _parser as sre_parse  # type: ignore[attr-defined]

MAX_INPUT_LENGTH = 1000
STEP_TYPES = {EventType.STEP_VIEWED, EventType.STEP_COMPLETED}
AUTH_TYPES = {EventType.AUTH_CHOSEN, EventType.AUTH_COMPLETED}
PAYMENT_TYPES = {EventType.PAYMENT_CHOSEN, EventType.PAYMENT_COMPLETED, EventType.PAYMENT_FAILED}

_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)} - {None}
_GROUPREFS = {sre_parse.GROUPREF, sre_parse.GROUPREF_EXISTS}


class UnsafePattern(ValueError):
    pass


def _walk(items: Any, inside_unbounded_repeat: bool) -> None:
    for op, arg in items:
        if op in _GROUPREFS:
            raise UnsafePattern(_("Back-references are not allowed."))
        if op in _REPEATS:
            _low, high, sub = arg
            unbounded = high == sre_parse.MAXREPEAT or high > 100
            if inside_unbounded_repeat and (unbounded or high > 1):
                raise UnsafePattern(_("Nested repetitions such as (a+)+ are not allowed."))
            _walk(sub, inside_unbounded_repeat or unbounded)
        elif op == sre_parse.BRANCH:
            if inside_unbounded_repeat:
                raise UnsafePattern(_("Alternatives (|) inside a repetition are not allowed."))
            for branch in arg[1]:
                _walk(branch, inside_unbounded_repeat)
        elif op == sre_parse.SUBPATTERN:
            _walk(arg[-1], inside_unbounded_repeat)
        elif op in {sre_parse.ASSERT, sre_parse.ASSERT_NOT}:
            _walk(arg[1], inside_unbounded_repeat)
        elif op == getattr(sre_parse, "ATOMIC_GROUP", None):
            _walk(arg, inside_unbounded_repeat)


def compile_safe(pattern: str) -> re.Pattern[str]:
    """Compile a staff-written pattern or raise ``UnsafePattern`` (too long, invalid or catastrophic)."""
    from dikom.analytics.collect.models import MAX_PATTERN_LENGTH

    if len(pattern) > MAX_PATTERN_LENGTH:
        raise UnsafePattern(_("At most %(n)d characters.") % {"n": MAX_PATTERN_LENGTH})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "possible nested set" and the like
            parsed = sre_parse.parse(pattern)
            compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise UnsafePattern(_("Not a valid regular expression: %(error)s") % {"error": exc}) from exc
    _walk(parsed, False)
    return compiled


def rule_errors(rule: MatomoRule) -> dict[str, list[str]]:
    """Field errors of a rule (German-translatable), empty when the rule is consistent."""
    from dikom.analytics.collect.models import MatchOn

    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    match_on = str(rule.match_on)
    uses: set[str] = {
        MatchOn.URL_PREFIX.value: {"pattern"},
        MatchOn.URL_REGEX.value: {"pattern"},
        MatchOn.EVENT.value: {"event_category", "event_action", "event_name"},
        MatchOn.DIMENSION.value: {"dimension_index", "dimension_value"},
    }.get(match_on, set[str]())
    for name in ("pattern", "event_category", "event_action", "event_name", "dimension_index", "dimension_value"):
        value = getattr(rule, name)
        if name not in uses and value not in (None, ""):
            add(name, _("Leave this empty: the rule does not match on it."))
    if match_on in {MatchOn.URL_PREFIX, MatchOn.URL_REGEX}:
        if not rule.pattern:
            add("pattern", _("Enter the URL path (prefix or pattern) this rule matches."))
        elif match_on == MatchOn.URL_PREFIX and not rule.pattern.startswith("/"):
            add("pattern", _("A path prefix starts with “/”, e.g. /antrag/parken/."))
        elif match_on == MatchOn.URL_REGEX:
            try:
                compile_safe(rule.pattern)
            except UnsafePattern as exc:
                add("pattern", str(exc))
    if match_on == MatchOn.EVENT and not (rule.event_category or rule.event_action or rule.event_name):
        add("event_category", _("Enter at least one of event category, action or name."))
    if match_on == MatchOn.DIMENSION and not rule.dimension_index:
        add("dimension_index", _("Enter the number of the custom dimension."))

    if rule.event_type in STEP_TYPES and not rule.step_key:
        add("step_key", _("Step events need a step key."))
    if rule.event_type in AUTH_TYPES and not rule.auth_method:
        add("auth_method", _("Authentication events need an authentication method."))
    if rule.event_type in PAYMENT_TYPES and not rule.payment_method:
        add("payment_method", _("Payment events need a payment method."))
    return errors


@dataclass(frozen=True)
class CompiledRule:
    pk: int | None
    position: int
    match_on: str
    prefix: str
    regex: re.Pattern[str] | None
    event_category: str
    event_action: str
    event_name: str
    dimension_index: int | None
    dimension_value: str
    target: dict[str, Any] = field(default_factory=dict)
    stop: bool = True

    @classmethod
    def from_rule(cls, rule: MatomoRule) -> CompiledRule | None:
        """The compiled rule, or None for a rule that no longer compiles safely (never matched)."""
        from dikom.analytics.collect.models import MatchOn

        regex = None
        if rule.match_on == MatchOn.URL_REGEX:
            try:
                regex = compile_safe(rule.pattern)
            except UnsafePattern:
                return None
        target: dict[str, Any] = {"service": rule.service_key, "type": rule.event_type}
        for name in ("step_key", "auth_method", "payment_method", "channel"):
            if getattr(rule, name):
                target[name] = getattr(rule, name)
        if rule.step_position is not None:
            target["step_position"] = rule.step_position
        return cls(
            pk=rule.pk,
            position=rule.position,
            match_on=rule.match_on,
            prefix=rule.pattern if rule.match_on == MatchOn.URL_PREFIX else "",
            regex=regex,
            event_category=rule.event_category,
            event_action=rule.event_action,
            event_name=rule.event_name,
            dimension_index=rule.dimension_index,
            dimension_value=rule.dimension_value,
            target=target,
            stop=rule.stop,
        )

    def matches(self, request: MatomoRequest) -> bool:
        from dikom.analytics.collect.models import MatchOn

        if self.match_on == MatchOn.URL_PREFIX:
            return request.is_page_view and request.path.startswith(self.prefix)
        if self.match_on == MatchOn.URL_REGEX:
            path = request.path
            return (
                self.regex is not None
                and request.is_page_view
                and len(path) <= MAX_INPUT_LENGTH
                and self.regex.fullmatch(path) is not None
            )
        if self.match_on == MatchOn.EVENT:
            if not (request.event_category or request.event_action):
                return False
            return all(
                not wanted or wanted == got
                for wanted, got in (
                    (self.event_category, request.event_category),
                    (self.event_action, request.event_action),
                    (self.event_name, request.event_name),
                )
            )
        if self.match_on == MatchOn.DIMENSION and self.dimension_index is not None:
            value = request.dimensions.get(self.dimension_index, "")
            return bool(value) and (not self.dimension_value or value == self.dimension_value)
        return False


def compile_rules(rules: Iterable[MatomoRule]) -> list[CompiledRule]:
    compiled = (CompiledRule.from_rule(rule) for rule in sorted(rules, key=lambda r: (r.position, r.pk or 0)))
    return [rule for rule in compiled if rule is not None]


def map_request(rules: Iterable[CompiledRule], request: MatomoRequest) -> list[tuple[CompiledRule, dict[str, Any]]]:
    """The dikom events (without time and visit) the matching rules produce, in rule order."""
    produced: list[tuple[CompiledRule, dict[str, Any]]] = []
    for rule in rules:
        if not rule.matches(request):
            continue
        event = dict(rule.target)
        if event["type"] == EventType.FEEDBACK and request.rating is not None:
            event["rating"] = request.rating
        produced.append((rule, event))
        if rule.stop:
            break
    return produced
