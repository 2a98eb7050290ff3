"""Template helpers of the dikom design system."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def thousands(value: Any) -> str:
    """A whole number with the active language's thousands separator (69.000 / 69,000)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return ""
    return number_format(number, force_grouping=True)
