"""Reading and comparing final answers: a classroom's front end to Math-Verify.

Math-Verify (with latex2sympy2_extended and SymPy) does the mathematics: parsing LaTeX and
plain expressions, then comparing numbers, expressions, equations, inequalities, intervals,
sets and matrices. This module adds what a classroom needs around it:

- rewriting what students type into something the library reads: currency, thousands
  separators (``1,234``, ``1 000``), mixed numbers (``2 1/2``), ``25 percent``, ``1.5e3``,
  plain names (``pi/2``, ``sqrt(8)``), unicode signs (``cm²``, ``≤``), trailing units with
  exponents (``30 cm^2``, ``30 cm$^2$``), ``or`` between solutions;
- short text answers and multiple-choice letters, compared as text;
- the instructor's answer modes: auto, numeric (with a tolerance), exact form, set,
  ordered, text;
- inequalities against intervals (``x \\le 3`` is ``(-\\infty, 3]``).

It runs inside the answer worker process (answers.py starts it), where Math-Verify's own
signal-based timeouts work because each request is handled on the main thread; the parent
kills the process if a check runs past its deadline. So this file imports nothing from the
classroom package: it is started as a plain script.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

import sympy
from sympy import Basic, FiniteSet, Interval, MatrixBase, Tuple, Union
from sympy.core.relational import Relational

MODES = ("auto", "numeric", "exact", "set", "ordered", "text")
MAX_CHARS = 300
MAX_DEPTH = 12
MAX_DIGITS = 60
MAX_EXPONENT = 1000
MAX_FACTORIAL = 500
# Math-Verify's own limits, in whole seconds (signal.alarm); the parent's deadline is the hard one.
PARSE_SECONDS = 1
VERIFY_SECONDS = 1

HINT = ("Write a number (12, 2.5, 3/4, 2 1/2, 25%), an expression such as 2\\sqrt{2} or x^2-1, "
        "an equation (y = 2x + 3), an interval ([0, 1)) or a list of solutions (3, -3).")


class Unreadable(ValueError):
    """The answer cannot be read; the message says why and what to type instead."""


@dataclass
class Reading:
    """One side read: the LaTeX given to Math-Verify, what it parsed, and what was set aside."""
    raw: str
    latex: str = ""
    parsed: list = field(default_factory=list)
    text: Optional[str] = None  # a text answer (a name, a word, a multiple-choice letter)
    unit: str = ""
    percent: bool = False

    @property
    def value(self):
        return self.parsed[0] if self.parsed else None

    def read_as(self) -> str:
        if self.text is not None:
            return "\\text{" + re.sub(r"[{}\\]", "", self.text) + "}"
        value = self.value
        if value is None:
            return ""
        shown = self.latex
        # A number is shown as the value it was read as ("2 1/2" as 5/2); anything else as the
        # LaTeX the library was given, since SymPy's own printing renames \\log to \\ln and the like.
        if isinstance(value, (sympy.Integer, sympy.Rational, sympy.Float)):
            try:
                shown = sympy.latex(value)
            except Exception:
                pass
        if self.percent and not shown.endswith("\\%"):
            shown = shown + "\\%" if re.fullmatch(r"[-\d.]+", shown) else shown
        return shown


# --------------------------------------------------------------------------- limits

_POWER = re.compile(r"\^|\*\*")


def check_limits(text: str) -> None:
    """Refuse what could exhaust time or memory before anything parses it."""
    if len(text) > MAX_CHARS:
        raise Unreadable(f"The answer is longer than {MAX_CHARS} characters; write only the final answer.")
    depth = deepest = 0
    for ch in text:
        if ch in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")}]":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise Unreadable(f"The answer is nested more than {MAX_DEPTH} levels deep; simplify it first.")
    if len(re.findall(r"\\[dt]?frac", text)) > 8:
        raise Unreadable("The answer has too many fractions inside one another; simplify it first.")
    if re.search(r"\d{%d,}" % (MAX_DIGITS + 1), text):
        raise Unreadable(f"A number in the answer has more than {MAX_DIGITS} digits.")
    # A power whose exponent holds another power (9^9^9, 9^{9^9}, 10**10**10) is a tower.
    plain = text.replace("^\\circ", "").replace("^{\\circ}", "")
    for m in _POWER.finditer(plain):
        exponent = _operand(plain, m.end())
        if _POWER.search(exponent):
            raise Unreadable("Powers of powers (towers such as 9^9^9) are not read: work the power out first.")
        digits = re.sub(r"[{}()\s+]", "", exponent)
        if re.fullmatch(r"-?\d+", digits) and abs(int(digits)) > MAX_EXPONENT:
            raise Unreadable(f"Exponents above {MAX_EXPONENT} are not read: write the value another way.")
    for m in re.finditer(r"(\d+)\s*\}?\s*\)?\s*!", text):
        if int(m.group(1)) > MAX_FACTORIAL:
            raise Unreadable(f"Factorials above {MAX_FACTORIAL}! are not read.")
    if re.search(r"\\(?:binom|choose)", text) and re.search(r"\d{4,}", text):
        raise Unreadable("Binomial coefficients of numbers that large are not read.")


def _operand(text: str, start: int) -> str:
    """The exponent that follows a ^ at `start`: a braced or bracketed group, or a plain token."""
    i = start
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] in "{(":
        close = {"{": "}", "(": ")"}[text[i]]
        depth = 0
        for j in range(i, len(text)):
            if text[j] == text[i]:
                depth += 1
            elif text[j] == close:
                depth -= 1
                if depth == 0:
                    return text[i:j + 1]
        return text[i:]
    m = re.match(r"[-+]?(?:\d+(?:\.\d+)?|\\?[A-Za-z]+)(?:\s*(?:\^|\*\*).*)?", text[i:])
    return m.group(0) if m else ""


# --------------------------------------------------------------------------- normalising

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u00d7": "\\times ", "\u00f7": "\\div ", "\u22c5": "\\cdot ",
    "\u00b7": "\\cdot ", "\u03c0": "\\pi ", "\u221e": "\\infty ", "\u2264": "\\le ", "\u2265": "\\ge ",
    "\u2260": "\\ne ", "\u00b1": "\\pm ", "\u00b0": "^\\circ ", "\u222a": "\\cup ", "\u2229": "\\cap ",
    "\u00b2": "^2", "\u00b3": "^3", "\u00b9": "^1", "\u2070": "^0", "\u2074": "^4", "\u2075": "^5",
    "\u00bd": " 1/2", "\u00bc": " 1/4", "\u00be": " 3/4", "\u2153": " 1/3", "\u2154": " 2/3",
    "\u2009": " ", "\u202f": " ", "\u00a0": " ", "\u2032": "'", "\u2019": "'",
}
_SQRT_SIGN = re.compile(r"\u221a\s*(\d+(?:\.\d+)?|[A-Za-z]|\([^()]*\))")

# Units a bare letter or two may stand for; longer words after a number are units anyway.
_UNIT_ABBREVIATIONS = {
    "m", "cm", "mm", "km", "g", "kg", "mg", "s", "ms", "h", "hr", "hrs", "min", "mins", "l", "L", "ml",
    "mL", "ft", "in", "yd", "mi", "lb", "lbs", "oz", "mph", "kph", "K", "N", "J", "W", "V", "A", "Hz",
    "kW", "kWh", "sec", "secs", "cc", "pt", "qt", "gal", "t", "d", "y", "yr", "yrs", "wk",
}
_MATH_WORDS = {
    "pi", "e", "i", "sin", "cos", "tan", "sec", "csc", "cot", "log", "ln", "exp", "sqrt", "or", "and",
    "infty", "inf", "infinity", "oo", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
}
_TEXT_MACRO = r"\\(?:text|mathrm|textrm|mbox|textbf|mathbf|textit|mathit|operatorname)\s*\{([^{}]*)\}"
_UNIT_TOKEN = (r"(?:\\(?:text|mathrm|textrm|mbox|operatorname)\s*\{\s*[A-Za-z$][A-Za-z$ .]*\}|[A-Za-z]+)"
               r"(?:\s*\^\s*(?:\{\s*-?\d\s*\}|-?\d))?")
_UNIT_TAIL = re.compile(
    r"(?P<unit>" + _UNIT_TOKEN + r"(?:\s*(?:/|\\cdot|\*|\s|\\,|per\s)\s*" + _UNIT_TOKEN + r")*)\s*\.?\s*$")
_PERCENT_WORD = re.compile(r"\s*(?:per\s*cent|percent|pct)\.?\s*$", re.I)
_CURRENCY_WORD = re.compile(r"\s*(?:dollars?|usd|euros?|eur|pounds sterling|gbp|cents?)\.?\s*$", re.I)
_LEAD = re.compile(r"^(?:the\s+)?(?:final\s+)?(?:answer|result)\s*(?:is|:|=)?\s*", re.I)
_FUNCTION_NAMES = ("arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sin", "cos", "tan", "sec",
                   "csc", "cot", "log", "ln", "exp")


def _replace_sqrt_calls(s: str) -> str:
    """sqrt(8) -> \\sqrt{8}, keeping nested parentheses together."""
    out = []
    i = 0
    for m in re.finditer(r"(?<![\\A-Za-z])sqrt\s*\(", s):
        if m.start() < i:
            continue
        depth = 0
        for j in range(m.end() - 1, len(s)):
            if s[j] == "(":
                depth += 1
            elif s[j] == ")":
                depth -= 1
                if depth == 0:
                    out.append(s[i:m.start()] + "\\sqrt{" + s[m.end():j] + "}")
                    i = j + 1
                    break
        else:
            break
    out.append(s[i:])
    return "".join(out)


def _is_plain_number(s: str) -> bool:
    """A number-like head with no letters except LaTeX commands (\\frac, \\sqrt, \\pi, ...)."""
    bare = re.sub(r"\\[A-Za-z]+", "", s)
    return bool(re.search(r"\d", s)) and not re.search(r"[A-Za-z=<>,]", bare)


def strip_unit(s: str, allow_single_letters: bool) -> tuple[str, str]:
    """Split '30 cm^2' into ('30', 'cm^2'); leave anything that is not number-then-unit alone."""
    s = re.sub(r"\s*\^\s*\{?\s*\\circ\s*\}?\s*$", "", s)  # degrees: 90^\circ
    s = re.sub(r"\s*(?:\\degree|degrees?|deg)\.?\s*$", "", s, flags=re.I)
    m = _UNIT_TAIL.search(s)
    if not m or m.start() == 0:
        return s, ""
    head, unit = s[:m.start()].rstrip(), m.group("unit").strip()
    if not head or not _is_plain_number(head) or head.endswith(("^", "_", "\\")):
        return s, ""
    words = re.findall(r"[A-Za-z]+", re.sub(r"\\(?:text|mathrm|textrm|mbox|operatorname)", "", unit))
    if any(w.lower() in _MATH_WORDS for w in words) and not all(w in _UNIT_ABBREVIATIONS for w in words):
        return s, ""
    # Short words must be known units ("5x" is a product); longer ones ("apples") are units anyway.
    if not all(w in _UNIT_ABBREVIATIONS or len(w) >= 3 for w in words):
        return s, ""
    # Beside a reference that is not a plain number, a lone letter may be a variable.
    if not allow_single_letters and any(len(w) == 1 for w in words):
        return s, ""
    return head, unit


def normalise(raw: str, *, units_anywhere: bool = False) -> tuple[str, str, bool]:
    """The LaTeX Math-Verify reads, the unit set aside, and whether the answer was a percentage."""
    s = str(raw).strip()
    for old, new in _UNICODE.items():
        s = s.replace(old, new)
    s = _SQRT_SIGN.sub(lambda m: "\\sqrt{" + m.group(1).strip("()") + "}", s)
    s = _LEAD.sub("", s).strip()
    s = re.sub(r"\\(?:boxed|fbox)\s*\{(.*)\}", r"\1", s)
    s = s.replace("\\$", "").replace("$", "")  # currency and math delimiters alike
    s = re.sub(r"\\[()\[\]]", "", s)
    s = re.sub(r"\\(?:displaystyle|left|right|big|Big|bigg|Bigg)(?![A-Za-z])", "", s)
    s = re.sub(r"\\[!,;: ]|~", " ", s)
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"^[€£¥]\s*|\s*[€£¥]$", "", s)
    s = re.sub(r"^(?:US|USD|EUR|GBP)\s+(?=[-\d.])", "", s)
    s = _CURRENCY_WORD.sub("", s)
    s = s.strip().rstrip(".").strip()
    percent = False
    if _PERCENT_WORD.search(s):
        s = _PERCENT_WORD.sub("", s) + "\\%"
    if re.search(r"(?<!\\)%\s*$", s):
        s = re.sub(r"(?<!\\)%\s*$", "\\%", s)
    if s.endswith("\\%"):
        percent = True
    # thousands: 1{,}000, 1\,000 (now "1 000"), 1 000 000, 1,234,567
    s = s.replace("{,}", ",")
    s = re.sub(r"(?<![\d.,])(\d{1,3})((?: \d{3})+)(?![\d.]|\s*/)", lambda m: m.group(1) + m.group(2).replace(" ", ""), s)
    s = re.sub(r"(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?![\d,])", lambda m: m.group(1) + m.group(2).replace(",", ""), s)
    # mixed numbers: 2 1/2, -2 1/2, 2 \frac{1}{2}
    s = re.sub(r"^(-?)(\d+)\s+(\d+)\s*/\s*(\d+)(?=\s*(?:\\%)?$|\s+[A-Za-z\\])",
               lambda m: f"{m.group(1)}\\frac{{{int(m.group(2)) * int(m.group(4)) + int(m.group(3))}}}{{{m.group(4)}}}", s)
    s = re.sub(r"^(-?)(\d+)\s*\\frac\s*\{(\d+)\}\s*\{(\d+)\}(?=\s*(?:\\%)?$|\s+[A-Za-z\\])",
               lambda m: f"{m.group(1)}\\frac{{{int(m.group(2)) * int(m.group(4)) + int(m.group(3))}}}{{{m.group(4)}}}", s)
    # scientific notation typed as 1.5e3 or 1.5E-3
    s = re.sub(r"(?<![A-Za-z\\])(\d+(?:\.\d*)?|\.\d+)[eE]([-+]?\d+)(?![\d.A-Za-z])", r"(\1\\times 10^{\2})", s)
    s = re.sub(r"(?<=\d)\s*(?:x|\*)\s*10\s*\^", r" \\times 10^", s)
    # plain-text names a student types for LaTeX commands
    s = _replace_sqrt_calls(s)
    s = re.sub(r"(?<![\\A-Za-z])(?:infinity|inf|oo)(?![A-Za-z])", r"\\infty ", s)
    s = re.sub(r"(?<![\\A-Za-z])pi(?![A-Za-z])", r"\\pi ", s)
    for name in _FUNCTION_NAMES:
        s = re.sub(r"(?<![\\A-Za-z])" + name + r"(?=\s*[(\d{^_ ])", "\\\\" + name, s)
    s = s.replace("**", "^").replace(">=", "\\ge ").replace("<=", "\\le ").replace("!=", "\\ne ")
    s = re.sub(r"\+\s*/?\s*-|\+-", "\\\\pm ", s)
    s = re.sub(r"\\text\s*\{\s*(?:or|and)\s*\}", " or ", s)
    s = re.sub(r"\s+(?:or|and)\s+|\s*;\s*", ", ", s, flags=re.I)
    s = re.sub(r"\s+", " ", s).strip()
    unit = ""
    if not percent:
        s, unit = strip_unit(s, units_anywhere)
    return s, unit, percent


# --------------------------------------------------------------------------- text answers

_CHOICE = re.compile(r"^\(?\s*(?:option|choice)?\s*\(?([A-Ea-e])\s*[).:]?$", re.I)


def text_answer(raw: str) -> Optional[str]:
    """The answer as text when it is a word or words rather than mathematics, else None."""
    s = re.sub(_TEXT_MACRO, r"\1", str(raw)).replace("$", "").strip().strip(".").strip()
    choice = _CHOICE.match(s)
    if choice and (s.upper() == s or "(" in s or ")" in s or s.lower().startswith(("option", "choice"))):
        return choice.group(1).upper()
    words = re.findall(r"[A-Za-z]+", s)
    if not words or re.search(r"[\d=<>^_\\+*/{}\[\]]", s):
        return None
    if all(len(w) <= 2 or w.lower() in _MATH_WORDS or w in _UNIT_ABBREVIATIONS for w in words):
        return None
    return " ".join(w.casefold() for w in re.findall(r"[A-Za-z0-9']+", s))


def _text_of(raw: str) -> str:
    s = re.sub(_TEXT_MACRO, r"\1", str(raw)).replace("$", "")
    choice = _CHOICE.match(s.strip().strip("."))
    if choice:
        return choice.group(1).upper()
    return " ".join(w.casefold() for w in re.findall(r"[^\W_]+", s))


# --------------------------------------------------------------------------- parsing

def _mv():
    import math_verify  # deferred: a second or so to import, paid once per worker
    return math_verify


def read(raw: str, *, numeric_reference: bool = True, is_reference: bool = False) -> Reading:
    """Read one answer. Raises Unreadable with a note a student can act on."""
    return _read(str(raw), numeric_reference, is_reference)


@functools.lru_cache(maxsize=1024)  # one reference is read for every student's answer to it
def _read(raw: str, numeric_reference: bool, is_reference: bool) -> Reading:
    if "\x00" in raw or any(0xD800 <= ord(c) <= 0xDFFF for c in raw):
        raise Unreadable("The answer contains characters that are not text.")
    check_limits(raw)
    text = text_answer(raw)
    if text is not None:
        return Reading(raw=raw, text=text)
    latex, unit, percent = normalise(raw, units_anywhere=numeric_reference)
    if not latex or latex in ("\\%",):
        raise Unreadable("The answer is empty once units and symbols are set aside. " + HINT)
    check_limits(latex)
    if not is_reference and _has_words(latex):
        raise Unreadable("Could not read this answer: it has words in it. " + HINT)
    plain = _plain_number(latex)
    if plain is not None:  # most answers are plain numbers: no need for the LaTeX parser
        return Reading(raw=raw, latex=latex, parsed=[plain, latex], unit=unit, percent=percent)
    mv = _mv()
    configs = [mv.LatexExtractionConfig(boxed_match_priority=0)]
    try:
        parsed = mv.parse(f"${latex}$", extraction_config=configs, parsing_timeout=PARSE_SECONDS,
                          raise_on_error=False)
    except Exception:
        parsed = []
    parsed = [p for p in parsed if isinstance(p, (Basic, MatrixBase))]
    if not parsed:
        raise Unreadable("Could not read this answer. " + HINT)
    value = parsed[0]
    if isinstance(value, Basic) and value.has(sympy.zoo, sympy.nan):
        raise Unreadable("The answer divides by zero or has no value.")
    return Reading(raw=raw, latex=latex, parsed=parsed, unit=unit, percent=percent)


def _plain_number(latex: str):
    """An integer, decimal or a/b as SymPy would read it, or None for anything else."""
    if re.fullmatch(r"[-+]?\d+", latex):
        return sympy.Integer(latex)
    if re.fullmatch(r"[-+]?(?:\d+\.\d*|\.\d+)", latex):
        return sympy.Float(latex.rstrip(".") if not latex.endswith(".") else latex + "0")
    m = re.fullmatch(r"([-+]?\d+)\s*/\s*(\d+)", latex)
    if m and int(m.group(2)) != 0:
        return sympy.Rational(int(m.group(1)), int(m.group(2)))
    return None


def _has_words(latex: str) -> bool:
    """Words outside \\text{} are not mathematics: eval('1+1') is not e*v*a*l*2."""
    bare = re.sub(r"\\(?:begin|end)\s*\{[a-z*]+\}", "", re.sub(_TEXT_MACRO, "", latex))
    words = [w for w in re.findall(r"(?<![\\A-Za-z])[A-Za-z]{3,}", bare) if w.lower() not in _MATH_WORDS]
    return bool(words)


# --------------------------------------------------------------------------- comparing

def _numeric(value) -> Optional[complex]:
    try:
        if isinstance(value, Basic) and value.is_number:
            return complex(sympy.N(value, 30))
    except Exception:
        return None
    return None


def _mv_equal(gold, answer) -> bool:
    mv = _mv()
    try:
        return bool(mv.verify(gold, answer, timeout_seconds=VERIFY_SECONDS))
    except Exception:
        return False


def _as_solution_set(value):
    """An equation, inequality or list of them in one variable as the set of its solutions."""
    try:
        if isinstance(value, (Relational, sympy.And, sympy.Or)) and len(value.free_symbols) == 1:
            return value.as_set()
        if isinstance(value, (Interval, Union)):
            return value
        if isinstance(value, FiniteSet):
            if all(isinstance(item, (Relational, sympy.And, sympy.Or)) for item in value):
                return Union(*[item.as_set() for item in value])  # x < 0 or x > 1
            items = []
            for item in value:
                if isinstance(item, sympy.Eq) and isinstance(item.lhs, sympy.Symbol):
                    items.append(item.rhs)
                elif isinstance(item, Basic) and item.is_number:
                    items.append(item)
                else:
                    return None
            return FiniteSet(*items)
    except Exception:
        return None
    return None


def equal(reference: Reading, answer: Reading) -> bool:
    if reference.text is not None or answer.text is not None:
        return reference.text is not None and answer.text is not None and reference.text == answer.text
    if _mv_equal(reference.parsed, answer.parsed):
        return True
    gold, given = reference.value, answer.value
    # x <= 3 against (-oo, 3]; "x = 3, x = -3" against {3, -3}
    left, right = _as_solution_set(gold), _as_solution_set(given)
    if left is not None and right is not None:
        try:
            if left == right or sympy.simplify(left.symmetric_difference(right)) == sympy.S.EmptySet:
                return True
        except Exception:
            pass
    # "25" against "25%": a teacher accepts the number the percentage names
    if reference.percent and not answer.percent:
        g, a = _numeric(gold), _numeric(given)
        if g is not None and a is not None and abs(g - a) <= 1e-9 * max(1.0, abs(g)):
            return True
    return False


def _elements(reading: Reading, ordered: bool) -> list:
    value = reading.value
    if ordered:
        if isinstance(value, (Tuple, list)):
            return list(value)
        if isinstance(value, Interval):
            # "(1, 2)" reads as an open interval; in ordered mode it is the pair
            return [value.start, value.end]
        if isinstance(value, MatrixBase) and 1 in value.shape:
            return list(value)
        parts = _split_top_level(reading.latex)
        if len(parts) > 1:
            return [read(p, is_reference=True).value for p in parts]
        return [value]
    if isinstance(value, FiniteSet):
        return [e.rhs if isinstance(e, sympy.Eq) else e for e in value]
    if isinstance(value, (Tuple, list)):
        return list(value)
    if isinstance(value, Interval):
        return [value.start, value.end]
    if isinstance(value, sympy.Eq) and isinstance(value.lhs, sympy.Symbol):
        return [value.rhs]
    return [value]


def _split_top_level(latex: str) -> list[str]:
    s = latex.strip()
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        s = s[1:-1]
    parts, depth, current = [], 0, ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _same(a, b) -> bool:
    return _mv_equal([a], [b])


def equal_as_sets(reference: Reading, answer: Reading) -> bool:
    want, got = _elements(reference, False), _elements(answer, False)
    return all(any(_same(w, g) for g in got) for w in want) and all(any(_same(w, g) for w in want) for g in got)


def equal_in_order(reference: Reading, answer: Reading) -> bool:
    want, got = _elements(reference, True), _elements(answer, True)
    return len(want) == len(got) and all(_same(w, g) for w, g in zip(want, got))


def parse_tolerance(tolerance) -> tuple[float, float]:
    """(absolute, relative) from a number (absolute) or a text ending in % (relative)."""
    if tolerance is None or tolerance == "":
        return 0.0, 1e-9
    text = str(tolerance).strip()
    try:
        if text.endswith("%"):
            rel = float(text[:-1]) / 100
            if not (math.isfinite(rel) and rel >= 0):
                raise ValueError
            return 0.0, rel
        absolute = float(text)
        if not (math.isfinite(absolute) and absolute >= 0):
            raise ValueError
        return absolute, 1e-9
    except ValueError:
        raise ValueError(f"The tolerance {text!r} is not a number such as 0.01 or a percentage such as 2%.")


def equal_numerically(reference: Reading, answer: Reading, tolerance) -> bool:
    absolute, relative = parse_tolerance(tolerance)
    g, a = _numeric(reference.value), _numeric(answer.value)
    if g is None or a is None:
        raise Unreadable("This problem wants a number; the answer does not evaluate to one.")
    if reference.percent and not answer.percent and abs(a - g) > abs(a / 100 - g):
        a = a / 100  # "25" against "25%" in numeric mode means 25 %
    return abs(a - g) <= max(absolute, relative * abs(g))


def in_exact_form(answer: Reading, reference: Reading) -> Optional[str]:
    """Why the student's form is not the exact form asked for, or None when it is."""
    latex = answer.latex
    if re.search(r"\d\.\d|\.\d", latex) and not re.search(r"\d\.\d|\.\d", reference.latex):
        return "The exact form is asked for: write a fraction or a surd, not a decimal."
    for num, den in re.findall(r"\\frac\s*\{\s*(-?\d+)\s*\}\s*\{\s*(\d+)\s*\}", latex) + \
            re.findall(r"(?<![\d.])(-?\d+)\s*/\s*(\d+)(?![\d.])", latex):
        if int(den) == 0 or math.gcd(int(num), int(den)) != 1 or int(den) == 1:
            return "The exact form is asked for: write the fraction in lowest terms."
    for radicand in re.findall(r"\\sqrt\s*\{\s*(\d+)\s*\}", latex):
        n = int(radicand)
        if any(n % (k * k) == 0 for k in range(2, math.isqrt(n) + 1)):
            return "The exact form is asked for: take square factors out of the root (\\sqrt{8} is 2\\sqrt{2})."
    operations = len(re.findall(r"[-+*/]|\\times|\\cdot|\\div", latex.lstrip("-")))
    reference_ops = len(re.findall(r"[-+*/]|\\times|\\cdot|\\div", reference.latex.lstrip("-")))
    if operations > reference_ops and answer.value is not None and getattr(answer.value, "is_number", False):
        return "The exact form is asked for: work the arithmetic out."
    return None


@dataclass
class Outcome:
    verdict: str  # correct | incorrect | unreadable | absent
    note: str
    read_as: str = ""

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "read_as": self.read_as, "note": self.note}


def _reference_is_numeric(reference: str) -> bool:
    try:
        latex, _unit, _pct = normalise(reference, units_anywhere=True)
    except Exception:
        return False
    return _is_plain_number(latex) or bool(re.fullmatch(r"-?[\d.]+", latex))


def compare(reference: str, answer: str, mode: str = "auto", tolerance=None) -> Outcome:
    reference = "" if reference is None else str(reference)
    answer = "" if answer is None else str(answer)
    if mode not in MODES:
        raise ValueError(f"Unknown answer mode {mode!r}: choose one of {', '.join(MODES)}.")
    if not reference.strip():
        return Outcome("absent", "This problem has no reference answer to check against.")
    if not answer.strip():
        return Outcome("absent", "No final answer was given.")
    if mode == "text":
        same = _text_of(reference) == _text_of(answer)
        shown = "\\text{" + re.sub(r"[{}\\$]", "", _text_of(answer)) + "}"
        return Outcome("correct" if same else "incorrect",
                       "The answer matches the reference text." if same else "The answer is not the reference text.",
                       shown)
    letter = text_answer(reference)
    if letter is not None and len(letter) == 1:  # a multiple-choice letter: "b", "(B)", "option B" name B
        same = _text_of(answer) == letter
        return Outcome("correct" if same else "incorrect",
                       "The answer names the right choice." if same else "The answer names another choice.",
                       "\\text{" + re.sub(r"[{}\\$]", "", _text_of(answer)) + "}")
    numeric_reference = _reference_is_numeric(reference)
    try:
        ref = read(reference, numeric_reference=True, is_reference=True)
    except Unreadable:
        # The instructor's reference is not mathematics we can read: compare it as text.
        same = _text_of(reference) == _text_of(answer)
        return Outcome("correct" if same else "incorrect", "Compared as text with the reference.",
                       "\\text{" + re.sub(r"[{}\\$]", "", _text_of(answer)) + "}")
    try:
        got = read(answer, numeric_reference=numeric_reference or bool(ref.unit))
    except Unreadable as exc:
        if ref.text is not None:
            return Outcome("incorrect", "The answer is not the reference text.")
        return Outcome("unreadable", str(exc))
    shown = got.read_as()
    if got.text is not None and ref.text is None:
        return Outcome("unreadable", "Could not read this answer: it reads as words, but the problem wants mathematics: "
                                     "write it with digits and symbols (12, not twelve).", shown)
    started = time.monotonic()
    try:
        if mode == "numeric":
            ok = equal_numerically(ref, got, tolerance)
        elif mode == "set":
            ok = equal_as_sets(ref, got)
        elif mode == "ordered":
            ok = equal_in_order(ref, got)
        else:
            ok = equal(ref, got)
    except Unreadable as exc:
        return Outcome("unreadable", str(exc), shown)
    if ok and mode == "exact":
        why = in_exact_form(got, ref)
        if why:
            return Outcome("incorrect", why, shown)
    if ok:
        note = "The final answer matches the reference."
        if got.unit:
            note += f" (The unit {got.unit} was set aside.)"
        return Outcome("correct", note, shown)
    if time.monotonic() - started >= VERIFY_SECONDS * 0.95:
        return Outcome("incorrect", f"Comparing this answer with the reference was stopped after {VERIFY_SECONDS} s, "
                                    "so it counts as not matching. Simplify it and try again.", shown)
    return Outcome("incorrect", "The final answer does not match the reference.", shown)


def read_only(answer: str, reference: str = "", mode: str = "auto") -> Outcome:
    """How an answer is read, for the student's live preview. The reference only tells what
    kind of answer is wanted (words or mathematics); nothing about it is returned."""
    if not answer or not str(answer).strip():
        return Outcome("absent", "Type your final answer to see how it is read.")
    wants_text = mode == "text" or (bool(str(reference or "").strip()) and text_answer(reference) is not None)
    if wants_text:
        return Outcome("readable", "Read as text.", "\\text{" + re.sub(r"[{}\\$]", "", _text_of(answer)) + "}")
    try:
        got = read(answer, numeric_reference=not reference or _reference_is_numeric(reference))
    except Unreadable as exc:
        return Outcome("unreadable", str(exc))
    if got.text is not None and str(reference or "").strip():
        return Outcome("unreadable", "Could not read this answer: it reads as words, but the problem wants mathematics: "
                                     "write it with digits and symbols (12, not twelve).")
    note = f"Read as {got.read_as()}" if got.text is None else "Read as text"
    if got.unit:
        note += f"; the unit {got.unit} is set aside"
    return Outcome("readable", note + ".", got.read_as())


# --------------------------------------------------------------------------- the worker

def _limit_memory(megabytes: int) -> None:
    try:
        import resource
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except Exception:  # not every platform lets a process lower its own limit
        pass


def handle(request: dict) -> dict:
    try:
        if request.get("op") == "read":
            return read_only(request.get("answer", ""), request.get("reference", ""),
                             request.get("mode") or "auto").as_dict()
        outcome = compare(request.get("reference", ""), request.get("answer", ""),
                          request.get("mode") or "auto", request.get("tolerance"))
        return outcome.as_dict()
    except MemoryError:
        return {"verdict": "unreadable", "read_as": "", "note": "The answer needs too much memory to check."}
    except ValueError as exc:
        return {"verdict": "error", "read_as": "", "note": str(exc)}
    except Exception:
        return {"verdict": "unreadable", "read_as": "", "note": "Could not read this answer. " + HINT}


def main() -> None:
    """Serve requests, one JSON object a line on stdin, one reply a line on stdout."""
    logging.disable(logging.WARNING)  # Math-Verify logs every timeout; the reply says it instead
    memory = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    _mv()
    # The LaTeX parser is slow on its first inputs while it builds its tables: pay that now, so a
    # student's first answer is not the one that runs into the deadline.
    for reference, answer in (("1500", "1.5e3"), ("x^2+2x+1", "(x+1)^2"), ("(-\\infty, 3]", "x \\le 3"),
                              ("3, -3", "\\pm 3"), ("y=2x+3", "2x+4y-3=0"), ("\\frac{\\pi}{2}", "\\sqrt{8}")):
        handle({"reference": reference, "answer": answer})
    _limit_memory(memory)
    sys.set_int_max_str_digits(10000)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            request = {}
        out.write(json.dumps(handle(request)) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
