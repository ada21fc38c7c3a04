"""The weekly summary's picture: the last four weeks, one square a day, and the family member's
own 1-5 line underneath. Drawn with matplotlib (Agg, no display) when the message is sent, from
the data the outbox row keeps (bot/runtime/summaries.py: days and numbers, never a name).

The picture has no words of any language: the squares carry the signs of the SMS calendar
(+ no use, x use, ? not sure), and the words that explain them go with it as its caption. The
PNG carries no metadata at all (matplotlib's "Software" entry is dropped).

    draw('{"today": "2026-03-08", "days": [["2026-02-09", null], ...], "wellbeing": [...]}')
      -> PNG bytes, 800 x 600
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from typing import Any

SIZE = (800, 600)  # pixels
DPI = 100
COLOURS = {  # colour-blind-safe (Okabe-Ito), told apart by the signs too
    "non_use": "#009E73",
    "use": "#D55E00",
    "unsure": "#E69F00",
    None: "#DDDDDD",  # no answer that evening
}
AFTER_TODAY = "#FFFFFF"
SIGNS = {"non_use": "+", "use": "x", "unsure": "?", None: ""}
LINE = "#0072B2"
# Where the calendar and the line sit in the figure (fractions: left, bottom, width, height).
CALENDAR_BOX = (0.08, 0.38, 0.86, 0.58)
LINE_BOX = (0.08, 0.08, 0.86, 0.24)
WEEKS = 4


def draw(media: str) -> bytes:
    """The PNG for one summary's data."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Rectangle

    data: dict[str, Any] = json.loads(media)
    today = date.fromisoformat(data["today"])
    days = {date.fromisoformat(d): v for d, v in data["days"]}
    first = today - timedelta(days=today.weekday() + 7 * (WEEKS - 1))
    figure = plt.figure(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)
    try:
        calendar = figure.add_axes(CALENDAR_BOX)
        calendar.set_xlim(0, 7)
        calendar.set_ylim(0, WEEKS)
        calendar.set_axis_off()
        for index in range(7 * WEEKS):
            day = first + timedelta(days=index)
            column, row = index % 7, WEEKS - 1 - index // 7  # the latest week at the bottom
            value = days.get(day)
            colour = AFTER_TODAY if day > today else COLOURS.get(value, COLOURS[None])
            calendar.add_patch(
                Rectangle((column + 0.05, row + 0.05), 0.9, 0.9, color=colour, linewidth=0)
            )
            calendar.text(column + 0.1, row + 0.78, str(day.day), fontsize=9, color="#333333")
            if day <= today and SIGNS.get(value):
                calendar.text(
                    column + 0.5,
                    row + 0.42,
                    SIGNS[value],
                    fontsize=18,
                    ha="center",
                    va="center",
                    color="white",
                    fontweight="bold",
                )
        line = figure.add_axes(LINE_BOX)
        points = [(date.fromisoformat(d), int(n)) for d, n in data.get("wellbeing", [])]
        line.set_xlim(-0.5, 7 * WEEKS - 0.5)
        line.set_ylim(0.5, 5.5)
        line.set_yticks([1, 2, 3, 4, 5])
        line.set_xticks(
            [7 * w for w in range(WEEKS)],
            [str((first + timedelta(weeks=w)).day) for w in range(WEEKS)],  # each Monday
        )
        line.grid(axis="y", color="#EEEEEE")
        if points:
            xs = [(d - first).days for d, _ in points]
            line.plot(xs, [n for _, n in points], color=LINE, marker="o", linewidth=2)
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
        return out.getvalue()
    finally:
        plt.close(figure)


def cell_centre(index: int) -> tuple[int, int]:
    """The pixel (x, y from the top) at the middle of day `index` (0: the first Monday) of the
    calendar, away from its signs: where a test reads the day's colour."""
    left, bottom, width, height = CALENDAR_BOX
    column, row = index % 7, WEEKS - 1 - index // 7
    x = (left + width * (column + 0.5) / 7) * SIZE[0]
    y_up = (bottom + height * (row + 0.15) / WEEKS) * SIZE[1]
    return round(x), round(SIZE[1] - y_up)
