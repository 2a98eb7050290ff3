"""The service definition format ``dikom.service/1`` and the code that reads and writes it.

A pure-Python package (Django only for gettext): the eservices models store a
definition as a JSON document, the designer validates and diffs it, the portal
runs it. See ``docs/eservices-definition.md`` for the format.

The stable surface:

- :data:`FORMAT`
- :func:`empty_definition` — a valid starting point for a designer
- :func:`validate_definition` → ``[DefinitionProblem]`` (empty = releasable)
- :func:`diff_definitions` → ``[Change]``
- :func:`field_paths` → ``[(path, label)]`` of every step and field

and the modules :mod:`.logic` (rules), :mod:`.fields` (answer validation),
:mod:`.fees`, :mod:`.fim` (XDatenfelder import), :mod:`.interchange` (ZIP).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .diff import Change, diff_definitions
from .schema import FORMAT, iter_fields, iter_steps, text
from .validation import DefinitionProblem, validate_definition

__all__ = [
    "FORMAT",
    "Change",
    "DefinitionProblem",
    "diff_definitions",
    "empty_definition",
    "field_paths",
    "validate_definition",
]


def empty_definition(title: str) -> dict[str, Any]:
    """A minimal, releasable definition: one step with an info text, no fee, anonymous use."""
    return {
        "format": FORMAT,
        "identity": {
            "title": {"de": title},
            "description": {"de": ""},
            "leika_key": "",
            "ozg_topic": "",
            "keywords": [],
        },
        "steps": [
            {
                "key": "start",
                "title": {"de": "Start", "en": "Start"},
                "fields": [
                    {
                        "key": "hinweis",
                        "type": "info",
                        "label": {"de": "Hinweis", "en": "Note"},
                        "text": {"de": f"Willkommen zum Online-Dienst „{title}“."},
                    }
                ],
            }
        ],
        "fees": [],
        "summary_step": True,
        "trust_level": "none",
        "auth_methods": ["none"],
        "payment_required": False,
        "documents": [{"key": "eingangsbestaetigung", "title": {"de": "Eingangsbestätigung"}, "kind": "receipt"}],
    }


def field_paths(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, human label) of every step and field, in form order, and of the process
    (``processing.bpmn``) if there is one, for review comments on a place.

    Paths use the same notation as :class:`DefinitionProblem` (``steps[0].fields[2]``).
    """
    result: list[tuple[str, str]] = []
    fields_by_step: dict[int, list[tuple[str, str]]] = {}
    for ref in iter_fields(data):
        name = text(ref.field.get("label")) or str(ref.field.get("key"))
        if ref.group is not None:
            name = f"{text(ref.group.get('label')) or ref.group.get('key')} › {name}"
        step_title = text(ref.step.get("title")) or str(ref.step.get("key"))
        fields_by_step.setdefault(ref.step_index, []).append(
            (ref.path, _("Field “%(field)s” in step “%(step)s”") % {"field": name, "step": step_title})
        )
    for index, step in iter_steps(data):
        title = text(step.get("title")) or str(step.get("key"))
        result.append((f"steps[{index}]", _("Step “%(step)s”") % {"step": title}))
        result.extend(fields_by_step.get(index, []))
    processing = data.get("processing") if isinstance(data, dict) else None
    bpmn = processing.get("bpmn") if isinstance(processing, dict) else None
    if isinstance(bpmn, str) and bpmn.strip():
        result.append(("processing.bpmn", _("The process (BPMN)")))
    return result
