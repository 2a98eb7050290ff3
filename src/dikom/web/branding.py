"""Municipality branding on citizen-facing pages: brand colour and placeholder arms."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_BRAND = "#005a9c"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_WORD = re.compile(r"[^\s\-]+")


def _relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a ``#RRGGBB`` colour."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    la, lb = _relative_luminance(a), _relative_luminance(b)
    lighter, darker = max(la, lb), min(la, lb)
    return (lighter + 0.05) / (darker + 0.05)


@dataclass(frozen=True)
class Brand:
    colour: str  # always a valid #rrggbb, safe to place in CSS
    on_colour: str  # text colour with the better contrast on ``colour``


def brand_for(colour: str | None) -> Brand:
    """A safe brand for a stored colour: anything but ``#RRGGBB`` falls back to the default.

    The text colour is white or black, whichever contrasts more with the brand colour.
    """
    value = (colour or "").strip()
    if not _HEX.fullmatch(value):
        value = DEFAULT_BRAND
    value = value.lower()
    on = "#ffffff" if contrast_ratio(value, "#ffffff") >= contrast_ratio(value, "#000000") else "#000000"
    return Brand(colour=value, on_colour=on)


def initials(name: str) -> str:
    """Up to two initials from the capitalised words of a name: "Limburg a. d. Lahn" → "LL"."""
    words = [w for w in _WORD.findall(name) if w[:1].isupper()]
    if not words:
        words = _WORD.findall(name)
    return "".join(w[0] for w in words[:2]).upper()
