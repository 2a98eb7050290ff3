"""Readable differences between two versions of a definition, for reviewers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from django.utils.translation import gettext as _

from .schema import text

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: where, what kind, the old and new value and a German sentence."""

    path: str
    kind: ChangeKind
    old: Any
    new: Any
    label: str


def _property_names() -> dict[str, str]:
    return {
        "title": _("Title"),
        "description": _("Description"),
        "leika_key": _("LeiKa key"),
        "ozg_topic": _("OZG topic"),
        "keywords": _("Keywords"),
        "label": _("Label"),
        "help": _("Help text"),
        "type": _("Field type"),
        "required": _("Required"),
        "required_if": _("Required if"),
        "visible_if": _("Visible if"),
        "validation": _("Validation"),
        "options": _("Options"),
        "accept": _("Accepted file types"),
        "max_bytes": _("Maximum file size"),
        "min_items": _("Minimum entries"),
        "max_items": _("Maximum entries"),
        "text": _("Text"),
        "amount_cents": _("Amount (cents)"),
        "amount_rule": _("Amount rule"),
        "locally_adjustable": _("Locally adjustable"),
        "summary_step": _("Summary step"),
        "trust_level": _("Trust level"),
        "auth_methods": _("Authentication methods"),
        "payment_required": _("Payment required"),
        "kind": _("Kind"),
        "key": _("Key"),
        "min": _("Minimum"),
        "max": _("Maximum"),
        "min_length": _("Minimum length"),
        "max_length": _("Maximum length"),
        "pattern": _("Pattern"),
        "min_date": _("Earliest date"),
        "max_date": _("Latest date"),
        "de": _("German"),
        "en": _("English"),
    }


def render(value: Any) -> str:
    """A short human rendering of a value for a diff line."""
    if value is None:
        return "–"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if isinstance(value, dict) and value and set(value) <= {"de", "en"}:
        return text(value) or "–"
    if isinstance(value, str):
        return value if len(value) <= 80 else value[:77] + "…"
    rendered = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return rendered if len(rendered) <= 80 else rendered[:77] + "…"


def _keyed(items: Any, key: str = "key") -> dict[str, tuple[int, dict[str, Any]]] | None:
    """Index a list of objects by key, or None if it is not such a list."""
    if not isinstance(items, list) or not items:
        return None
    result: dict[str, tuple[int, dict[str, Any]]] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(key), str | int) or str(item[key]) in result:
            return None
        result[str(item[key])] = (index, item)
    return result


class _Differ:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.names = _property_names()

    def add(self, path: str, kind: ChangeKind, old: Any, new: Any, label: str) -> None:
        self.changes.append(Change(path, kind, old, new, label))

    def value(self, path: str, context: str, prop: str, old: Any, new: Any) -> None:
        """Compare one property; recurse into objects so that the smallest change is reported."""
        if old == new:
            return
        if prop == "bpmn" and isinstance(old, str) and isinstance(new, str):
            self.bpmn(path, old, new)
            return
        name = self.names.get(prop, prop)
        if isinstance(old, dict) and isinstance(new, dict) and not (set(old) | set(new)) <= {"de", "en"}:
            if prop in ("visible_if", "required_if", "amount_rule"):  # rules are compared as a whole
                pass
            else:
                for sub in sorted(set(old) | set(new)):
                    self.value(f"{path}.{sub}", context, f"{sub}", old.get(sub), new.get(sub))
                return
        if old is None:
            kind: ChangeKind = "added"
            label = _("%(context)s: %(name)s added: %(new)s") % {"context": context, "name": name, "new": render(new)}
        elif new is None:
            kind = "removed"
            label = _("%(context)s: %(name)s removed (was %(old)s)") % {
                "context": context,
                "name": name,
                "old": render(old),
            }
        else:
            kind = "changed"
            label = _("%(context)s: %(name)s %(old)s → %(new)s") % {
                "context": context,
                "name": name,
                "old": render(old),
                "new": render(new),
            }
        self.add(path, kind, old, new, label)

    def bpmn(self, path: str, old: str, new: str) -> None:
        """A changed process, element by element (added, removed, renamed), not as two XML texts."""
        from dikom.cases.bpmn.checks import inspect

        context = _("Process")
        before = {e.id: e for e in inspect(old).elements}
        after = {e.id: e for e in inspect(new).elements}
        count = len(self.changes)
        for element_id in sorted(set(before) | set(after)):
            o, n = before.get(element_id), after.get(element_id)
            if o is None and n is not None:
                self.add(f"{path}#{element_id}", "added", None, n.name or element_id,
                         _("%(context)s: %(what)s “%(name)s” added") % {"context": context, "what": n.tag,
                                                                       "name": n.name or element_id})  # fmt: skip
            elif n is None and o is not None:
                self.add(f"{path}#{element_id}", "removed", o.name or element_id, None,
                         _("%(context)s: %(what)s “%(name)s” removed") % {"context": context, "what": o.tag,
                                                                         "name": o.name or element_id})  # fmt: skip
            elif o is not None and n is not None and (o.name, o.tag) != (n.name, n.tag):
                self.add(f"{path}#{element_id}", "changed", o.name, n.name,
                         _("%(context)s: %(old)s → %(new)s") % {"context": context, "old": f"{o.tag} “{o.name}”",
                                                                "new": f"{n.tag} “{n.name}”"})  # fmt: skip
        if len(self.changes) == count:
            self.add(path, "changed", None, None, _("Process: details or layout changed (no element added or removed)"))

    def obj(self, path: str, context: str, old: dict[str, Any], new: dict[str, Any], skip: set[str]) -> None:
        for prop in sorted((set(old) | set(new)) - skip):
            self.value(f"{path}.{prop}" if path else prop, context, prop, old.get(prop), new.get(prop))

    def keyed_list(
        self,
        path: str,
        old_items: Any,
        new_items: Any,
        describe: Any,
        inner: Any,
        order_label: str,
        key: str = "key",
    ) -> None:
        old_index, new_index = _keyed(old_items, key) or {}, _keyed(new_items, key) or {}
        if (old_items and _keyed(old_items, key) is None) or (new_items and _keyed(new_items, key) is None):
            # not a clean keyed list: compare as a whole
            if old_items != new_items:
                self.add(path, "changed", old_items, new_items, _("%(what)s changed") % {"what": order_label})
            return
        for item_key, (index, item) in new_index.items():
            if item_key not in old_index:
                self.add(f"{path}[{index}]", "added", None, item, _("%(what)s added") % {"what": describe(item)})
        for item_key, (index, item) in old_index.items():
            if item_key not in new_index:
                self.add(f"{path}[{index}]", "removed", item, None, _("%(what)s removed") % {"what": describe(item)})
        for item_key, (index, item) in new_index.items():
            if item_key in old_index:
                inner(f"{path}[{index}]", old_index[item_key][1], item)
        common_old = [k for k in old_index if k in new_index]
        common_new = [k for k in new_index if k in old_index]
        if common_old != common_new:
            self.add(path, "changed", common_old, common_new, _("%(what)s reordered") % {"what": order_label})

    def fields(self, path: str, step_title: str, old_fields: Any, new_fields: Any, parent: str = "") -> None:
        def describe(field: dict[str, Any]) -> str:
            name = text(field.get("label")) or str(field.get("key"))
            return _("Field “%(field)s” in step “%(step)s”") % {"field": parent + name, "step": step_title}

        def inner(field_path: str, old: dict[str, Any], new: dict[str, Any]) -> None:
            context = describe(new)
            self.obj(field_path, context, old, new, {"fields", "options"})
            self.keyed_list(
                f"{field_path}.options",
                old.get("options"),
                new.get("options"),
                lambda option: (
                    _("%(context)s: option “%(option)s”")
                    % {"context": context, "option": text(option.get("label")) or option.get("value")}
                ),
                lambda option_path, o, n: self.obj(
                    option_path,
                    _("%(context)s: option “%(option)s”") % {"context": context, "option": n.get("value")},
                    o,
                    n,
                    set(),
                ),
                _("%(context)s: options") % {"context": context},
                key="value",
            )
            if old.get("fields") is not None or new.get("fields") is not None:
                name = text(new.get("label")) or str(new.get("key"))
                self.fields(f"{field_path}", step_title, old.get("fields"), new.get("fields"), f"{parent}{name} › ")

        self.keyed_list(
            f"{path}.fields",
            old_fields,
            new_fields,
            describe,
            inner,
            _("Fields of step “%(step)s”") % {"step": step_title},
        )

    def run(self, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
        old = old if isinstance(old, dict) else {}
        new = new if isinstance(new, dict) else {}
        self.value("identity", _("Service"), "identity", old.get("identity"), new.get("identity"))
        # the identity object is diffed property by property via value(); give it a nicer context
        self.obj("", _("Service"), old, new, {"identity", "steps", "fees", "documents"})

        def step_title(step: dict[str, Any]) -> str:
            return text(step.get("title")) or str(step.get("key"))

        def step_inner(path: str, o: dict[str, Any], n: dict[str, Any]) -> None:
            context = _("Step “%(step)s”") % {"step": step_title(n)}
            self.obj(path, context, o, n, {"fields"})
            self.fields(path, step_title(n), o.get("fields"), n.get("fields"))

        self.keyed_list(
            "steps",
            old.get("steps"),
            new.get("steps"),
            lambda step: _("Step “%(step)s”") % {"step": step_title(step)},
            step_inner,
            _("Steps"),
        )
        for name, what in (("fees", _("Fee")), ("documents", _("Document"))):

            def describe(item: dict[str, Any], what: str = what) -> str:
                title = text(item.get("label")) or text(item.get("title")) or str(item.get("key"))
                return f"{what} „{title}“"

            self.keyed_list(
                name,
                old.get(name),
                new.get(name),
                describe,
                lambda path, o, n, describe=describe: self.obj(path, describe(n), o, n, set()),
                {"fees": _("Fees"), "documents": _("Documents")}[name],
            )
        return self.changes


def diff_definitions(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """The differences between two definitions, field by field, in German sentences.

    Steps, fields, options, fees and documents are matched by their key (options
    by value), so renaming a label is a change of that field, not a removal and
    an addition. Rules are compared as a whole.
    """
    return _Differ().run(old, new)
