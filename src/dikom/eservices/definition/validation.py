"""Release checks for a service definition: ``validate_definition(data) -> [DefinitionProblem]``.

An empty list means the definition may be released. Every problem carries a
stable ``code`` (for tests and the designer UI), the ``path`` of the offending
part (``steps[1].fields[3].visible_if``, indexes count from 0) and a German
message naming the step or field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from . import logic
from .schema import (
    AUTH_METHOD_TRUST,
    AUTH_METHODS,
    DOCUMENT_KINDS,
    FIELD_TYPES,
    FORMAT,
    KEY_PATTERN,
    LEIKA_PATTERN,
    MAX_FILE_BYTES,
    MAX_PATTERN_LENGTH,
    TRUST_LEVELS,
    FieldRef,
    iter_fields,
    iter_steps,
    text,
)

DATE_BOUND_PATTERN = re.compile(r"^today([+-]\d{1,5})?$")
# Nested quantifiers such as (a+)+ or (a*)* make backtracking regexes explode.
NESTED_QUANTIFIER = re.compile(r"\([^()]*[+*}][^()]*\)\s*[+*{]")
RULE_PROPERTIES = ("visible_if", "required_if")


@dataclass(frozen=True)
class DefinitionProblem:
    """One reason why a definition cannot be released."""

    path: str
    code: str
    message: str


def step_name(step: dict[str, Any]) -> str:
    return text(step.get("title")) or str(step.get("key") or "?")


def field_name(field: dict[str, Any]) -> str:
    return text(field.get("label")) or str(field.get("key") or "?")


def is_date_bound(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if DATE_BOUND_PATTERN.match(value):
        return True
    try:
        import datetime as dt

        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class _Checker:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.problems: list[DefinitionProblem] = []
        # variable name → FieldRef, built once
        self.fields: dict[str, FieldRef] = {}
        self.step_order: dict[str, int] = {}

    def add(self, path: str, code: str, message: str) -> None:
        self.problems.append(DefinitionProblem(path, code, message))

    def objects(self, path: str, items: list[Any], message: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(index, path, item) for each item that is an object; any other item is reported with ``message``."""
        for index, item in enumerate(items):
            item_path = f"{path}[{index}]"
            if isinstance(item, dict):
                yield index, item_path, item
            else:
                self.add(item_path, "invalid_value", message)

    # --- identity and settings ---------------------------------------------------------------

    def check_identity(self) -> None:
        identity = self.data.get("identity")
        if not isinstance(identity, dict):
            self.add("identity", "missing_identity", _("The service has no identity (title, LeiKa key)."))
            return
        if not text(identity.get("title")).strip() or not isinstance(identity.get("title"), dict):
            self.add("identity.title", "missing_title", _("The service needs a German title."))
        leika = identity.get("leika_key")
        if leika not in (None, "") and (not isinstance(leika, str) or not re.fullmatch(LEIKA_PATTERN, leika)):
            self.add(
                "identity.leika_key",
                "invalid_leika_key",
                _("The LeiKa key “%(key)s” is invalid: it has 14 digits and starts with 99.") % {"key": leika},
            )
        keywords = identity.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            self.add("identity.keywords", "invalid_keywords", _("Keywords must be a list of words."))

    def check_settings(self) -> None:
        trust = self.data.get("trust_level", "none")
        if trust not in TRUST_LEVELS:
            self.add(
                "trust_level",
                "invalid_trust_level",
                _("Unknown trust level “%(level)s”; allowed are none, low, substantial and high.") % {"level": trust},
            )
            trust = None
        methods = self.data.get("auth_methods", [])
        if not isinstance(methods, list) or not methods:
            self.add("auth_methods", "no_auth_method", _("Choose at least one authentication method."))
            methods = []
        known = []
        for index, method in enumerate(methods):
            if method not in AUTH_METHODS:
                self.add(
                    f"auth_methods[{index}]",
                    "unknown_auth_method",
                    _("Unknown authentication method “%(method)s”.") % {"method": method},
                )
            else:
                known.append(method)
        if trust is not None and known:
            rank = TRUST_LEVELS.index
            if not any(rank(AUTH_METHOD_TRUST[m]) >= rank(trust) for m in known):
                self.add(
                    "auth_methods",
                    "trust_level_mismatch",
                    _("None of the chosen authentication methods reaches the required trust level “%(level)s”.")
                    % {"level": trust},
                )
            if trust != "none" and "none" in known:
                self.add(
                    "auth_methods",
                    "trust_level_mismatch",
                    _("Anonymous use (“none”) is not allowed when the trust level is “%(level)s”.") % {"level": trust},
                )
        if not isinstance(self.data.get("summary_step", True), bool):
            self.add("summary_step", "invalid_value", _("“summary_step” must be true or false."))
        documents = self.data.get("documents", [])
        if not isinstance(documents, list):
            self.add("documents", "invalid_value", _("“documents” must be a list."))
            documents = []
        seen: set[str] = set()
        for _index, path, document in self.objects("documents", documents, _("A document must be an object.")):
            self.check_key(path, document.get("key"), seen, _("document"))
            if document.get("kind") not in DOCUMENT_KINDS:
                self.add(
                    f"{path}.kind",
                    "invalid_document_kind",
                    _("Document “%(name)s”: the kind must be “receipt” or “decision”.")
                    % {"name": text(document.get("title")) or document.get("key")},
                )
            if not text(document.get("title")).strip():
                self.add(f"{path}.title", "missing_title", _("Every document needs a German title."))

    def check_fees(self) -> None:
        fees = self.data.get("fees", [])
        if not isinstance(fees, list):
            self.add("fees", "invalid_value", _("“fees” must be a list."))
            fees = []
        seen: set[str] = set()
        for _index, path, fee in self.objects("fees", fees, _("A fee must be an object.")):
            name = text(fee.get("label")) or str(fee.get("key"))
            self.check_key(path, fee.get("key"), seen, _("fee"))
            if not text(fee.get("label")).strip():
                self.add(f"{path}.label", "missing_label", _("Every fee needs a German label."))
            amount = fee.get("amount_cents")
            rule = fee.get("amount_rule")
            if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
                self.add(
                    f"{path}.amount_cents",
                    "invalid_amount",
                    _("Fee “%(name)s”: the amount must be a whole, non-negative number of cents.") % {"name": name},
                )
            if amount is None and rule is None:
                self.add(
                    path,
                    "fee_without_amount",
                    _("Fee “%(name)s” has neither an amount nor a calculation rule.") % {"name": name},
                )
            if rule is not None:
                self.check_rule(f"{path}.amount_rule", rule, _("fee “%(name)s”") % {"name": name}, None, None)
            if not isinstance(fee.get("locally_adjustable", False), bool):
                self.add(
                    f"{path}.locally_adjustable", "invalid_value", _("“locally_adjustable” must be true or false.")
                )
        if self.data.get("payment_required") is True and not fees:
            self.add("payment_required", "payment_without_fee", _("Payment is required, but the service has no fee."))

    # --- structure -----------------------------------------------------------------------------

    def check_key(self, path: str, key: Any, seen: set[str], what: str) -> None:
        if not isinstance(key, str) or not re.fullmatch(KEY_PATTERN, key):
            self.add(
                f"{path}.key",
                "invalid_key",
                _(
                    "The %(what)s key “%(key)s” is invalid: use lower-case letters, digits and underscores, "
                    "starting with a letter."
                )
                % {"what": what, "key": key},
            )
            return
        if key in seen:
            self.add(
                f"{path}.key",
                "duplicate_key",
                _("The %(what)s key “%(key)s” is used twice.") % {"what": what, "key": key},
            )
        seen.add(key)

    def check_steps(self) -> None:
        steps = self.data.get("steps")
        if not isinstance(steps, list) or not steps:
            self.add("steps", "no_steps", _("The service needs at least one step."))
            return
        seen: set[str] = set()
        for index, path, step in self.objects("steps", steps, _("A step must be an object.")):
            self.check_key(path, step.get("key"), seen, _("step"))
            if isinstance(step.get("key"), str):
                self.step_order.setdefault(step["key"], index)
            if not text(step.get("title")).strip():
                self.add(
                    f"{path}.title",
                    "missing_title",
                    _("Step %(number)s needs a German title.") % {"number": index + 1},
                )
            if not isinstance(step.get("fields", []), list):
                self.add(f"{path}.fields", "invalid_value", _("“fields” must be a list."))
            else:
                self.check_field_list(path, step, step.get("fields", []))

    def check_field_list(self, path: str, step: dict[str, Any], fields: list[Any]) -> None:
        seen: set[str] = set()
        for _index, field_path, field in self.objects(f"{path}.fields", fields, _("A field must be an object.")):
            self.check_key(field_path, field.get("key"), seen, _("field"))
            self.check_field(field_path, step, field)

    def check_field(self, path: str, step: dict[str, Any], field: dict[str, Any]) -> None:
        where = {"field": field_name(field), "step": step_name(step)}
        kind = field.get("type")
        if kind not in FIELD_TYPES:
            self.add(
                f"{path}.type",
                "unknown_field_type",
                _("Field “%(field)s” in step “%(step)s” has the unknown type “%(type)s”.") % {**where, "type": kind},
            )
            return
        if kind == "info":
            if not text(field.get("text")).strip() and not text(field.get("label")).strip():
                self.add(f"{path}.text", "info_without_text", _("Info text in step “%(step)s” is empty.") % where)
        elif not text(field.get("label")).strip():
            self.add(
                f"{path}.label",
                "missing_label",
                _("Field “%(field)s” in step “%(step)s” needs a German label.") % where,
            )
        if not isinstance(field.get("required", False), bool):
            self.add(f"{path}.required", "invalid_value", _("“required” must be true or false."))
        if kind in ("select", "multi_select"):
            self.check_options(path, field, where)
        if kind == "file":
            self.check_file(path, field, where)
        if kind == "repeating_group":
            self.check_group(path, step, field, where)
        self.check_validation(path, field, where)

    def check_options(self, path: str, field: dict[str, Any], where: dict[str, str]) -> None:
        options = field.get("options")
        if not isinstance(options, list) or not options:
            self.add(
                f"{path}.options",
                "select_without_options",
                _("Selection field “%(field)s” in step “%(step)s” has no options.") % where,
            )
            return
        values: set[str] = set()
        for index, option in enumerate(options):
            value = option.get("value") if isinstance(option, dict) else None
            if not isinstance(value, str) or not value:
                self.add(
                    f"{path}.options[{index}]",
                    "invalid_option",
                    _("Option %(number)s of field “%(field)s” needs a value.") % {**where, "number": index + 1},
                )
                continue
            if value in values:
                self.add(
                    f"{path}.options[{index}]",
                    "duplicate_option",
                    _("Field “%(field)s” in step “%(step)s” offers the option “%(value)s” twice.")
                    % {**where, "value": value},
                )
            values.add(value)
            if not text(option.get("label")).strip():
                self.add(
                    f"{path}.options[{index}].label",
                    "missing_label",
                    _("Option “%(value)s” of field “%(field)s” needs a German label.") % {**where, "value": value},
                )

    def check_file(self, path: str, field: dict[str, Any], where: dict[str, str]) -> None:
        accept = field.get("accept")
        if not isinstance(accept, list) or not accept or not all(isinstance(a, str) and "/" in a for a in accept):
            self.add(
                f"{path}.accept",
                "file_without_accept",
                _(
                    "Upload field “%(field)s” in step “%(step)s” must list the accepted file types (e.g. application/pdf)."
                )
                % where,
            )
        max_bytes = field.get("max_bytes")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            self.add(
                f"{path}.max_bytes",
                "file_without_max_bytes",
                _("Upload field “%(field)s” in step “%(step)s” needs a maximum file size.") % where,
            )
        elif max_bytes > MAX_FILE_BYTES:
            self.add(
                f"{path}.max_bytes",
                "file_too_large",
                _("Upload field “%(field)s” in step “%(step)s” allows more than %(limit)s MB per file.")
                % {**where, "limit": MAX_FILE_BYTES // (1024 * 1024)},
            )

    def check_group(self, path: str, step: dict[str, Any], field: dict[str, Any], where: dict[str, str]) -> None:
        fields = field.get("fields")
        if not isinstance(fields, list) or not fields:
            self.add(
                f"{path}.fields",
                "empty_repeating_group",
                _("Repeating group “%(field)s” in step “%(step)s” has no fields.") % where,
            )
        else:
            self.check_field_list(path, step, fields)
        low, high = field.get("min_items", 0), field.get("max_items")
        bad_low = isinstance(low, bool) or not isinstance(low, int) or low < 0
        bad_high = high is not None and (isinstance(high, bool) or not isinstance(high, int) or high < 1)
        if bad_low or bad_high or (high is not None and not bad_low and low > high):
            self.add(
                path,
                "invalid_bounds",
                _("Repeating group “%(field)s” in step “%(step)s” has invalid minimum/maximum numbers of entries.")
                % where,
            )

    def check_validation(self, path: str, field: dict[str, Any], where: dict[str, str]) -> None:
        rules = field.get("validation")
        if rules is None:
            return
        if not isinstance(rules, dict):
            self.add(f"{path}.validation", "invalid_value", _("“validation” must be an object."))
            return
        vpath = f"{path}.validation"
        for name in ("min", "max"):
            value = rules.get(name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            ):
                self.add(
                    f"{vpath}.{name}",
                    "invalid_bounds",
                    _("Field “%(field)s”: “%(name)s” must be a number.") % {**where, "name": name},
                )
        for name in ("min_length", "max_length"):
            value = rules.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                self.add(
                    f"{vpath}.{name}",
                    "invalid_bounds",
                    _("Field “%(field)s”: “%(name)s” must be a whole number.") % {**where, "name": name},
                )
        for low, high in (("min", "max"), ("min_length", "max_length")):
            a, b = rules.get(low), rules.get(high)
            if isinstance(a, int | float) and isinstance(b, int | float) and a > b:
                self.add(
                    vpath,
                    "invalid_bounds",
                    _("Field “%(field)s” in step “%(step)s”: the minimum is larger than the maximum.") % where,
                )
        for name in ("min_date", "max_date"):
            value = rules.get(name)
            if value is not None and not is_date_bound(value):
                self.add(
                    f"{vpath}.{name}",
                    "invalid_date_bound",
                    _("Field “%(field)s”: “%(value)s” is neither an ISO date nor “today±N”.")
                    % {**where, "value": value},
                )
        pattern = rules.get("pattern")
        if pattern is not None:
            problem = pattern_problem(pattern)
            if problem:
                self.add(
                    f"{vpath}.pattern",
                    "invalid_pattern",
                    _("Field “%(field)s” in step “%(step)s”: the pattern is not usable (%(reason)s).")
                    % {**where, "reason": problem},
                )

    # --- rules ---------------------------------------------------------------------------------

    def collect_fields(self) -> None:
        for ref in iter_fields(self.data):
            self.fields.setdefault(ref.variable, ref)

    def check_rule(
        self,
        path: str,
        rule: Any,
        owner: str,
        step_index: int | None,
        group: dict[str, Any] | None,
        *,
        own_step_allowed: bool = True,
    ) -> set[str]:
        """Check syntax and references of one rule; return the variables it reads."""
        try:
            names = logic.variables(rule)
        except logic.LogicError as error:
            self.add(
                path,
                "invalid_rule",
                _("The rule of %(owner)s is malformed: %(error)s") % {"owner": owner, "error": error},
            )
            return set()
        for name in sorted(names):
            ref = self.fields.get(name)
            if ref is None:
                self.add(
                    path,
                    "missing_reference",
                    _("The rule of %(owner)s refers to “%(name)s”, which is not a field of this service.")
                    % {"owner": owner, "name": name},
                )
                continue
            target = {"field": field_name(ref.field), "step": step_name(ref.step), "owner": owner}
            if ref.field.get("type") == "info":
                self.add(
                    path,
                    "missing_reference",
                    _("The rule of %(owner)s refers to the info text “%(field)s”, which holds no answer.") % target,
                )
            elif ref.group is not None and ref.group is not group:
                self.add(
                    path,
                    "group_reference",
                    _(
                        "The rule of %(owner)s refers to “%(field)s” inside a repeating group; "
                        "only fields of the same group may do that."
                    )
                    % target,
                )
            elif step_index is not None and (
                ref.step_index > step_index or (ref.step_index == step_index and not own_step_allowed)
            ):
                self.add(
                    path,
                    "forward_reference",
                    _(
                        "The rule of %(owner)s refers to field “%(field)s” of step “%(step)s”, "
                        "which the citizen has not answered yet at that point."
                    )
                    % target,
                )
        return names

    def check_rules(self) -> None:
        graph: dict[str, set[str]] = {}
        node_paths: dict[str, str] = {}
        node_names: dict[str, str] = {}
        for index, step in iter_steps(self.data):
            rule = step.get("visible_if")
            node = f"step:{step.get('key')}"
            node_names[node] = _("step “%(step)s”") % {"step": step_name(step)}
            if rule is not None:
                names = self.check_rule(
                    f"steps[{index}].visible_if", rule, node_names[node], index, None, own_step_allowed=False
                )
                graph.setdefault(node, set()).update(names)
                node_paths[node] = f"steps[{index}].visible_if"
                self.check_reachable(f"steps[{index}].visible_if", rule, "unreachable_step", node_names[node])
        for ref in iter_fields(self.data):
            names_here = {"field": field_name(ref.field), "step": step_name(ref.step)}
            owner = _("field “%(field)s” in step “%(step)s”") % names_here
            node_names[ref.variable] = owner
            for prop in RULE_PROPERTIES:
                rule = ref.field.get(prop)
                if rule is None:
                    continue
                names = self.check_rule(f"{ref.path}.{prop}", rule, owner, ref.step_index, ref.group)
                graph.setdefault(ref.variable, set()).update(names)
                node_paths.setdefault(ref.variable, f"{ref.path}.{prop}")
                if prop == "visible_if":
                    self.check_reachable(f"{ref.path}.{prop}", rule, "unreachable_field", owner)
        for index, fee in enumerate(self.data.get("fees") or []):
            if isinstance(fee, dict) and fee.get("amount_rule") is not None:
                node = f"fee:{fee.get('key')}"
                try:
                    graph[node] = logic.variables(fee["amount_rule"])
                except logic.LogicError:
                    continue
                node_paths[node] = f"fees[{index}].amount_rule"
        self.report_cycles(graph, node_paths, node_names)

    def report_cycles(self, graph: dict[str, set[str]], paths: dict[str, str], names: dict[str, str]) -> None:
        white, grey, black = 0, 1, 2
        colour: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        for start in sorted(graph):
            if colour.get(start, white) != white:
                continue
            # iterative DFS keeps deep chains from hitting the recursion limit
            stack: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, ())))]
            trail = [start]
            colour[start] = grey
            while stack:
                node, pending = stack[-1]
                if not pending:
                    colour[node] = black
                    stack.pop()
                    trail.pop()
                    continue
                nxt = pending.pop()
                state = colour.get(nxt, white)
                if state == grey:
                    cycle = [*trail[trail.index(nxt) :], nxt]
                    key = frozenset(cycle)
                    if key not in reported:
                        reported.add(key)
                        chain = " → ".join(names.get(n, n) for n in cycle)
                        self.add(
                            paths.get(nxt, paths.get(node, "")),
                            "rule_cycle",
                            _("The rules depend on each other in a circle: %(chain)s.") % {"chain": chain},
                        )
                elif state == white:
                    colour[nxt] = grey
                    trail.append(nxt)
                    stack.append((nxt, sorted(graph.get(nxt, ()))))

    def check_reachable(self, path: str, rule: Any, code: str, owner: str) -> None:
        reason = unsatisfiable_reason(rule, self.fields)
        if reason:
            message = _("%(owner)s can never be shown: %(reason)s") % {"owner": owner, "reason": reason}
            self.add(path, code, message[:1].upper() + message[1:])

    def run(self) -> list[DefinitionProblem]:
        if not isinstance(self.data, dict):
            return [DefinitionProblem("", "not_an_object", _("The definition must be a JSON object."))]
        if self.data.get("format") != FORMAT:
            self.add(
                "format",
                "unknown_format",
                _("Unknown definition format “%(format)s”; expected “%(expected)s”.")
                % {"format": self.data.get("format"), "expected": FORMAT},
            )
        self.check_identity()
        self.check_steps()
        self.collect_fields()
        self.check_rules()
        self.check_fees()
        self.check_settings()
        self.check_processing()
        return self.problems

    # --- case processing: BPMN process, letter template, decision settings -------------------

    def check_processing(self) -> None:
        processing = self.data.get("processing")
        if processing is None:
            return
        if not isinstance(processing, dict):
            self.add("processing", "invalid_processing", _("The processing settings must be an object."))
            return
        for flag in ("sign_off_required", "automatic_decision_allowed"):
            if not isinstance(processing.get(flag, False), bool):
                self.add(f"processing.{flag}", "invalid_value", _("This setting must be yes or no."))
        if processing.get("sign_off_required") and processing.get("automatic_decision_allowed"):
            self.add(
                "processing.automatic_decision_allowed",
                "conflicting_processing",
                _("A service whose decisions need a second sign-off cannot be decided automatically."),
            )
        lanes = processing.get("lanes", {})
        if not isinstance(lanes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in lanes.items()):
            self.add("processing.lanes", "invalid_lanes", _("Lanes must map lane names to unit names."))
        decisions_ok = self._check_decisions(processing.get("decisions"))
        bpmn = processing.get("bpmn")
        if bpmn not in (None, ""):
            self._check_bpmn(bpmn, processing.get("decisions") if decisions_ok else None)
        template = processing.get("letter_template")
        if template not in (None, {}):
            source = template.get("de") if isinstance(template, dict) else None
            if not isinstance(source, str):
                self.add("processing.letter_template", "invalid_letter_template",
                         _("The letter template needs a German text."))  # fmt: skip
            else:
                from dikom.cases.letters import LetterTemplateError, check_template

                try:
                    check_template(source)
                except LetterTemplateError as error:
                    self.add(
                        "processing.letter_template",
                        "invalid_letter_template",
                        _("The letter template cannot be used: %(reason)s") % {"reason": error},
                    )

    def _check_decisions(self, files: Any) -> bool:
        """``processing.decisions``: DMN files (key → XML) the business rule tasks of the process call."""
        from dikom.cases.dmn import library
        from dikom.cases.dmn.tables import DmnRefused

        if files in (None, {}):
            return True
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            self.add("processing.decisions", "invalid_decisions", _("Decision tables must map names to DMN files."))
            return False
        if len(files) > library.MAX_FILES:
            self.add("processing.decisions", "invalid_decisions",
                     _("At most %(count)s DMN files per service.") % {"count": library.MAX_FILES})  # fmt: skip
            return False
        ok = True
        for key, xml in files.items():
            try:
                library.parse(xml)
            except DmnRefused as refused:
                ok = False
                for problem in refused.problems:
                    self.add(f"processing.decisions.{key}", "unsupported_dmn",
                             _("Decision table %(file)s: %(problem)s") % {"file": key, "problem": str(problem)})  # fmt: skip
        return ok

    def _check_bpmn(self, bpmn: Any, decisions: Any = None) -> None:
        from dikom.cases.bpmn.checks import inspect
        from dikom.cases.dmn import library

        if not isinstance(bpmn, str):
            self.add("processing.bpmn", "invalid_bpmn", _("The process must be a BPMN 2.0 XML document."))
            return
        from dikom.eservices.service import released_process

        report = inspect(bpmn, resolve_process=released_process)
        for finding in report.errors:
            message = _("Process: %(problem)s") % {"problem": str(finding.message)}
            if finding.line:
                message += " " + _("(line %(line)s)") % {"line": finding.line}
            self.add("processing.bpmn", "unsupported_bpmn", message)
        files = decisions if isinstance(decisions, dict) else {}
        for task, ref in report.decision_refs:
            if library.find(files, ref) is None:
                self.add(
                    "processing.bpmn",
                    "missing_decision",
                    _("Process: business rule task %(task)s calls decision “%(decision)s”, which is not among the "
                      "service's decision tables. Upload the DMN file that contains it.")
                    % {"task": task, "decision": ref},
                )  # fmt: skip


def pattern_problem(pattern: Any) -> str | None:
    """Why a validation pattern cannot be used, or None if it is fine."""
    if not isinstance(pattern, str) or not pattern:
        return _("it must be a non-empty text")
    if len(pattern) > MAX_PATTERN_LENGTH:
        return _("it is longer than %(limit)s characters") % {"limit": MAX_PATTERN_LENGTH}
    try:
        re.compile(pattern)
    except re.error as error:
        return str(error)
    if NESTED_QUANTIFIER.search(pattern) or re.search(r"\\\d", pattern) or "(?" in pattern.replace("(?:", ""):
        return _("nested repetitions, back-references and look-arounds are not allowed")
    return None


# --- static satisfiability of visibility rules --------------------------------------------------


def _possible_values(ref: FieldRef | None) -> list[Any] | None:
    if ref is None:
        return None
    kind = ref.field.get("type")
    if kind == "select":
        return [o.get("value") for o in ref.field.get("options") or [] if isinstance(o, dict)]
    if kind == "yes_no":
        return ["yes", "no"]
    if kind == "checkbox":
        return [True, False]
    return None


def _conjuncts(rule: Any) -> list[Any]:
    if isinstance(rule, dict) and len(rule) == 1 and "and" in rule and isinstance(rule["and"], list):
        result: list[Any] = []
        for part in rule["and"]:
            result.extend(_conjuncts(part))
        return result
    return [rule]


def unsatisfiable_reason(rule: Any, fields: dict[str, FieldRef]) -> str | None:
    """A reason why ``rule`` can never be true, for the decidable cases; else None.

    Decided: constant rules (no variables) that evaluate to false; a conjunction
    (``and``) whose comparisons with literals contradict each other for the same
    variable; a comparison of a select / yes-no / checkbox field with a value it
    cannot take.
    """
    try:
        names = logic.variables(rule)
    except logic.LogicError:
        return None  # reported as invalid_rule
    if not names:
        try:
            value = logic.evaluate(rule, {})
        except logic.LogicError:
            return None
        return None if logic.truthy(value) else _("the condition is always false")
    equal: dict[str, list[Any]] = {}
    unequal: dict[str, list[Any]] = {}
    lower: dict[str, tuple[float, bool]] = {}  # value, inclusive
    upper: dict[str, tuple[float, bool]] = {}
    for part in _conjuncts(rule):
        if isinstance(part, bool | int | float | str) or part is None:
            if not logic.truthy(part):
                return _("the condition is always false")
            continue
        top_level = logic.comparisons(part) if _is_comparison(part) else []
        for op, name, literal in top_level:
            possible = _possible_values(fields.get(name))
            if op == "==":
                equal.setdefault(name, []).append(literal)
                if possible is not None and not any(_same(literal, p) for p in possible):
                    return _("“%(value)s” is not a possible answer of field “%(field)s”") % {
                        "value": literal,
                        "field": field_name(fields[name].field),
                    }
            elif op == "!=":
                unequal.setdefault(name, []).append(literal)
            elif op == "in":
                if possible is not None and not any(_same(v, p) for v in literal for p in possible):
                    return _("none of the listed values is a possible answer of field “%(field)s”") % {
                        "field": field_name(fields[name].field)
                    }
            elif isinstance(literal, int | float) and not isinstance(literal, bool):
                if op in (">", ">="):
                    current = lower.get(name)
                    candidate = (float(literal), op == ">=")
                    if (
                        current is None
                        or candidate[0] > current[0]
                        or (candidate[0] == current[0] and not candidate[1])
                    ):
                        lower[name] = candidate
                else:
                    current = upper.get(name)
                    candidate = (float(literal), op == "<=")
                    if (
                        current is None
                        or candidate[0] < current[0]
                        or (candidate[0] == current[0] and not candidate[1])
                    ):
                        upper[name] = candidate
    for name, values in equal.items():
        first = values[0]
        if any(not _same(first, other) for other in values[1:]):
            return _("“%(name)s” cannot equal two different values at once") % {"name": name}
        if any(_same(first, other) for other in unequal.get(name, [])):
            return _("“%(name)s” cannot both equal and differ from “%(value)s”") % {"name": name, "value": first}
        if isinstance(first, int | float) and not isinstance(first, bool):
            low, high = lower.get(name), upper.get(name)
            if (low and (first < low[0] or (first == low[0] and not low[1]))) or (
                high and (first > high[0] or (first == high[0] and not high[1]))
            ):
                return _("“%(name)s” cannot equal %(value)s and meet the other comparisons") % {
                    "name": name,
                    "value": first,
                }
    for name in set(lower) & set(upper):
        (low_value, low_incl), (high_value, high_incl) = lower[name], upper[name]
        if low_value > high_value or (low_value == high_value and not (low_incl and high_incl)):
            return _("no value of “%(name)s” meets all comparisons") % {"name": name}
    return None


def _is_comparison(rule: Any) -> bool:
    return isinstance(rule, dict) and len(rule) == 1 and next(iter(rule)) in (logic.COMPARISON_OPERATORS | {"in"})


def _same(a: Any, b: Any) -> bool:
    return logic.equal(a, b)


def validate_definition(data: dict[str, Any]) -> list[DefinitionProblem]:
    """All problems that keep ``data`` from being released; empty list = releasable."""
    return _Checker(data).run()
