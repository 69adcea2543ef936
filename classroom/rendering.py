"""Markdown + LaTeX to safe HTML.

markdown-it-py with raw HTML switched off escapes everything a user types;
its link validator drops javascript:, vbscript: and data: URLs. Math is left
as escaped TeX inside <span class="math inline"> / <div class="math block">
and typeset in the browser by static/js/math.js with KaTeX (trust off, so
\\href and \\url cannot make links).

Dollar rules follow Pandoc so that money in word problems stays text:
"$5 and $10" is not math, "$x+1$" is.
"""
from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    md.enable("table")
    md.enable("strikethrough")

    def link_open(renderer, tokens, idx, options, env):
        # User links open safely and carry no referrer.
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        tokens[idx].attrSet("target", "_blank")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)

    # One markup for math everywhere: the TeX stays escaped text until KaTeX runs.
    def math_inline(renderer, tokens, idx, options, env):
        return f'<span class="math inline">{escapeHtml(tokens[idx].content)}</span>'

    def math_display(renderer, tokens, idx, options, env):
        return f'<span class="math display">{escapeHtml(tokens[idx].content)}</span>'

    def math_block(renderer, tokens, idx, options, env):
        return f'<div class="math display">{escapeHtml(tokens[idx].content.strip())}</div>\n'

    md.add_render_rule("math_inline", math_inline)
    md.add_render_rule("math_inline_double", math_display)
    md.add_render_rule("math_block", math_block)
    md.add_render_rule("math_block_label", math_block)
    return md


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for user-written Markdown with math; never raises on odd input."""
    if not text:
        return Markup("")
    cleaned = text.replace("\x00", "\ufffd")
    return Markup(_parser().render(cleaned))
