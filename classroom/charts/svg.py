"""A very small SVG writer: elements with escaped text and attributes, no styles.

Colours and fonts come from classes styled in static/css/charts.css (the CSP forbids inline
styles, and classes keep every chart's look in one place). Nothing here knows Flask or the database.
"""
from __future__ import annotations

import math
from typing import Iterable

from markupsafe import Markup, escape


def num(value: float) -> str:
    """A coordinate, short: 12, 12.5, 12.25."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attrs(attrs: dict) -> str:
    parts = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")  # class_ -> class, text_anchor -> text-anchor
        if isinstance(value, float):
            value = num(value)
        parts.append(f' {name}="{escape(str(value))}"')
    return "".join(parts)


def el(tag: str, content: str | Iterable[str] = "", **attrs) -> str:
    """One element; `content` is markup already (use text() for words)."""
    if not isinstance(content, str):
        content = "".join(content)
    if not content:
        return f"<{tag}{_attrs(attrs)}/>"
    return f"<{tag}{_attrs(attrs)}>{content}</{tag}>"


def text(x: float, y: float, words: str, **attrs) -> str:
    return el("text", str(escape(words)), x=float(x), y=float(y), **attrs)


def document(chart_id: str, width: float, height: float, title: str, description: str, body: Iterable[str],
             class_: str = "") -> Markup:
    """The <svg>: an image with its title and description for assistive technology (the figure's table
    beside it gives the numbers); it scales to its container's width (viewBox)."""
    return Markup(el(
        "svg",
        [el("title", str(escape(title)), id=f"{chart_id}-title"),
         el("desc", str(escape(description)), id=f"{chart_id}-desc"), *body],
        xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {num(width)} {num(height)}", role="img",
        aria_labelledby=f"{chart_id}-title", aria_describedby=f"{chart_id}-desc", class_=f"chart {class_}".strip(),
        id=chart_id, preserveAspectRatio="xMidYMid meet", focusable="false",
    ))


def nice_ticks(top: float, most: int = 5, integer: bool = True) -> list[float]:
    """Axis ticks from 0 to at least `top`, at steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0, 1] if integer else [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, round(step))
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def shorten(words: str, most: int) -> str:
    return words if len(words) <= most else words[: most - 1].rstrip() + "…"
