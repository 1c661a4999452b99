"""Charts drawn as inline SVG at build time: no JavaScript, no fonts or files to fetch.

Three shapes cover the report's charts: horizontal bars (one value per label), vertical stacked
bars (one stack per x label, e.g. weeks) and lines (one or more series over the same x labels).
Every text is XML-escaped; every chart gets ``role="img"`` and an ``aria-label``, and each bar or
point a ``<title>`` with its exact value (shown on hover).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# A colour-blind-safe palette (Okabe & Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str | None = None  # default: the palette's, by the series' place

    def fill(self, place: int) -> str:
        return self.colour or PALETTE[place % len(PALETTE)]


def _fmt(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _axis_fmt(value: float) -> str:
    """An axis tick, short: 1.5M, 250k, 7.5."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.3g}k"
    return _fmt(value)


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^k not below ``value`` (an axis that ends on a round number)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {FONT}>'
    )


def _legend(series: Sequence[Series], x: int, y: int) -> str:
    parts = []
    for i, one in enumerate(series):
        left = x + i * 150
        parts.append(
            f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{one.fill(i)}"/>'
            f'<text x="{left + 14}" y="{y}">{escape(one.name)}</text>'
        )
    return "".join(parts)


def hbar(labels: Sequence[str], values: Sequence[float], label: str, unit: str = "", width: int = 720) -> str:
    """One horizontal bar per label, the value written at its end."""
    if not labels:
        raise ValueError("a chart needs at least one bar")
    row, left, right = 20, min(300, 16 + 8 * max(len(s) for s in labels)), 70
    height = 20 + row * len(labels)
    top = _nice_max(max(values))
    scale = (width - left - right) / top
    parts = [_open(width, height, label)]
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        y = 10 + i * row
        bar = max(value * scale, 2.0)  # a zero is drawn as a stub: the row is there, its value is 0
        text = f"{_fmt(value)}{unit}"
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(name)}</text>'
            f'<rect class="mark" x="{left}" y="{y + 2}" width="{bar:.1f}" height="{row - 5}" fill="{PALETTE[0]}">'
            f"<title>{escape(name)}: {escape(text)}</title></rect>"
            f'<text x="{left + bar + 4:.1f}" y="{y + 13}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _x_axis(labels: Sequence[str], xs: Sequence[float], y: float) -> str:
    every = max(1, len(labels) // 12)
    return "".join(
        f'<text x="{x:.1f}" y="{y + 16:.1f}" text-anchor="middle">{escape(name)}</text>'
        for i, (name, x) in enumerate(zip(labels, xs, strict=True))
        if i % every == 0
    )


def _y_axis(top: float, left: int, bottom: float, height: float, width: int) -> str:
    parts = []
    for k in range(5):
        value = top * k / 4
        y = bottom - height * k / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_axis_fmt(value))}</text>'
        )
    return "".join(parts)


def stacked_bars(x_labels: Sequence[str], series: Sequence[Series], label: str, width: int = 720) -> str:
    """One stacked bar per x label; ``None`` counts as 0 (a suppressed cell is left out by the caller)."""
    if not x_labels or not series:
        raise ValueError("a chart needs at least one bar")
    left, height, bottom = 60, 220, 250
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(x_labels))]
    top = _nice_max(max(totals))
    step = (width - left - 10) / len(x_labels)
    parts = [_open(width, 300, label), _y_axis(top, left, bottom, height, width)]
    for i, name in enumerate(x_labels):
        base = 0.0
        for k, one in enumerate(series):
            value = one.values[i] or 0
            if not value:
                continue
            y0 = bottom - height * (base + value) / top
            h = height * value / top
            parts.append(
                f'<rect class="mark" x="{left + i * step + 1:.1f}" y="{y0:.1f}" width="{max(step - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{one.fill(k)}"><title>{escape(name)} · '
                f"{escape(one.name)}: {escape(_fmt(value))}</title></rect>"
            )
            base += value
    xs = [left + (i + 0.5) * step for i in range(len(x_labels))]
    parts += [_x_axis(x_labels, xs, bottom), _legend(series, left, 290), "</svg>"]
    return "".join(parts)


def lines(x_labels: Sequence[str], series: Sequence[Series], label: str, width: int = 720) -> str:
    """One line per series over the x labels; a ``None`` value breaks the line (a suppressed cell)."""
    if not x_labels or not series:
        raise ValueError("a chart needs at least one point")
    left, height, bottom = 60, 220, 250
    known = [v for s in series for v in s.values if v is not None]
    if not known:
        raise ValueError("every value of the chart is suppressed")
    top = _nice_max(max(known))
    step = (width - left - 10) / max(len(x_labels), 1)
    xs = [left + (i + 0.5) * step for i in range(len(x_labels))]
    parts = [_open(width, 300, label), _y_axis(top, left, bottom, height, width)]
    for k, one in enumerate(series):
        colour = one.fill(k)
        runs: list[list[str]] = [[]]
        for x, value, name in zip(xs, one.values, x_labels, strict=True):
            if value is None:
                runs.append([])
                continue
            y = bottom - height * value / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)} · '
                f"{escape(one.name)}: {escape(_fmt(value))}</title></circle>"
            )
        parts += [
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>'
            for run in runs
            if len(run) > 1
        ]
    parts += [_x_axis(x_labels, xs, bottom), _legend(series, left, 290), "</svg>"]
    return "".join(parts)
