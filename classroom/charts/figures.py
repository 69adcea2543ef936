"""The charts the classroom draws, from plain numbers to SVG.

Each function takes the figures (never database rows) and returns one <svg> with a title and a
description; the page puts a table of the same numbers beside it. Colours are the Okabe–Ito
palette, told apart by people with any common colour-vision deficiency, and never the only cue:
the key's bar is labelled "key", the deadline is labelled "due", late columns sit on top of on-time ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Sequence

from markupsafe import Markup

from .svg import document, el, nice_ticks, num, shorten, text

WIDTH = 340  # viewBox units: the charts scale to their box, a little under one unit per pixel on a phone


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    kind: str = ""  # "key", "none" or "": a CSS class suffix
    note: str = ""  # words above the bar ("key")


def _y_axis(left: float, top: float, bottom: float, right: float, ticks: list[float], y_max: float,
            label: str, fmt=lambda v: f"{v:g}") -> list[str]:
    out = []
    for t in ticks:
        y = bottom - (bottom - top) * t / y_max
        out.append(el("line", x1=float(left), x2=float(right), y1=y, y2=y, class_="grid" if t else "axis"))
        out.append(text(left - 6, y + 4, fmt(t), class_="tick", text_anchor="end"))
    out.append(text(14, (top + bottom) / 2, label, class_="axis-label", text_anchor="middle",
                    transform=f"rotate(-90 14 {num((top + bottom) / 2)})"))
    return out


def column_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar], *, x_label: str,
                 y_label: str, gap_before_last: bool = False) -> Markup:
    """Counts as columns, each labelled under it and with its value above it."""
    height, left, right, top, bottom = 260, 48, WIDTH - 8, 38, 260 - 46
    y_max_raw = max([b.value for b in bars] + [1])
    ticks = nice_ticks(y_max_raw)
    y_max = ticks[-1]
    n = len(bars)
    gap = 14 if gap_before_last and n > 1 else 0
    slot = (right - left - gap) / max(n, 1)
    width = max(3.0, min(48.0, slot * 0.72))
    every = 1 if slot >= 22 else (2 if slot >= 11 else 5)
    body = _y_axis(left, top, bottom, right, ticks, y_max, y_label)
    for i, b in enumerate(bars):
        x0 = left + slot * i + (gap if gap_before_last and i == n - 1 else 0)
        cx = x0 + slot / 2
        h = (bottom - top) * b.value / y_max
        kind = f"bar bar-{b.kind}" if b.kind else "bar"
        body.append(el("rect", x=cx - width / 2, y=bottom - h, width=width, height=max(h, 0.0), class_=kind))
        if b.value and slot >= 16:
            body.append(text(cx, bottom - h - 4, f"{b.value:g}", class_="value", text_anchor="middle"))
        if b.note:
            body.append(text(cx, bottom - h - (20 if b.value and slot >= 16 else 6), b.note, class_="note",
                             text_anchor="middle"))
        if i % every == 0 or i == n - 1:
            body.append(text(cx, bottom + 16, b.label, class_="tick", text_anchor="middle"))
    body.append(text((left + right) / 2, height - 8, x_label, class_="axis-label", text_anchor="middle"))
    return document(chart_id, WIDTH, height, title, description, body, "columns")


def histogram(chart_id: str, title: str, description: str, bins: Sequence[tuple[float, float, int]], *,
              x_label: str, y_label: str) -> Markup:
    """Adjacent columns over ranges, the edges labelled."""
    height, left, right, top, bottom = 250, 48, WIDTH - 14, 22, 250 - 46
    ticks = nice_ticks(max([c for _a, _b, c in bins] + [1]))
    y_max = ticks[-1]
    lo, hi = (bins[0][0], bins[-1][1]) if bins else (0, 100)
    span = (hi - lo) or 1

    def x(v):
        return left + (right - left) * (v - lo) / span

    body = _y_axis(left, top, bottom, right, ticks, y_max, y_label)
    for a, b, count in bins:
        h = (bottom - top) * count / y_max
        body.append(el("rect", x=x(a) + 1, y=bottom - h, width=max(x(b) - x(a) - 2, 1.0), height=h, class_="bar"))
        if count:
            body.append(text((x(a) + x(b)) / 2, bottom - h - 4, str(count), class_="value", text_anchor="middle"))
    edges = sorted({a for a, _b, _c in bins} | {b for _a, b, _c in bins})
    step = 1 if len(edges) <= 6 else 2
    for i, e in enumerate(edges):
        if i % step == 0 or i == len(edges) - 1:
            body.append(text(x(e), bottom + 16, f"{e:g}", class_="tick", text_anchor="middle"))
    body.append(text((left + right) / 2, height - 8, x_label, class_="axis-label", text_anchor="middle"))
    return document(chart_id, WIDTH, height, title, description, body, "histogram")


def timeline(chart_id: str, title: str, description: str, hours: Sequence[tuple[int, int, int, bool]], *,
             y_label: str = "Answers sent") -> Markup:
    """Answers per hour around the deadline: on-time columns with late ones stacked on top, and the
    deadline marked. `hours`: (hours to the deadline, on time, late, is the 'earlier' column)."""
    height, left, right, top, bottom = 280, 48, WIDTH - 10, 30, 280 - 76
    ticks = nice_ticks(max([a + b for _h, a, b, _e in hours] + [1]))
    y_max = ticks[-1]
    n = max(len(hours), 1)
    slot = (right - left) / n
    width = max(1.5, min(30.0, slot * 0.8))
    body = _y_axis(left, top, bottom, right, ticks, y_max, y_label)
    label_every = next(k for k in (1, 2, 3, 6, 12, 24, 48) if slot * k >= 34)
    due_x = None
    for i, (h, on_time, late, earlier) in enumerate(hours):
        x0 = left + slot * i + (slot - width) / 2
        h_on = (bottom - top) * on_time / y_max
        h_late = (bottom - top) * late / y_max
        if on_time:
            body.append(el("rect", x=x0, y=bottom - h_on, width=width, height=h_on, class_="bar"))
        if late:
            body.append(el("rect", x=x0, y=bottom - h_on - h_late, width=width, height=h_late, class_="bar bar-late"))
        if h == 0:
            due_x = left + slot * i
        if earlier:
            body.append(text(x0 + width / 2, bottom + 16, "earlier", class_="tick", text_anchor="middle"))
        elif h % label_every == 0:
            body.append(text(left + slot * i, bottom + 16, "due" if h == 0 else f"{h:+d} h", class_="tick",
                             text_anchor="middle"))
    if due_x is None and hours and hours[-1][0] == -1:
        due_x = right
    if due_x is not None:
        body.append(el("line", x1=due_x, x2=due_x, y1=float(top - 14), y2=float(bottom), class_="deadline"))
        body.append(text(due_x, top - 18, "Due", class_="note", text_anchor="middle"))
    legend_y = height - 8  # the legend on its own line under the axis's name, so neither hides the other
    body += [text((left + right) / 2, bottom + 38, "hours from the deadline", class_="axis-label", text_anchor="middle"),
             el("rect", x=float(left), y=float(legend_y - 9), width=10.0, height=10.0, class_="bar"),
             text(left + 14, legend_y, "on time", class_="tick"),
             el("rect", x=float(left + 80), y=float(legend_y - 9), width=10.0, height=10.0, class_="bar bar-late"),
             text(left + 94, legend_y, "late", class_="tick")]
    return document(chart_id, WIDTH, height, title, description, body, "timeline")


def share_bars(chart_id: str, title: str, description: str, rows: Sequence[tuple[str, Optional[float], str]]
               ) -> Markup:
    """Horizontal bars of shares (0 to 1), one per row: its label above, its percentage at the end and
    the counts under it. `rows`: (label, share or None, words under the bar)."""
    row_h, top, left, right = 62, 4, 4, WIDTH - 52
    height = top + row_h * max(len(rows), 1) + 20
    body = []
    for i, (label, value, detail) in enumerate(rows):
        y = top + row_h * i
        body.append(text(left, y + 14, label, class_="row-label"))
        body.append(el("rect", x=float(left), y=float(y + 21), width=float(right - left), height=16.0, class_="track"))
        if value is not None:
            body.append(el("rect", x=float(left), y=float(y + 21), width=(right - left) * value, height=16.0,
                           class_="bar"))
        body.append(text(right + 8, y + 34, "—" if value is None else f"{round(100 * value)}%", class_="value"))
        if detail:
            body.append(text(left, y + 52, detail, class_="tick"))
    base = top + row_h * max(len(rows), 1)
    for p in (0, 50, 100):
        x = left + (right - left) * p / 100
        body.append(text(x, base + 12, f"{p}%", class_="tick",
                         text_anchor="start" if p == 0 else ("end" if p == 100 else "middle")))
    return document(chart_id, WIDTH, height, title, description, body, "share-bars")


def stacked_shares(chart_id: str, title: str, description: str, rows: Sequence[tuple[str, Sequence[int], str]],
                   series: Sequence[tuple[str, str]]) -> Markup:
    """One horizontal bar per row split into parts that add up to the whole (its counts as shares of their
    sum), its label above and its words under it; a legend names each part. `series`: (name, CSS class)
    per part, in order, the last one drawn as the bare track."""
    row_h, top, left, right = 62, 4, 4, WIDTH - 4
    height = top + row_h * max(len(rows), 1) + 14 + 18 * ((len(series) + 1) // 2)
    body = []
    for i, (label, counts, detail) in enumerate(rows):
        y = top + row_h * i
        body.append(text(left, y + 14, label, class_="row-label"))
        body.append(el("rect", x=float(left), y=float(y + 21), width=float(right - left), height=16.0, class_="track"))
        total = sum(counts)
        x = float(left)
        for n, (_name, css) in zip(counts[:-1], series[:-1]):
            if total and n:
                w = (right - left) * n / total
                body.append(el("rect", x=x, y=float(y + 21), width=w, height=16.0, class_=css))
                x += w
        if detail:
            body.append(text(left, y + 52, detail, class_="tick"))
    legend_top = top + row_h * max(len(rows), 1) + 8
    for i, (name, css) in enumerate(series):
        lx, ly = left + (i % 2) * (WIDTH / 2), legend_top + 18 * (i // 2)
        body += [el("rect", x=float(lx), y=float(ly), width=10.0, height=10.0, class_=css),
                 text(lx + 14, ly + 9, name, class_="tick")]
    return document(chart_id, WIDTH, height, title, description, body, "stacked-shares")


def line_chart(chart_id: str, title: str, description: str, points: Sequence[tuple[str, Optional[float]]], *,
               y_label: str = "Score (%)", threshold: Optional[float] = None) -> Markup:
    """Percentages over a sequence (assignments over a term), 0 to 100, each point labelled under it."""
    height, left, right, top, bottom = 240, 62, WIDTH - 14, 18, 240 - 48
    body = _y_axis(left, top, bottom, right, [0, 25, 50, 75, 100], 100, y_label, fmt=lambda v: f"{v:g}%")
    n = len(points)
    slot = (right - left) / max(n, 1)

    def at(i, v):
        return left + slot * (i + 0.5), bottom - (bottom - top) * v / 100

    if threshold is not None:
        y = at(0, threshold)[1]
        body.append(el("line", x1=float(left), x2=float(right), y1=y, y2=y, class_="threshold"))
    known = [(i, v) for i, (_l, v) in enumerate(points) if v is not None]
    if len(known) > 1:
        body.append(el("polyline", points=" ".join(f"{num(at(i, v)[0])},{num(at(i, v)[1])}" for i, v in known),
                       class_="line"))
    every = 1 if slot >= 60 else max(1, round(60 / slot))
    for i, (label, v) in enumerate(points):
        x = at(i, 0)[0]
        if v is not None:
            below = threshold is not None and v < threshold
            body.append(el("circle", cx=x, cy=at(i, v)[1], r=4.5, class_="dot dot-below" if below else "dot"))
            if slot >= 34:
                body.append(text(x, at(i, v)[1] - 9, f"{v:.0f}", class_="value", text_anchor="middle"))
        if i % every == 0 or i == n - 1:
            body.append(text(x, bottom + 16, shorten(label, max(4, int(slot * every / 7.5))), class_="tick",
                             text_anchor="middle"))
    body.append(text((left + right) / 2, height - 8, "Assignments, in order of their deadlines",
                     class_="axis-label", text_anchor="middle"))
    return document(chart_id, WIDTH, height, title, description, body, "line")


def sparkline(chart_id: str, title: str, values: Sequence[float], *, threshold: Optional[float] = None) -> Markup:
    """A word-sized line of percentages (0 to 100): the last point and any below the threshold marked."""
    width, height, pad = 132, 36, 5
    n = len(values)

    def at(i, v):
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        return x, height - pad - (height - 2 * pad) * v / 100

    body = [el("line", x1=float(pad), x2=float(width - pad), y1=float(height - pad), y2=float(height - pad),
               class_="axis")]
    if threshold is not None:
        y = at(0, threshold)[1]
        body.append(el("line", x1=float(pad), x2=float(width - pad), y1=y, y2=y, class_="threshold"))
    if n > 1:
        body.append(el("polyline", points=" ".join(f"{num(at(i, v)[0])},{num(at(i, v)[1])}"
                                                   for i, v in enumerate(values)), class_="line"))
    for i, v in enumerate(values):
        below = threshold is not None and v < threshold
        if below or i == n - 1:
            x, y = at(i, v)
            body.append(el("circle", cx=x, cy=y, r=3.0, class_="dot dot-below" if below else "dot"))
    description = ("Scores: " + ", ".join(f"{v:g}%" for v in values)) if values else "No scores yet."
    return document(chart_id, width, height, title, description, body, "spark")


@lru_cache(maxsize=128)
def meter(value: Optional[float]) -> Markup:
    """A share (0 to 1) as a short horizontal bar on a track: decorative (aria-hidden), since its
    percentage is always written beside it; whole percents, so a table of thousands reuses 101 pictures."""
    width, height = 44, 12
    body = [el("rect", x=0.0, y=2.0, width=float(width), height=8.0, class_="track")]
    if value is not None:
        body.append(el("rect", x=0.0, y=2.0, width=width * max(0.0, min(1.0, value)), height=8.0, class_="bar"))
    return Markup(el("svg", body, xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {width} {height}",
                     aria_hidden="true", focusable="false", class_="chart meter"))
