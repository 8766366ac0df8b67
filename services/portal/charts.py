"""Charts drawn on the server as SVG (no script, no inline style: the page's CSP holds):
the geometry is computed here, the templates draw it, and every chart has its figures in a
table next to it for screen readers and for copying."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH = 400  # the viewBox width; the SVG scales to the column it is in


@dataclass
class BarRow:
    label: str
    value: int
    target: int
    y: float
    value_width: float
    target_width: float
    over: bool  # the target is reached


@dataclass
class BarChart:
    rows: list[BarRow]
    height: float
    width: int = WIDTH
    row_height: int = 34


def bar_chart(rows: list[dict[str, Any]], value_key: str = "units", target_key: str = "target",
              label_key: str = "name", max_label: int = 16) -> BarChart:
    """Horizontal bars, one row each (a label line above its bar): the target as a light
    bar, the value drawn over it."""
    top = max([1] + [int(r.get(value_key) or 0) for r in rows] + [int(r.get(target_key) or 0) for r in rows])
    bars = []
    for i, r in enumerate(rows):
        value, target = int(r.get(value_key) or 0), int(r.get(target_key) or 0)
        name = str(r.get(label_key) or "")
        bars.append(BarRow(label=name if len(name) <= max_label else name[:max_label - 1] + "…", value=value,
                           target=target, y=i * 34, value_width=round(WIDTH * value / top, 1),
                           target_width=round(WIDTH * target / top, 1), over=target > 0 and value >= target))
    return BarChart(bars, height=max(34, len(bars) * 34))


@dataclass
class LineChart:
    points: list[dict[str, Any]]
    path: str
    area: str
    x_labels: list[dict[str, Any]] = field(default_factory=list)
    y_ticks: list[dict[str, Any]] = field(default_factory=list)
    width: int = WIDTH
    height: int = 190
    total: int = 0


def nice_top(value: int) -> int:
    """A round top for the y axis: 1, 2, 5 × 10ⁿ."""
    if value <= 4:
        return max(4, value)
    power = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def line_chart(days: list[dict[str, Any]], key: str = "units") -> LineChart:
    """A line of daily figures with its points, the area below, about six date labels and
    three ticks on the y axis."""
    left, right, top_y, bottom = 34.0, WIDTH - 8.0, 12.0, 160.0
    values = [int(d.get(key) or 0) for d in days]
    top = nice_top(max(values + [0]))
    n = len(days)
    step = (right - left) / (n - 1) if n > 1 else 0.0
    points: list[dict[str, Any]] = []
    for i, (day, value) in enumerate(zip(days, values)):
        x = left + i * step if n > 1 else (left + right) / 2
        y = bottom - (bottom - top_y) * value / top
        points.append({"x": round(x, 1), "y": round(y, 1), "value": value, "date": str(day.get("date"))})
    path = " ".join(f"{p['x']},{p['y']}" for p in points)
    area = f"{left},{bottom} {path} {points[-1]['x']},{bottom}" if points else ""
    every = max(1, math.ceil(n / 6))
    labels = [{"x": p["x"], "text": str(p["date"])[5:]} for i, p in enumerate(points) if i % every == 0 or i == n - 1]
    if len(labels) > 1 and labels[-1]["x"] - labels[-2]["x"] < (right - left) / 8:
        labels.pop(-2)  # the last day's label wins over a neighbour it would overlap
    ticks = [{"y": round(bottom - (bottom - top_y) * f, 1), "text": str(int(top * f))} for f in (0, 0.5, 1)]
    return LineChart(points, path, area, labels, ticks, total=sum(values))
