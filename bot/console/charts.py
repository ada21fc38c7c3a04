"""Small server-drawn SVG bar charts: readable at a glance on a phone, no script, no build step.

A chart is weeks along the bottom and one bar per week, stacked when there are several series
(or side by side, for figures that do not add up, such as a median and a 90th percentile);
a shaded band marks a published anchor (e.g. 62-68% check-in response). Every bar has a <title>
with its figure, and the page shows the same figures as a table for screen readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 480, 240  # drawn at about this size on a phone, so the labels stay readable
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 14, 30


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]  # one per label; None: nothing to show that week
    css: str  # a class from console.css (s1..s4) so colours live in one place


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    caption: str  # what the figure means, and where an anchor comes from
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""  # "%" draws 0-100 and adds the sign
    band: tuple[float, float] | None = None  # a published range to compare with
    band_label: str = ""
    waiting: str = ""  # set when the figure cannot be had yet, and why
    stacked: bool = True  # False: the series' bars stand side by side

    def total(self, index: int) -> float:
        """The height the week's bars reach."""
        values = [s.values[index] or 0 for s in self.series if index < len(s.values)]
        return sum(values) if self.stacked else max(values, default=0)

    @property
    def empty(self) -> bool:
        return all(v is None or v == 0 for s in self.series for v in s.values)


def _nice_top(value: float) -> float:
    """A round number at or above `value` for the axis: 1, 2, 5, 10, 20, 50, ..."""
    magnitude = 10 ** math.floor(math.log10(max(value, 1)))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= value)


def render(chart: Chart) -> Markup:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(1, len(chart.labels))
    top = 100.0 if chart.unit == "%" else _nice_top(max([chart.total(i) for i in range(n)] + [1]))
    slot = plot_w / n
    bar = max(4.0, slot * 0.62)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * min(value, top) / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    if chart.band:
        lo, hi = chart.band
        height = max(1.5, y(lo) - y(hi))
        parts.append(
            f'<rect class="band" x="{LEFT}" y="{y(hi):.1f}" width="{plot_w}" '
            f'height="{height:.1f}"><title>{escape(chart.band_label)}</title></rect>'
        )
    for tick in (0, top / 2, top):
        label = f"{tick:g}{chart.unit}"
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/><text class="axis" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    side = 1 if chart.stacked else max(1, len(chart.series))
    for i, label in enumerate(chart.labels):
        x0 = LEFT + slot * i + (slot - bar) / 2
        base = 0.0
        for k, s in enumerate(chart.series):
            value = s.values[i]
            if value is None or value <= 0:
                continue
            x = x0 if chart.stacked else x0 + k * bar / side
            y0, y1 = y(base), y(base + value)
            shown = f"{value:.0f}{chart.unit}" if chart.unit == "%" else f"{value:g}"
            parts.append(
                f'<rect class="{s.css}" x="{x:.1f}" y="{y1:.1f}" width="{bar / side:.1f}" '
                f'height="{max(0.5, y0 - y1):.1f}"><title>{escape(label)}: {escape(s.name)} '
                f"{escape(shown)}</title></rect>"
            )
            base += value if chart.stacked else 0
        if n <= 6 or i % 2 == (n - 1) % 2:  # every other week, always the latest
            middle = LEFT + slot * i + slot / 2
            parts.append(
                f'<text class="axis" x="{middle:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
