"""The cells of the heat map and the roadMAP table as HTML in one call per row.

A 50 × 50 heat map has 2 500 cells; rendered cell by cell with ``blocktranslate`` the template
engine took longer than computing the whole map. Same texts (the same msgids as before), same
rule: an empty cell shows "–", a cell under ``MIN_CELL`` people only that it is hidden.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django import template
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from dikom.competences.gaps import MIN_CELL, Cell

register = template.Library()


@functools.lru_cache(maxsize=4096)
def _localized(language: str | None, value: float | int | None) -> str:
    """A level, gap or count as the language writes it (one decimal: few distinct values)."""
    return str(localize(value))


@register.simple_tag
def heat_cells(cells: Iterable[Cell]) -> SafeString:
    """``<td>`` per cell: severity class and the text (level of required, gap, people) or why it is hidden."""
    hidden = escape(gettext("fewer than %(min_cell)s people") % {"min_cell": MIN_CELL})
    shown = gettext("%(level)s of %(required)s, gap %(gap)s (%(people)s people)")
    language = get_language()

    def number(value: float | int | None) -> str:
        return _localized(language, value)

    parts = []
    for cell in cells:
        if cell.people == 0:
            text = "–"
        elif cell.hidden:
            text = hidden
        else:
            text = escape(
                shown
                % {
                    "level": number(cell.average_level),
                    "required": number(cell.average_required),
                    "gap": number(cell.gap),
                    "people": number(cell.people),
                }
            )
        parts.append(f'<td class="heat__cell--{cell.severity}">{text}</td>')
    return mark_safe("".join(parts))  # noqa: S308 (the texts are escaped above; the class is one of three words)
