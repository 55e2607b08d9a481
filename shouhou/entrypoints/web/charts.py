"""Charts drawn on the server as SVG (no chart library, nothing to load): each comes with its
numbers, which the pages also show in a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bars(title: str, items: Sequence[tuple[str, float]], unit: str = "", width: int = 420) -> str:
    """A horizontal bar chart: one bar per (label, value); negative values grow to the left of zero."""
    if not items:
        return ""
    row, label_w, pad = 26, 150, 8
    lo = min(0.0, *(v for _, v in items))
    hi = max(0.0, *(v for _, v in items))
    span = (hi - lo) or 1.0
    plot = width - label_w - 2 * pad - 60
    zero = label_w + pad + plot * (-lo / span)
    height = row * len(items) + 2 * pad
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        w = plot * abs(value) / span
        x = zero - w if value < 0 else zero
        colour = "#b42318" if value < 0 else "#0a58ca"
        out.append(f'<text x="{label_w}" y="{y + 17}" text-anchor="end" font-size="12">{escape(label)}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y + 5}" width="{max(w, 1):.1f}" height="{row - 10}" fill="{colour}"/>')
        out.append(f'<text x="{max(x + w, zero) + 4:.1f}" y="{y + 17}" font-size="12">{value:g}{escape(unit)}</text>')
    out.append(f'<line x1="{zero:.1f}" y1="{pad}" x2="{zero:.1f}" y2="{height - pad}" stroke="#57606a"/>')
    out.append("</svg>")
    return "".join(out)


def line(title: str, points: Sequence[tuple[str, float]], unit: str = "", width: int = 560, height: int = 180) -> str:
    """A line over time: (label, value) in order; the first and last labels under the axis."""
    if len(points) < 2:
        return ""
    pad = 30
    values = [v for _, v in points]
    lo, hi = min(values + [0.0]), max(values)
    span = (hi - lo) or 1.0
    step = (width - 2 * pad) / (len(points) - 1)
    xy = [(pad + i * step, height - pad - (v - lo) / span * (height - 2 * pad)) for i, v in enumerate(values)]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(xy))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
            f'<path d="{path}" fill="none" stroke="#0a58ca" stroke-width="2"/>'
            f'<text x="{pad}" y="{height - 8}" font-size="11">{escape(points[0][0])}</text>'
            f'<text x="{width - pad}" y="{height - 8}" font-size="11" text-anchor="end">{escape(points[-1][0])}</text>'
            f'<text x="4" y="{pad - 10}" font-size="11">{hi:g}{escape(unit)}</text></svg>')
