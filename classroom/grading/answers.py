"""Exact final-answer equivalence with SymPy.

Accepts integers, decimals, fractions (3/4, \\frac{3}{4}, \\dfrac), thousands
separators, a leading or trailing currency sign or unit word, percent signs and
simple LaTeX wrappers ($...$, \\boxed{}). Anything else is "unreadable", with a
note the student can act on, never an exception.
"""
from __future__ import annotations

import re

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

from . import ANSWER_ABSENT, ANSWER_CORRECT, ANSWER_INCORRECT, ANSWER_UNREADABLE, AnswerCheck

MAX_ANSWER_CHARS = 200
_NAMES = {"sqrt": sympy.sqrt, "pi": sympy.pi}
_GLOBALS = {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational,
            "Symbol": sympy.Symbol, "__builtins__": {}}
_TRANSFORMS = standard_transformations + (convert_xor, implicit_multiplication_application)
_ALLOWED = re.compile(r"^[0-9a-zA-Z\s.+\-*/^()]*$")
_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_UNIT_WORDS = re.compile(r"(?<=[\d)\s])[a-zA-Z][a-zA-Z .²³/]*$")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(\D|$))")


class UnreadableAnswer(ValueError):
    pass


def normalise(text: str) -> str:
    """Strip the wrappers people put around a number; keep the mathematics."""
    s = text.strip()
    s = s.replace("\u2212", "-").replace("\u00d7", "*").replace("\u00f7", "/")
    s = re.sub(r"\\(?:boxed|text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", s)
    s = s.replace("$", "").replace("\\$", "").replace("\\!", "").replace("\\,", "")
    s = s.replace("\\left", "").replace("\\right", "").replace("\\cdot", "*").replace("\\times", "*")
    s = s.replace("\\%", "%")
    for _ in range(3):  # nested fractions, innermost first
        s = _LATEX_FRAC.sub(r"((\1)/(\2))", s)
    s = _LATEX_SQRT.sub(r"sqrt(\1)", s)
    s = s.replace("{", "(").replace("}", ")")
    s = re.sub(r"^[£€¥]|[£€¥]$", "", s.strip())
    s = re.sub(r"^(?:the answer is|answer:|answer)\s*", "", s, flags=re.I)
    s = _THOUSANDS.sub("", s)
    s = s.strip().rstrip(".")
    percent = s.endswith("%")
    if percent:
        s = s[:-1].strip()
    # A trailing unit word ("12 apples", "3.5 km", "40 dollars") is not part of the value.
    if re.search(r"\d", s):
        s = _UNIT_WORDS.sub("", s).strip()
        s = re.sub(r"^[a-zA-Z]+\s*=\s*", "", s)  # "x = 4"
    if percent:
        s = f"({s})/100"
    return s


def parse_value(text: str) -> sympy.Expr:
    s = normalise(text)
    if not s:
        raise UnreadableAnswer("The answer is empty once units and symbols are removed.")
    if not _ALLOWED.match(s) or len(s) > MAX_ANSWER_CHARS:
        raise UnreadableAnswer(
            "Could not read this answer. Write a number, a fraction such as 3/4 or \\frac{3}{4}, "
            "or a simple expression."
        )
    # Powers are evaluated eagerly, so 9^9^9^9 would never finish: allow one small power at most.
    powers = s.replace("**", "^")
    if powers.count("^") > 1 or re.search(r"\^\s*\(*\s*[-+]?\s*\d{4,}", powers):
        raise UnreadableAnswer("Could not read this answer: powers are limited to one small exponent.")
    # parse_expr evaluates Python: only numbers, operators and a few known names get through.
    unknown = set(re.findall(r"[a-zA-Z]+", s)) - set(_NAMES)
    if unknown:
        raise UnreadableAnswer("Could not read this answer as a number (it contains words or letters).")
    try:
        expr = parse_expr(s, local_dict=dict(_NAMES), global_dict=dict(_GLOBALS),
                          transformations=_TRANSFORMS, evaluate=True)
    except Exception as exc:  # SymPy raises many kinds; all mean the same thing here
        raise UnreadableAnswer(
            "Could not read this answer. Write a number, a fraction such as 3/4 or \\frac{3}{4}, "
            "or a simple expression."
        ) from exc
    if not isinstance(expr, sympy.Expr):
        raise UnreadableAnswer("Could not read this answer as a single value.")
    return expr


def equivalent(a: sympy.Expr, b: sympy.Expr) -> bool:
    try:
        diff = sympy.nsimplify(a - b) if a.is_number and b.is_number else sympy.simplify(a - b)
        if diff == 0:
            return True
        if a.is_number and b.is_number:
            return abs(complex(sympy.N(a - b, 30))) < 1e-9 * max(1.0, abs(complex(sympy.N(b))))
    except Exception:
        return False
    return False


def check_answer(student: str, reference: str) -> AnswerCheck:
    """Compare exactly; the verdict is absent when either side is missing."""
    if not reference or not reference.strip():
        return AnswerCheck(ANSWER_ABSENT, "This problem has no reference answer to check against.")
    if not student or not student.strip():
        return AnswerCheck(ANSWER_ABSENT, "No final answer was given.")
    try:
        ref_value = parse_value(reference)
    except UnreadableAnswer:
        # The reference is the instructor's; fall back to comparing the normalised text.
        same = normalise(student).replace(" ", "") == normalise(reference).replace(" ", "")
        return AnswerCheck(ANSWER_CORRECT if same else ANSWER_INCORRECT, "Compared as text.")
    try:
        value = parse_value(student)
    except UnreadableAnswer as exc:
        return AnswerCheck(ANSWER_UNREADABLE, str(exc))
    if equivalent(value, ref_value):
        return AnswerCheck(ANSWER_CORRECT, "The final answer matches the reference.")
    return AnswerCheck(ANSWER_INCORRECT, "The final answer does not match the reference.")
