"""Markdown + LaTeX to safe HTML.

markdown-it-py with raw HTML switched off escapes everything a user types;
its link validator drops javascript:, vbscript: and data: URLs. Math is left
as escaped TeX inside <span class="math inline"> / <div class="math block">
and typeset in the browser by static/js/math.js with KaTeX (trust off, so
\\href and \\url cannot make links).

Dollar rules follow Pandoc so that money in word problems stays text:
"$5 and $10" is not math, "$x+1$" is. The \\(...\\) and \\[...\\] delimiters are math
too (Pandoc's tex_math_single_backslash), and a bare \\boxed{...} outside math is typeset:
models write them (the lab's attempts, harvested problems) and so do people used to LaTeX.
One rule for every text, so a model's solution reads the same on the harvest page, in a
critique assignment and on the instructor's pages.
"""
from __future__ import annotations

import re
from functools import lru_cache
from threading import Lock

from cachetools import TTLCache, cached
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.texmath import texmath_plugin


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    # Math as \(...\) and \[...\] too, and \boxed{...} left outside any math (as models write it).
    dollar_rules = {id(rule.fn) for rule in md.block.ruler.__rules__ + md.inline.ruler.__rules__}
    md.use(texmath_plugin, delimiters="brackets")
    for rule in md.block.ruler.__rules__:  # texmath's \[ \] blocks: one that ends mid-line stays a paragraph
        if id(rule.fn) not in dollar_rules:
            rule.fn = _whole_lines(rule.fn)
    md.block.ruler.__cache__ = None
    for rule in md.inline.ruler.__rules__:  # texmath's \( \): only where a \) follows
        if rule.name == "math_inline" and id(rule.fn) not in dollar_rules:
            rule.fn = _closed_later(rule.fn)
    md.inline.ruler.__cache__ = None
    md.inline.ruler.before("escape", "bare_boxed", _bare_boxed)
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
    md.add_render_rule("math_block_eqno", math_block)
    return md


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for Markdown with math (a person's or a model's); never raises on odd input."""
    if not text:
        return Markup("")
    return Markup(_render(text))


_DISPLAY_END = re.compile(r"\\\[[\s\S]+?\\\]")


def _whole_lines(rule):
    """texmath's \\[...\\] block rule, only when nothing but an equation number follows the \\] on its line
    (the rule would drop the rest of that line)."""
    def guarded(state, begin_line: int, end_line: int, silent: bool) -> bool:
        start = state.bMarks[begin_line] + state.tShift[begin_line]
        found = _DISPLAY_END.match(state.src, start)
        if found is None:
            return False
        rest = state.src[found.end():].split("\n", 1)[0].strip()
        if rest and not re.fullmatch(r"\([^)$]+\)", rest):
            return False
        return rule(state, begin_line, end_line, silent)
    return guarded


def _closed_later(rule):
    """texmath's \\(...\\) rule, tried only when a `\\)` follows: its lazy match from every `\\(` of a text
    with no `\\)` would take time growing with the square of the text's length."""
    def guarded(state, silent: bool) -> bool:
        last = state.env.setdefault("last_close", {})
        if state.src not in last:
            last[state.src] = state.src.rfind("\\)")
        if last[state.src] < state.pos + 2:
            return False
        return rule(state, silent)
    return guarded


_BRACE = re.compile(r"\\[\s\S]|[{}]")


def _matching_braces(src: str) -> dict[int, int]:
    """Each `{` of src (escapes skipped) to the position just after its matching `}`: one pass, so that many
    unbalanced `\\boxed{` cost no more than one."""
    ends: dict[int, int] = {}
    opened: list[int] = []
    for found in _BRACE.finditer(src):
        if found.group() == "{":
            opened.append(found.start())
        elif found.group() == "}" and opened:
            ends[opened.pop()] = found.end()
    return ends


def _bare_boxed(state, silent: bool) -> bool:
    """`\\boxed{...}` outside math (balanced braces) becomes inline math, as the model meant it."""
    start = state.pos
    if not state.src.startswith("\\boxed{", start):
        return False
    known = state.env.setdefault("boxed_braces", {})
    if state.src not in known:
        known[state.src] = _matching_braces(state.src)
    pos = known[state.src].get(start + len("\\boxed"))
    if pos is None or pos > state.posMax:
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = state.src[start:pos]
        token.markup = ""
    state.pos = pos
    return True


# A problem's statement and solution steps are rendered again for each student who opens the problem,
# all of them within minutes before a deadline. The key is the text itself, so a new version of a
# solution (an edit is new text) never shows an old rendering; entries expire after a few minutes,
# which keeps the memory to what is being read now.
_rendered: TTLCache = TTLCache(maxsize=4096, ttl=300)


@cached(_rendered, lock=Lock())
def _render(text: str) -> str:
    return _parser().render(text.replace("\x00", "\ufffd"))


# --------------------------------------------------------------------------- programs

# Highlighting is Pygments' job, on the server: the HTML carries class names only (no inline style,
# which the CSP forbids); static/css/code.css holds the colours (tests check it matches CODE_STYLE).
CODE_STYLE = "default"
CODE_CSS_SCOPE = ".highlight"


def code_stylesheet() -> str:
    """Pygments' colours for CODE_STYLE, scoped to .highlight (its global line-number rules left out)."""
    from pygments.formatters import HtmlFormatter

    formatter = HtmlFormatter(style=CODE_STYLE)
    rules = formatter.get_background_style_defs(CODE_CSS_SCOPE) + formatter.get_token_style_defs(CODE_CSS_SCOPE)
    header = "/* Generated from Pygments' \"%s\" style by classroom.rendering.code_stylesheet(); do not edit. */" % CODE_STYLE
    return "\n".join([header, *rules]) + "\n"


def highlight_lines(lines: list[str], language: str) -> list[Markup]:
    """One safe HTML fragment per line of a program, highlighted as a whole (so a string or comment that
    spans lines is still lexed right). Blank lines stay, as empty fragments; never raises on odd input."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    lines = [(line or "").replace("\x00", "\ufffd").replace("\r", "") for line in lines]
    flat = [part for line in lines for part in line.split("\n")]
    try:
        lexer = get_lexer_by_name(language or "text", stripnl=False, stripall=False, ensurenl=True)
    except ClassNotFound:
        lexer = get_lexer_by_name("text", stripnl=False, ensurenl=True)
    # nowrap: bare spans; HtmlFormatter closes every span at the end of its line, so lines split cleanly.
    html = highlight("\n".join(flat) + "\n", lexer, HtmlFormatter(nowrap=True))
    out = html.split("\n")
    if len(out) < len(flat):  # pragma: no cover - defensive: a lexer that swallowed a line
        return [Markup(escapeHtml(line)) for line in lines]
    # Give each step back its own lines (a step is one line in a saved program; a draft may hold more).
    result, i = [], 0
    for line in lines:
        n = line.count("\n") + 1
        result.append(Markup("\n".join(out[i:i + n])))
        i += n
    return result


def render_code(text: str | None, language: str) -> Markup:
    """A student's program (a correction to a code solution) as one highlighted block."""
    if not text:
        return Markup("")
    body = "\n".join(highlight_lines(text.split("\n"), language))
    return Markup(f'<pre class="highlight code-block" tabindex="0"><code>{body}</code></pre>')
