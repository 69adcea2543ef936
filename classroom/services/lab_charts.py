"""Charts of the AI lab, drawn on the server as SVG (no script, no style attribute: the page's CSP holds).

Colours and fonts come from classes styled in static/css/app.css; the SVG carries a title and a
description for screen readers, and each page shows the same numbers in a table beside it.
"""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 20, 66
SERIES = {"exam": "practice exam", "synthetic": "synthetic set"}


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def accuracy_chart(points, title: str = "Accuracy by strategy version") -> Markup:
    """Accuracy per strategy version (x) for each target, with the 95 % interval as a whisker.
    `points` are services.lab.StrategyPoint; an empty list draws nothing."""
    points = [p for p in points if p.accuracy.n]
    if not points:
        return Markup("")
    versions = sorted({p.version for p in points})
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(versions)
    offsets = {"synthetic": -0.12, "exam": 0.12}

    def x_of(version: int, target: str) -> float:
        return LEFT + step * (versions.index(version) + 0.5 + offsets.get(target, 0))

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - value)

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc"'
             ' xmlns="http://www.w3.org/2000/svg">',
             f'<title id="chart-title">{escape(title)}</title>']
    desc = "; ".join(f"version {p.version}, {SERIES.get(p.target, p.target)}: {_pct(p.accuracy.value)} "
                     f"(95% interval {_pct(p.accuracy.interval[0])} to {_pct(p.accuracy.interval[1])}, "
                     f"{p.accuracy.n} attempts)" for p in points)
    parts.append(f'<desc id="chart-desc">{escape(desc)}</desc>')
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = y_of(tick)
        parts.append(f'<line class="grid-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis-label" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{_pct(tick)}</text>')
    for v in versions:
        parts.append(f'<text class="axis-label" x="{LEFT + step * (versions.index(v) + 0.5):.1f}" '
                     f'y="{HEIGHT - BOTTOM + 20}" text-anchor="middle">v{v}</text>')
    parts.append(f'<text class="axis-label" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - BOTTOM + 40}" '
                 'text-anchor="middle">strategy version</text>')
    for p in points:
        x = x_of(p.version, p.target)
        lo, hi = p.accuracy.interval
        cls = f"series-{p.target}"
        parts.append(f'<line class="whisker {cls}" x1="{x:.1f}" x2="{x:.1f}" y1="{y_of(lo):.1f}" y2="{y_of(hi):.1f}"/>')
        for end in (lo, hi):
            parts.append(f'<line class="whisker {cls}" x1="{x - 5:.1f}" x2="{x + 5:.1f}" '
                         f'y1="{y_of(end):.1f}" y2="{y_of(end):.1f}"/>')
        y = y_of(p.accuracy.value)
        if p.target == "exam":
            parts.append(f'<rect class="mark {cls}" x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10"/>')
        else:
            parts.append(f'<circle class="mark {cls}" cx="{x:.1f}" cy="{y:.1f}" r="5.5"/>')
    legend_x = LEFT
    for target in [t for t in ("synthetic", "exam") if any(p.target == t for p in points)]:
        cls = f"series-{target}"
        mark = (f'<rect class="mark {cls}" x="{legend_x}" y="{HEIGHT - 20}" width="10" height="10"/>' if target == "exam"
                else f'<circle class="mark {cls}" cx="{legend_x + 5}" cy="{HEIGHT - 15}" r="5.5"/>')
        parts.append(mark + f'<text class="axis-label" x="{legend_x + 16}" y="{HEIGHT - 11}">{SERIES[target]}</text>')
        legend_x += 150
    parts.append("</svg>")
    return Markup("".join(parts))
