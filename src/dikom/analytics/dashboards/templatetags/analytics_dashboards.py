"""Template helpers of the dashboards: formatted cells and the previous-period comparison."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from dikom.analytics.dashboards.tables import PERCENT, display

register = template.Library()


@register.filter
def cell(value: Any, kind: str) -> str:
    """A value formatted as the tables show it (``kind``: int, percent, decimal, seconds, text)."""
    return display(value, kind)


@register.filter
def percent(value: Any) -> str:
    return display(value, PERCENT)


@register.simple_tag
def change(value: float | None) -> SafeString:
    """Arrow, sign and percentage of a change, with words for screen readers (never colour alone)."""
    if value is None:
        return format_html('<span class="change change--none">{}</span>', _("no comparison"))
    if value > 0:
        arrow, word, css = "▲", _("increase"), "up"
    elif value < 0:
        arrow, word, css = "▼", _("decrease"), "down"
    else:
        arrow, word, css = "▶", _("unchanged"), "same"
    sign = "+" if value > 0 else "\N{MINUS SIGN}" if value < 0 else "±"
    return format_html(
        '<span class="change change--{}"><span aria-hidden="true">{} </span>{}{}'
        '<span class="visually-hidden"> {}</span></span>',
        css,
        arrow,
        sign,
        display(abs(value), PERCENT),
        word,
    )
