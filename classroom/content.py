"""Plain facts about course content that every layer shares: field limits, kinds of error,
step numbers. No Flask, no database, no imports from the rest of the package, so services,
grading and the model clients (llm/) can all use it without depending on each other.
"""
from __future__ import annotations

import re
from typing import Optional

# Sizes a person would never need to exceed; larger input is refused with a message.
LIMITS = {
    "title": 200,
    "name": 120,
    "email": 254,
    "course_code": 20,
    "statement": 20_000,
    "reference_solution": 20_000,
    "step": 5_000,
    "steps": 60,
    "reason": 5_000,
    "explanation": 10_000,
    "correction": 10_000,
    "final_answer": 200,
    "lean": 20_000,
    "comment": 5_000,
    "message": 4_000,
    "instructions": 10_000,
    "grader_notes": 4_000,
    "password": 200,
}

# WTForms message for the same limits, so a form and a service say the same thing.
TOO_LONG = "Too long: at most %(max)d characters."

# The kinds of error an answer key names (stored as the key; the label is shown).
ERROR_KINDS = {
    "arithmetic": "Arithmetic slip",
    "sign": "Sign error",
    "wrong_formula": "Wrong formula or theorem",
    "logical_gap": "Unjustified step or logical gap",
    "missed_case": "Missed case",
    "misread": "Misread the question",
    "unit": "Unit error",
    "circular": "Circular reasoning",
    "off_by_one": "Off-by-one",
    "other": "Other",
}

# A step number at the start of a line: "1." "1)" "(1)" "Step 1:" "Step 1." "Step 1 -" "**Step 1:**".
_NUMBERED = re.compile(
    r"^\s*(?:[*_]{2})?\s*(?:"
    r"step\s+(?P<a>\d{1,3})\s*(?:[:.)\-–—]|(?=\s*[*_]{2}))"
    r"|\((?P<b>\d{1,3})\)"
    r"|(?P<c>\d{1,3})[.)](?!\d)"
    r")\s*(?:[*_]{2}(?:\s|$))?\s*",
    re.IGNORECASE,
)


def step_marker(line: str) -> Optional[tuple[int, str]]:
    """(number, the line without its marker) when the line starts with a step number."""
    m = _NUMBERED.match(line)
    if not m:
        return None
    number = int(m.group("a") or m.group("b") or m.group("c"))
    return number, line[m.end():]


def strip_step_number(text: str) -> str:
    """'Step 3: x = 2' -> 'x = 2'; text without a leading step number is returned as it is."""
    found = step_marker(text)
    return found[1].strip() if found and found[1].strip() else text.strip()


# The critique form's value for "No step is wrong" (the API says "error_step": null).
NO_STEP = "none"


def step_choice(value) -> Optional[int]:
    """None for "no step is wrong" (null, "none"), else the value as given for parse_int to judge."""
    if value is None or (isinstance(value, str) and value.strip().lower() in (NO_STEP, "null")):
        return None
    return value


# --------------------------------------------------------------------------- solution formats

# A flawed solution is prose (Markdown + LaTeX, one step per box) or a program in a language, one line per step.
PROSE = "prose"
DEFAULT_CODE_LANGUAGE = "python"
# Offered by the problem form; a bank may name any language Pygments knows (see solution_format_of).
CODE_LANGUAGES = {
    "python": "Python", "javascript": "JavaScript", "java": "Java", "c": "C", "cpp": "C++", "r": "R",
    "julia": "Julia", "matlab": "MATLAB", "haskell": "Haskell", "lean4": "Lean 4", "sql": "SQL",
}
FORMAT_LIMIT = 40


def is_code(solution_format: Optional[str]) -> bool:
    return bool(solution_format) and solution_format != PROSE


def solution_format_of(value) -> str:
    """'prose' or a programming language's name, lower case; ValueError says what is accepted."""
    name = ("" if value is None else str(value)).strip().lower()
    if name in ("", PROSE):
        return PROSE
    if name in CODE_LANGUAGES:
        return name
    from pygments.lexers import find_lexer_class_by_name
    from pygments.util import ClassNotFound

    try:
        if len(name) <= FORMAT_LIMIT:
            # The lexer's own first name, so "py" and "python" are stored alike.
            return find_lexer_class_by_name(name).aliases[0]
    except ClassNotFound:
        pass
    raise ValueError(f"{str(value)[:FORMAT_LIMIT]!r} is neither \"prose\" nor a programming language we know "
                     f"(for example {', '.join(CODE_LANGUAGES)})")


def format_label(solution_format: Optional[str]) -> str:
    if not is_code(solution_format):
        return "Prose"
    return CODE_LANGUAGES.get(solution_format, solution_format) + " program"


def clean_code_line(text: str) -> str:
    """A program's line as stored: no NUL, no trailing blanks or carriage return; indentation kept."""
    return text.replace("\x00", "").replace("\r\n", "\n").rstrip()
