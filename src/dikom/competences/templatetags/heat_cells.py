"""The cells of the heat map and the roadMAP table as HTML in one call per row.

A 50 × 50 heat map has 2 500 cells; rendered cell by cell with ``blocktranslate`` the template
engine took longer than computing the whole map. Same texts (the same msgids as before), same
rule: an empty cell shows "–", a cell under ``MIN_CELL`` people only that it is hidden.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django import template
from django.core.signals import setting_changed
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from dikom.competences.gaps import MIN_CELL, Cell

register = template.Library()


@functools.lru_cache(maxsize=4096, typed=True)
def _localized(language: str | None, value: float | int | None) -> str:
    """A level, gap or count as the language writes it (one decimal: few distinct values)."""
    return str(localize(value))


@functools.lru_cache(maxsize=16384, typed=True)
def _cell(language: str | None, people: int, level: float | None, required: float | None) -> str:
    """The ``<td>`` of one cell; everything it shows follows from these four values (see ``Cell``)."""
    cell = Cell(people, level, required)
    if people == 0:
        text = "–"
    elif cell.hidden:
        text = escape(gettext("fewer than %(min_cell)s people") % {"min_cell": MIN_CELL})
    else:
        text = escape(
            gettext("%(level)s of %(required)s, gap %(gap)s (%(people)s people)")
            % {
                "level": _localized(language, level),
                "required": _localized(language, required),
                "gap": _localized(language, cell.gap),
                "people": _localized(language, people),
            }
        )
    return f'<td class="heat__cell--{cell.severity}">{text}</td>'


@register.simple_tag
def heat_cells(cells: Iterable[Cell]) -> SafeString:
    """``<td>`` per cell: severity class and the text (level of required, gap, people) or why it is hidden.

    A cell's HTML is kept per (language, people, average level, average required level): levels are
    rounded to one decimal and groups are small, so the same cells recur within a map and between
    requests (a 50 × 50 map rendered twice formats each distinct cell once).
    """
    language = get_language()
    return mark_safe(  # noqa: S308 (the texts are escaped in _cell; the class is one of four words)
        "".join([_cell(language, c.people, c.average_level, c.average_required) for c in cells])
    )


@register.simple_tag
def trend_cells(values: Iterable[float | None]) -> SafeString:
    """``<td>`` per quarter of the trend: the average level, or that it is hidden (too few people)."""
    language = get_language()
    hidden = escape(gettext("hidden"))
    return mark_safe(  # noqa: S308 (a localized number or the escaped word)
        "".join(
            [
                f'<td class="numeric">{hidden if value is None else escape(_localized(language, value))}</td>'
                for value in values
            ]
        )
    )


def _forget(**_kwargs: object) -> None:
    """Settings (number formats, languages) changed (tests): format everything anew."""
    _localized.cache_clear()
    _cell.cache_clear()


setting_changed.connect(_forget, dispatch_uid="dikom.competences.heat_cells")
