"""The shape of a definition from outside, checked before any code reads it.

``validate_definition`` says whether a definition may be released; a draft may
well be incomplete (no title yet, a step without fields). But the designer,
the portal and the case processing read definitions with ``.get`` on objects
and loops over lists: ``{"identity": 5}`` or a step that is a number would end
in an ``AttributeError``. ``structure_problems`` checks the type of every part
those readers use, so an imported definition is refused with a German message
naming the place instead.

Unknown keys are allowed (they are kept and ignored); missing ones too.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .schema import FORMAT

# A repeating group inside a repeating group inside … : deeper is refused.
MAX_GROUP_DEPTH = 5
MAX_STEPS = 200
MAX_FIELDS = 2000
# Problems reported at most (the rest would not help anybody).
MAX_PROBLEMS = 20


class _Shape:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.fields = 0

    def add(self, path: str, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{path}: {message}" if path else message)

    def kind(self, path: str, value: Any, expected: type | tuple[type, ...], name: str) -> bool:
        """True if ``value`` is absent (None) or of ``expected`` type; else a problem."""
        if value is None:
            return True
        if isinstance(value, bool) and bool not in (expected if isinstance(expected, tuple) else (expected,)):
            self.add(path, _("must be %(kind)s") % {"kind": name})
            return False
        if not isinstance(value, expected):
            self.add(path, _("must be %(kind)s") % {"kind": name})
            return False
        return True

    def text(self, path: str, value: Any) -> None:
        """A translated text: a string or an object of strings by language."""
        if value is None or isinstance(value, str):
            return
        if isinstance(value, dict) and all(isinstance(v, str | None) for v in value.values()):
            return
        self.add(path, _("must be a text or an object of texts by language"))

    def objects(self, path: str, value: Any) -> list[tuple[str, dict[str, Any]]]:
        """The objects of a list (every item must be one)."""
        if not self.kind(path, value, list, _("a list")):
            return []
        found = []
        for index, item in enumerate(value or []):
            if isinstance(item, dict):
                found.append((f"{path}[{index}]", item))
            else:
                self.add(f"{path}[{index}]", _("must be an object"))
        return found

    def strings(self, path: str, value: Any) -> None:
        if self.kind(path, value, list, _("a list")) and not all(isinstance(v, str) for v in value or []):
            self.add(path, _("must be a list of texts"))

    # --- parts -------------------------------------------------------------------------------

    def definition(self, data: Any) -> None:
        if not isinstance(data, dict):
            self.add("", _("The definition must be a JSON object."))
            return
        if data.get("format") != FORMAT:
            self.add("format", _("must be “%(format)s”") % {"format": FORMAT})
        identity = data.get("identity")
        if self.kind("identity", identity, dict, _("an object")) and identity:
            for name in ("title", "description"):
                self.text(f"identity.{name}", identity.get(name))
            for name in ("leika_key", "ozg_topic"):
                self.kind(f"identity.{name}", identity.get(name), str, _("a text"))
            self.strings("identity.keywords", identity.get("keywords"))
        self.kind("trust_level", data.get("trust_level"), str, _("a text"))
        self.strings("auth_methods", data.get("auth_methods"))
        self.kind("summary_step", data.get("summary_step"), bool, _("true or false"))
        self.kind("payment_required", data.get("payment_required"), bool, _("true or false"))
        steps = self.objects("steps", data.get("steps"))
        if len(steps) > MAX_STEPS:
            self.add("steps", _("at most %(n)d steps are allowed") % {"n": MAX_STEPS})
            return
        for path, step in steps:
            self.kind(f"{path}.key", step.get("key"), str, _("a text"))
            self.text(f"{path}.title", step.get("title"))
            self.fields_of(f"{path}.fields", step.get("fields"), 0)
        for path, document in self.objects("documents", data.get("documents")):
            for name in ("key", "kind"):
                self.kind(f"{path}.{name}", document.get(name), str, _("a text"))
            self.text(f"{path}.title", document.get("title"))
        for path, fee in self.objects("fees", data.get("fees")):
            self.kind(f"{path}.key", fee.get("key"), str, _("a text"))
            self.text(f"{path}.label", fee.get("label"))
            self.kind(f"{path}.amount_cents", fee.get("amount_cents"), int, _("a whole number"))
            self.kind(f"{path}.locally_adjustable", fee.get("locally_adjustable"), bool, _("true or false"))
        self.processing(data.get("processing"))

    def fields_of(self, path: str, value: Any, depth: int) -> None:
        if depth > MAX_GROUP_DEPTH:
            self.add(path, _("groups may be nested at most %(n)d levels deep") % {"n": MAX_GROUP_DEPTH})
            return
        for field_path, field in self.objects(path, value):
            self.fields += 1
            if self.fields > MAX_FIELDS:
                self.add(field_path, _("at most %(n)d fields are allowed") % {"n": MAX_FIELDS})
                return
            for name in ("key", "type"):
                self.kind(f"{field_path}.{name}", field.get(name), str, _("a text"))
            for name in ("label", "text", "help"):
                self.text(f"{field_path}.{name}", field.get(name))
            self.kind(f"{field_path}.required", field.get("required"), bool, _("true or false"))
            self.kind(f"{field_path}.validation", field.get("validation"), dict, _("an object"))
            for name in ("min_items", "max_items", "max_bytes"):
                self.kind(f"{field_path}.{name}", field.get(name), int, _("a whole number"))
            self.strings(f"{field_path}.accept", field.get("accept"))
            for option_path, option in self.objects(f"{field_path}.options", field.get("options")):
                self.kind(f"{option_path}.value", option.get("value"), str, _("a text"))
                self.text(f"{option_path}.label", option.get("label"))
            if field.get("fields") is not None:
                self.fields_of(f"{field_path}.fields", field.get("fields"), depth + 1)

    def processing(self, processing: Any) -> None:
        if not self.kind("processing", processing, dict, _("an object")) or not processing:
            return
        for name in ("sign_off_required", "automatic_decision_allowed"):
            self.kind(f"processing.{name}", processing.get(name), bool, _("true or false"))
        bpmn = processing.get("bpmn")
        if self.kind("processing.bpmn", bpmn, str, _("a text")) and bpmn:
            from dikom.cases.bpmn.checks import exceeds_limits

            problem = exceeds_limits(bpmn)
            if problem:
                self.add("processing.bpmn", problem)
        decisions = processing.get("decisions")
        if self.kind("processing.decisions", decisions, dict, _("an object")) and decisions:
            from dikom.cases.dmn.library import MAX_FILES
            from dikom.cases.dmn.tables import MAX_BYTES as MAX_DMN_BYTES

            if len(decisions) > MAX_FILES:
                self.add("processing.decisions", _("at most %(count)s DMN files") % {"count": MAX_FILES})
            for key, xml in decisions.items():
                if not isinstance(xml, str):
                    self.add(f"processing.decisions.{key}", _("must be a DMN file as text"))
                elif len(xml.encode()) > MAX_DMN_BYTES:
                    self.add(f"processing.decisions.{key}",
                             _("is larger than %(size)s MB") % {"size": MAX_DMN_BYTES // 2**20})  # fmt: skip
        lanes = processing.get("lanes")
        if self.kind("processing.lanes", lanes, dict, _("an object")) and not all(
            isinstance(v, str) for v in (lanes or {}).values()
        ):
            self.add("processing.lanes", _("must map lane names to unit names"))
        self.text("processing.letter_template", processing.get("letter_template"))


def structure_problems(data: Any) -> list[str]:
    """What in ``data`` has a type the code cannot read (empty list: the shape is fine)."""
    shape = _Shape()
    shape.definition(data)
    return shape.problems
