"""Small server-rendered SVG charts (no JavaScript): sparklines, line and bar charts.

Every chart is decorative next to its data table (``aria-hidden``) except the
sparkline, which stands alone in a table cell and therefore carries
``role="img"`` and an ``aria-label`` with its numbers. Colours come from
``currentColor`` and SVG presentation attributes (no ``style=``, CSP-safe).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Distinguishable for colour-blind readers (Okabe–Ito), each series also has its own dash pattern.
SERIES_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "6 3")


def _scale(values: Sequence[float], height: float) -> tuple[float, float]:
    top = max([*values, 0]) or 1
    return top, height / top


def sparkline(values: Sequence[int], label: str, width: int = 120, height: int = 28) -> SafeString:
    """A tiny line of ``values`` with ``label`` (which should name the numbers) as its accessible name."""
    if not values:
        return format_html(
            '<svg class="sparkline" role="img" aria-label="{}" width="{}" height="{}"></svg>', label, width, height
        )
    _top, factor = _scale(values, height - 4)
    step = (width - 4) / max(len(values) - 1, 1)
    points = " ".join(f"{2 + i * step:.1f},{height - 2 - v * factor:.1f}" for i, v in enumerate(values))
    return format_html(
        '<svg class="sparkline" role="img" aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}">'
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{}"/></svg>',
        label,
        width,
        height,
        width,
        height,
        points,
    )


def _axis(labels: Sequence[str], x_of: list[float], top: float, width: int, height: int, left: int) -> list[str]:
    parts = [
        f'<line x1="{left}" y1="{height - 24}" x2="{width}" y2="{height - 24}" stroke="#767676"/>',
        f'<text x="{left - 4}" y="12" text-anchor="end" font-size="11">{escape(_number(top))}</text>',
        f'<text x="{left - 4}" y="{height - 24}" text-anchor="end" font-size="11">0</text>',
    ]
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{x_of[i]:.1f}" y="{height - 8}" text-anchor="middle" font-size="10">{escape(label)}</text>'
            )
    return parts


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".") if value >= 10 or value == int(value) else f"{value:.2f}"


def line_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], width: int = 720, height: int = 240
) -> SafeString:
    """Lines for each (name, values) over ``labels``; a legend names the series (decorative: the table is the data)."""
    left = 48
    plot_h = height - 24 - 16
    all_values = [v for _name, values in series for v in values]
    top, factor = _scale(all_values, plot_h)
    step = (width - left - 8) / max(len(labels) - 1, 1)
    x_of = [left + 4 + i * step for i in range(len(labels))]
    parts = _axis(labels, x_of, top, width, height, left)
    for index, (name, values) in enumerate(series):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        points = " ".join(f"{x_of[i]:.1f},{height - 24 - v * factor:.1f}" for i, v in enumerate(values))
        dash = f' stroke-dasharray="{DASHES[index]}"' if DASHES[index % len(DASHES)] else ""
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{points}"/>')
        if len(values) == 1:
            parts.append(
                f'<circle cx="{x_of[0]:.1f}" cy="{height - 24 - values[0] * factor:.1f}" r="3" fill="{colour}"/>'
            )
        parts.append(
            f'<line x1="{left + 10 + index * 130}" y1="6" x2="{left + 34 + index * 130}" y2="6" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{left + 38 + index * 130}" y="10" font-size="11">{escape(name)}</text>'
        )
    return mark_safe(  # noqa: S308 - every dynamic text above is escaped, numbers are formatted floats
        f'<svg class="chart-svg" aria-hidden="true" focusable="false" width="100%" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMidYMid meet">{"".join(parts)}</svg>'
    )


def bar_chart(labels: Sequence[str], values: Sequence[float], width: int = 720, bar_height: int = 22) -> SafeString:
    """Horizontal bars, one per label, with the value written next to each bar."""
    label_w = 200
    _top, factor = _scale(values, width - label_w - 70)
    height = max(len(labels), 1) * (bar_height + 6) + 4
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * (bar_height + 6)
        bar = max(value * factor, 0)
        text = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_height - 7}" text-anchor="end" font-size="12">{escape(text)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{bar:.1f}" height="{bar_height}" fill="{SERIES_COLOURS[0]}"/>'
            f'<text x="{label_w + bar + 4:.1f}" y="{y + bar_height - 7}" font-size="12">{escape(_number(value))}</text>'
        )
    return mark_safe(  # noqa: S308 - escaped as above
        f'<svg class="chart-svg" aria-hidden="true" focusable="false" width="100%" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet">{"".join(parts)}</svg>'
    )
