"""Problem banks: JSON Lines files of problems with a flawed solution and its key.

The format is MR-GSM8K's (../shared/data/mr-gsm8k/problems.jsonl): one JSON object per
line with the fields in BANK_FIELDS; OPTIONAL_FIELDS may be added. `export_bank` writes
the same format, so a bank made in one course imports into another.

Importing checks every line before writing anything: a file with any bad line imports
nothing and each problem is reported as "line N: field X: what is wrong". A problem whose
id is already in the course is left as it is, so importing the same file twice adds
nothing the second time.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..content import DEFAULT_CODE_LANGUAGE, PROSE, clean_code_line, is_code, solution_format_of
from ..models import ERROR_KINDS, Course, Problem, User
from .. import strict_json
from . import answer_checks, audit, courses, problems
from .errors import Conflict, InvalidInput
from .problems import ProblemDraft
from .validation import LIMITS

# Required, in the order an export writes them.
BANK_FIELDS = ("id", "question_type", "question", "reference_solution", "reference_answer", "flawed_steps",
               "first_error_step", "error_reason")
# May be present; written by an export when they say something.
OPTIONAL_FIELDS = ("solution_format", "title", "error_kind", "flawed_final_answer", "lean_header", "lean_statement",
                   "answer_mode", "answer_tolerance", "answer_tests", "grader_notes")

# What each field means, for the in-app help page (teacher/bank_format.html) that teachers read
# instead of the README.
FIELD_HELP = {
    "id": "The problem's id in the bank: text or a number, at most 200 characters. Importing skips ids the "
          "course already has, so importing the same file twice adds nothing.",
    "question_type": "A short label kept with the problem, for example original, reversed or POT.",
    "question": "The problem statement, in Markdown with math between dollar signs.",
    "reference_solution": "The correct solution (may be empty).",
    "reference_answer": "The correct final answer, text or a number (may be empty). Students' final answers are "
                        "checked against it.",
    "flawed_steps": "The model's solution: a list of 1 to 60 steps of at most 5,000 characters each. In prose every "
                    "step has text; in a program each step is one line, and a blank line is a step like any other "
                    "(it keeps the numbering).",
    "first_error_step": "The first wrong step, counted from 1; it must be one of the steps (not a blank line). "
                        "null when the solution is correct: no step is wrong.",
    "error_reason": "Why that step is wrong: the answer key, never shown to students. For a correct solution "
                    "(first_error_step null) it may be left out or empty, or say why the solution is right, for "
                    "the instructor and the grader.",
    "solution_format": "\"prose\" (Markdown and LaTeX) or a programming language such as \"python\": the steps "
                       "are then the program's lines, shown as code with line numbers. Without it, prose; a line "
                       "with question_type \"POT\" (program of thought) is Python.",
    "title": "The problem's title. Without it, the question's first words.",
    "error_kind": "One of: " + ", ".join(ERROR_KINDS) + ". Without it, other.",
    "flawed_final_answer": "The flawed solution's final answer. Without it, taken from a last step such as "
                           "“#### 140” or “The answer is: 140”.",
    "lean_header": "An optional Lean 4 header (imports and opens).",
    "lean_statement": "An optional Lean 4 theorem statement; students then write only its proof.",
    "answer_mode": "How students' final answers are compared: auto (the default: numbers, expressions, equations, "
                   "intervals and sets as a mathematician reads them), numeric, exact, set, ordered or text.",
    "answer_tolerance": "For the numeric mode only: a number such as 0.01 (that much either way) or a "
                        "percentage such as \"2%\" (relative to the reference).",
    "answer_tests": "Sample answers with the verdict each must get, checked on import: a list such as "
                    "[{\"answer\": \"5/2\", \"correct\": true}, {\"answer\": \"2.4\", \"correct\": false}].",
    "grader_notes": "The instructor's instructions to the grader model for this problem (at most 4,000 characters), "
                    "for example “accept any explanation that names the sign error even without the corrected "
                    "value”. Never shown to students.",
}

EXAMPLE = {
    "id": "tickets-1", "question_type": "original", "title": "Field trip tickets",
    "question": "Student tickets cost \\$6 and teacher tickets \\$9. What do 28 students and 4 teachers pay?",
    "reference_solution": "Students: $28 \\times 6 = 168$. Teachers: $4 \\times 9 = 36$. Total: $204$.",
    "reference_answer": "204",
    "flawed_steps": ["The students pay $28 \\times 6 = 168$ dollars.",
                     "The teachers pay $4 \\times 9 = 32$ dollars.",
                     "Altogether they pay $168 + 32 = 200$ dollars.", "#### 200"],
    "first_error_step": 2, "error_reason": "$4 \\times 9 = 36$, not $32$.", "error_kind": "arithmetic",
}


# A solution written as a program: each line a step, the blank line too (step 2).
PROGRAM_EXAMPLE = {
    "id": "tickets-2", "question_type": "POT", "solution_format": "python", "title": "Field trip tickets, as a program",
    "question": EXAMPLE["question"], "reference_solution": EXAMPLE["reference_solution"], "reference_answer": "204",
    "flawed_steps": ["students = 28 * 6", "", "# each teacher pays 9 dollars", "teachers = 4 * 8",
                     "print(students + teachers)"],
    "first_error_step": 4, "error_reason": "Teachers pay 9 each: 4 * 9, not 4 * 8.", "error_kind": "arithmetic",
}


def example_line(example: dict = EXAMPLE) -> str:
    """One line of a bank, as a file holds it."""
    return json.dumps(example, ensure_ascii=False)


MAX_BANK_BYTES = 10 * 1024 * 1024
MAX_BANK_PROBLEMS = 5000
MAX_ERRORS_LISTED = 30
ID_LIMIT = 200
QUESTION_TYPE_LIMIT = 40
TITLE_WORDS = 8
DEFAULT_QUESTION_TYPE = "original"
# MR-GSM8K's program-of-thought items: a Python program, one line per step.
PROGRAM_QUESTION_TYPE = "POT"


class BankInvalid(InvalidInput):
    """Nothing was imported; `errors` holds one "line N: field X: ..." per problem found."""


@dataclass
class BankEntry:
    line: int
    external_id: str
    question_type: Optional[str]
    draft: ProblemDraft
    # A key still without its reason (ProcessBench) is a draft: the instructor writes the reason, then approves.
    approved: bool = True
    origin_model: Optional[str] = None  # the model that wrote the solution, when the bank says


@dataclass
class ImportResult:
    imported: int
    skipped: int  # already in the course (same id)
    total: int
    skipped_ids: list[str] = field(default_factory=list)
    drafts: int = 0  # imported with a key that waits for the instructor's reason

    def summary(self) -> str:
        text = f"imported {self.imported} problem{'' if self.imported == 1 else 's'}"
        if self.drafts:
            text += (f" ({self.drafts} of them as drafts: write why each marked step is wrong, then approve, "
                     "before they can be assigned)")
        if self.skipped:
            text += f"; {self.skipped} already in the course (same id), left as they were"
        return text


# --------------------------------------------------------------------------- parsing

def title_from(question: str) -> str:
    """The question's first words, as a title: "To make a profit of $2000, Isaias has to…"."""
    words = question.split()
    title = " ".join(words[:TITLE_WORDS])
    if len(words) > TITLE_WORDS:
        title = title.rstrip(",;:.!?") + "…"
    if len(title) > 80:
        title = title[:79].rstrip() + "…"
    return title or "Untitled problem"


_FINAL_PATTERNS = (re.compile(r"^\s*####\s*(.+?)\s*$"), re.compile(r"^\s*the answer is:?\s*(.+?)\s*\.?\s*$", re.I))


def _boxed(text: str) -> str:
    """What the last \\boxed{...} of the text holds (braces balanced), or ""."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return ""
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j].strip()
    return ""


def final_answer_from(steps: list[str]) -> str:
    """The flawed solution's final answer from its last steps ("#### 140", "The answer is: 140", or what
    ProcessBench's solutions put in \\boxed{140})."""
    for step in reversed(steps[-2:]):
        boxed = _boxed(step)
        if boxed and len(boxed) <= LIMITS["final_answer"]:
            return boxed
        for pattern in _FINAL_PATTERNS:
            m = pattern.match(step.strip())
            if m and len(m.group(1)) <= LIMITS["final_answer"]:
                return m.group(1).strip()
    return ""


class _LineProblem(Exception):
    def __init__(self, field: Optional[str], message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _text(obj: dict, name: str, limit: int, *, required: bool = True, allow_empty: bool = False,
          allow_number: bool = False) -> str:
    """A text field; `required` means present and not null, `allow_empty` lets it be ""."""
    value = obj.get(name)
    if value is None:
        if required:
            raise _LineProblem(name, "is missing" if name not in obj else "is null; it must be text")
        return ""
    if allow_number and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        kind = "a number or text" if allow_number else "text"
        raise _LineProblem(name, f"must be {kind}, not {_json_type(value)}")
    value = value.replace("\x00", "").replace("\r\n", "\n").strip()
    if required and not value and not allow_empty:
        raise _LineProblem(name, "is empty")
    if len(value) > limit:
        raise _LineProblem(name, f"is too long ({len(value):,} characters; the limit is {limit:,})")
    return value


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {dict: "an object", list: "a list", str: "text", int: "a number", float: "a number"}.get(
        type(value), "null")


def _entry(obj, line: int) -> BankEntry:
    if not isinstance(obj, dict):
        raise _LineProblem(None, f"is {_json_type(obj)}, not a JSON object with the fields {', '.join(BANK_FIELDS)}")
    for name in BANK_FIELDS:
        # A correct solution (first_error_step null) may leave its reason out.
        if name not in obj and not (name == "error_reason" and obj.get("first_error_step", 0) is None):
            raise _LineProblem(name, "is missing")
    external_id = _text(obj, "id", ID_LIMIT, allow_number=True)
    question_type = _text(obj, "question_type", QUESTION_TYPE_LIMIT)
    question = _text(obj, "question", LIMITS["statement"])
    reference_solution = _text(obj, "reference_solution", LIMITS["reference_solution"], allow_empty=True)
    reference_answer = _text(obj, "reference_answer", LIMITS["final_answer"], allow_empty=True, allow_number=True)

    solution_format = _solution_format(obj, question_type)
    clean_steps = _steps(obj["flawed_steps"], solution_format)
    first = _first_error_step(obj["first_error_step"], clean_steps)
    # A correct solution's reason is optional: why it is right, for the instructor and the grader.
    reason = _text(obj, "error_reason", LIMITS["reason"], required=first is not None)
    kind = _text(obj, "error_kind", 40, required=False) or "other"
    if kind not in ERROR_KINDS:
        raise _LineProblem("error_kind", f"{kind[:40]!r} is not one of {', '.join(ERROR_KINDS)}")
    title = _text(obj, "title", LIMITS["title"], required=False) or title_from(question)
    if "flawed_final_answer" in obj:
        flawed_final = _text(obj, "flawed_final_answer", LIMITS["final_answer"], required=False, allow_number=True)
    else:
        flawed_final = final_answer_from(clean_steps)
    tolerance = obj.get("answer_tolerance")
    if isinstance(tolerance, (int, float)) and not isinstance(tolerance, bool):
        tolerance = str(tolerance)
    elif tolerance is not None and not isinstance(tolerance, str):
        raise _LineProblem("answer_tolerance", f"must be a number or text such as \"2%\", not {_json_type(tolerance)}")
    mode = _text(obj, "answer_mode", 20, required=False) or "auto"
    try:
        mode, tolerance = answer_checks.validate_mode(mode, tolerance)
    except InvalidInput as exc:
        raise _LineProblem(exc.field, exc.message)
    if "answer_tests" in obj and not isinstance(obj["answer_tests"], list):
        raise _LineProblem("answer_tests", f"must be a list of {{answer, correct}}, not {_json_type(obj['answer_tests'])}")
    try:
        tests = answer_checks.parse_answer_tests(obj.get("answer_tests") or [])
    except InvalidInput as exc:
        raise _LineProblem("answer_tests", exc.message)
    draft = ProblemDraft(
        title=title, statement=question, reference_solution=reference_solution, reference_answer=reference_answer,
        steps=clean_steps, flawed_final_answer=flawed_final, first_wrong_step=first, reason=reason,
        error_kind=kind, lean_header=_text(obj, "lean_header", LIMITS["lean"], required=False),
        lean_statement=_text(obj, "lean_statement", LIMITS["lean"], required=False),
        solution_format=solution_format, correct=first is None,
        answer_mode=mode, answer_tolerance=tolerance, answer_tests=tests,
        grader_notes=_text(obj, "grader_notes", LIMITS["grader_notes"], required=False),
    )
    return BankEntry(line=line, external_id=external_id, question_type=question_type, draft=draft)


def _solution_format(obj: dict, question_type: str) -> str:
    value = obj.get("solution_format")
    if value is None:
        return DEFAULT_CODE_LANGUAGE if question_type.upper() == PROGRAM_QUESTION_TYPE else PROSE
    if not isinstance(value, str):
        raise _LineProblem("solution_format", f"must be text (\"prose\" or a language), not {_json_type(value)}")
    try:
        return solution_format_of(value)
    except ValueError as exc:
        raise _LineProblem("solution_format", str(exc)) from None


def _steps(steps, solution_format: str, name: str = "flawed_steps") -> list[str]:
    """The steps as stored. Prose: each step non-empty. A program: one line per step, blank lines kept as
    steps (the key's step numbers count them), so an export gives back exactly what was imported."""
    if not isinstance(steps, list):
        raise _LineProblem(name, f"must be a list of steps (text), not {_json_type(steps)}")
    if not steps:
        raise _LineProblem(name, "is empty; a flawed solution needs at least one step")
    if len(steps) > LIMITS["steps"]:
        raise _LineProblem(name, f"has {len(steps)} steps; at most {LIMITS['steps']} are allowed")
    program = is_code(solution_format)
    clean = []
    for n, step in enumerate(steps, start=1):
        if not isinstance(step, str):
            raise _LineProblem(name, f"step {n} is {_json_type(step)}, not text")
        if program:
            step = clean_code_line(step)
            if "\n" in step:
                raise _LineProblem(name, f"step {n} has more than one line; in a program "
                                                   f"({solution_format}) each line is a step")
        else:
            step = step.replace("\x00", "").replace("\r\n", "\n").strip()
            if not step:
                hint = (" (in prose every step needs text; a program's blank lines are kept when "
                        "solution_format names its language)") if name == "flawed_steps" else ""
                raise _LineProblem(name, f"step {n} is empty{hint}")
        if len(step) > LIMITS["step"]:
            raise _LineProblem(name, f"step {n} is too long ({len(step):,} characters; the limit is "
                                               f"{LIMITS['step']:,})")
        clean.append(step)
    if program and not any(line.strip() for line in clean):
        raise _LineProblem(name, "has only blank lines; a program needs at least one line of code")
    return clean


def _first_error_step(first, steps: list[str]) -> Optional[int]:
    """The key's step, or None: null means the solution is correct."""
    if first is None:
        return None
    if isinstance(first, float) and first.is_integer():
        first = int(first)
    if isinstance(first, bool) or not isinstance(first, int):
        raise _LineProblem("first_error_step", f"must be a whole number (a step number), or null for a correct "
                                               f"solution, not {_json_type(first)}")
    if not 1 <= first <= len(steps):
        raise _LineProblem("first_error_step", f"step {first} is outside the {len(steps)} steps")
    if not steps[first - 1].strip():
        raise _LineProblem("first_error_step", f"step {first} is a blank line, with nothing in it to be wrong")
    return first


def _field_near(raw: str, pos: int) -> Optional[str]:
    """The field whose value a JSON syntax error sits in (the last "name": before it)."""
    names = re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:', raw[:pos])
    return names[-1] if names else None


def _undecodable_line(raw: bytes) -> tuple[int, Optional[str], str]:
    for lineno, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = chunk.decode("utf-8", errors="replace")
            where = None
            try:
                obj = strict_json.loads(text)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                where = next((k for k, v in obj.items() if "\ufffd" in json.dumps(v, ensure_ascii=False)), None)
            if where is None:
                where = _field_near(text, exc.start)
            return lineno, where, f"is not UTF-8 text (byte 0x{chunk[exc.start]:02x} at column {exc.start + 1})"
    return 1, None, "is not UTF-8 text"  # pragma: no cover - decode failed, so some line fails


def _say(line: int, field_name: Optional[str], message: str) -> str:
    return f"line {line}: field {field_name}: {message}" if field_name else f"line {line}: {message}"


DEFAULT_FORMAT = "mr-gsm8k"
# The formats import_bank reads (export always writes the default one).
BANK_FORMATS = {DEFAULT_FORMAT: "MR-GSM8K (this app's own format)", "processbench": "ProcessBench"}


def _formats() -> dict:
    return {DEFAULT_FORMAT: (_entry, BANK_FIELDS), "processbench": (_processbench_entry, PROCESSBENCH_FIELDS)}


def parse_bank(raw: bytes | str, bank_format: str = DEFAULT_FORMAT) -> list[BankEntry]:
    """Every line checked; BankInvalid lists what is wrong, line by line, and nothing is returned."""
    formats = _formats()
    if bank_format not in formats:
        raise BankInvalid(f"Unknown bank format {str(bank_format)[:40]!r}: use one of {', '.join(formats)}.",
                          field="format")
    entry_of, fields = formats[bank_format]
    if isinstance(raw, bytes):
        if len(raw) > MAX_BANK_BYTES:
            raise BankInvalid(f"The bank is too large ({len(raw):,} bytes; the limit is {MAX_BANK_BYTES:,}). "
                              "Split it into smaller files.", field="bank")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            line, where, message = _undecodable_line(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw)
            raise BankInvalid("Nothing was imported: the bank is not UTF-8 text. Save it as UTF-8 and try again.",
                              field="bank", errors=[_say(line, where, message)]) from None
    else:
        text = raw
        if len(text.encode("utf-8", errors="replace")) > MAX_BANK_BYTES:
            raise BankInvalid(f"The bank is too large (the limit is {MAX_BANK_BYTES:,} bytes). "
                              "Split it into smaller files.", field="bank")
    errors: list[str] = []
    entries: list[BankEntry] = []
    seen: dict[str, int] = {}
    lines = text.split("\n")
    count = 0
    for lineno, raw_line in enumerate(lines, start=1):
        line = raw_line.strip()
        if not line:
            continue
        count += 1
        if count > MAX_BANK_PROBLEMS:
            errors.append(f"line {lineno}: the bank has more than {MAX_BANK_PROBLEMS:,} problems; "
                          "split it into smaller files")
            break
        try:
            obj = strict_json.loads(line)
        except strict_json.JSONRefused as refused:
            exc = refused.syntax
            if exc is not None:
                near = _field_near(line, exc.pos)
                where = f"field {near}: " if near else ""
                errors.append(f"line {lineno}: {where}not valid JSON ({exc.msg} at column {exc.colno})")
            else:  # NaN or Infinity, half a surrogate pair, a number of thousands of digits, deep nesting
                errors.append(_say(lineno, refused.field, refused.message))
            continue
        try:
            entry = entry_of(obj, lineno)
        except _LineProblem as exc:
            errors.append(_say(lineno, exc.field, exc.message))
            continue
        if entry.external_id in seen:
            errors.append(_say(lineno, "id", f"{entry.external_id!r} is also on line {seen[entry.external_id]}; "
                                             "each problem needs its own id"))
            continue
        seen[entry.external_id] = lineno
        entries.append(entry)
    if not errors and not entries:
        raise BankInvalid("Nothing was imported: the file is empty.", field="bank",
                          errors=["line 1: no problems found; a bank has one JSON object per line with the fields "
                                  + ", ".join(fields)])
    if errors:
        shown = errors[:MAX_ERRORS_LISTED]
        if len(errors) > MAX_ERRORS_LISTED:
            shown.append(f"… and {len(errors) - MAX_ERRORS_LISTED} more")
        raise BankInvalid(f"Nothing was imported: {len(errors)} line{'' if len(errors) == 1 else 's'} of the bank "
                          f"{'needs' if len(errors) == 1 else 'need'} fixing.", field="bank", errors=shown)
    return entries


# --------------------------------------------------------------------------- ProcessBench

# ProcessBench (Qwen's benchmark of step errors in math solutions): one JSON object per line.
PROCESSBENCH_FIELDS = ("id", "generator", "problem", "steps", "final_answer_correct", "label")
PROCESSBENCH_QUESTION_TYPE = "processbench"
PROCESSBENCH_HELP = {
    "id": "The item's id: text or a number, at most 200 characters (importing skips ids the course already has).",
    "generator": "The model that wrote the solution; kept as the solution's author.",
    "problem": "The problem statement (Markdown and LaTeX).",
    "steps": "The solution's steps: a list of 1 to 60 texts.",
    "final_answer_correct": "true or false: whether the solution's final answer is right.",
    "label": "The earliest wrong step counted from 0, or -1 when every step is right. -1 becomes a correct "
             "solution; any other label a flawed one whose first wrong step is label + 1.",
}


def _processbench_entry(obj, line: int) -> BankEntry:
    """A ProcessBench item as a problem. It has no reasons: a flawed solution's key waits as a draft for the
    instructor's (a correct one needs none, but is a draft too, so the instructor reads it before assigning)."""
    if not isinstance(obj, dict):
        raise _LineProblem(None, f"is {_json_type(obj)}, not a JSON object with the fields "
                                 f"{', '.join(PROCESSBENCH_FIELDS)}")
    for name in PROCESSBENCH_FIELDS:
        if name not in obj:
            raise _LineProblem(name, "is missing")
    external_id = _text(obj, "id", ID_LIMIT, allow_number=True)
    generator = _text(obj, "generator", 200, allow_empty=True)
    question = _text(obj, "problem", LIMITS["statement"])
    steps = _steps(obj["steps"], PROSE, "steps")
    if not isinstance(obj["final_answer_correct"], bool):
        raise _LineProblem("final_answer_correct", f"must be true or false, not {_json_type(obj['final_answer_correct'])}")
    label = obj["label"]
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    if isinstance(label, bool) or not isinstance(label, int):
        raise _LineProblem("label", f"must be a whole number (a step counted from 0, or -1), not {_json_type(label)}")
    if not -1 <= label < len(steps):
        raise _LineProblem("label", f"{label} is neither -1 nor one of the {len(steps)} steps (0 to {len(steps) - 1})")
    first = None if label == -1 else label + 1
    draft = ProblemDraft(
        title=title_from(question), statement=question, reference_solution="", reference_answer="",
        steps=steps, flawed_final_answer=final_answer_from(steps), first_wrong_step=first, reason="",
        correct=first is None,
    )
    return BankEntry(line=line, external_id=external_id, question_type=PROCESSBENCH_QUESTION_TYPE, draft=draft,
                     approved=False, origin_model=generator or None)


# --------------------------------------------------------------------------- import and export

def import_bank(db: Session, actor: User, course: Course, raw: bytes | str,
                bank_format: str = DEFAULT_FORMAT) -> ImportResult:
    """All or nothing: every line is checked, then every new problem is written in one transaction."""
    courses.require_instructor(db, actor, course)
    entries = parse_bank(raw, bank_format)
    existing = set(db.exec(select(Problem.external_id).where(Problem.course_id == course.id,
                                                             Problem.external_id.is_not(None))).all())
    imported = drafts = 0
    skipped_ids = []
    try:
        for entry in entries:
            if entry.external_id in existing:
                skipped_ids.append(entry.external_id)
                continue
            problems.create_problem(db, actor, course, entry.draft, origin="bank", external_id=entry.external_id,
                                    question_type=entry.question_type, commit=False, approved=entry.approved,
                                    origin_model=entry.origin_model)
            drafts += not entry.approved
            imported += 1
        audit.record(db, actor, course.id, "bank.import", f"course {course.code}",
                     {"imported": imported, "skipped": len(skipped_ids), "lines": len(entries)})
        db.commit()
    except InvalidInput as exc:  # pragma: no cover - parse_bank applies the same limits
        db.rollback()
        raise BankInvalid("Nothing was imported.", errors=[f"line {entry.line}: {exc.message}"]) from None
    except IntegrityError:
        db.rollback()
        raise Conflict("Another import into this course ran at the same time, so nothing was imported. "
                       "Run it again: problems already there are skipped.") from None
    except Exception:
        db.rollback()
        raise
    return ImportResult(imported=imported, skipped=len(skipped_ids), total=len(entries), skipped_ids=skipped_ids,
                        drafts=drafts)


def import_problem(db: Session, actor: User, course: Course, obj) -> Problem:
    """One bank line, already decoded (the API's POST of a problem): the same checks as a file's line. An id
    the course already has is refused (409) rather than skipped, so a script learns it added nothing."""
    courses.require_instructor(db, actor, course)
    try:
        entry = _entry(obj, 1)
    except _LineProblem as exc:
        where = f"Field {exc.field}: " if exc.field else "The problem "
        raise InvalidInput(f"{where}{exc.message}.", field=exc.field) from None
    existing = db.exec(select(Problem.id).where(Problem.course_id == course.id,
                                                Problem.external_id == entry.external_id)).first()
    if existing is not None:
        raise Conflict(f"A problem with the id {entry.external_id!r} is already in this course (problem {existing}); "
                       "nothing was added.", field="id")
    try:
        problem = problems.create_problem(db, actor, course, entry.draft, origin="bank",
                                          external_id=entry.external_id, question_type=entry.question_type,
                                          commit=False)
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Conflict(f"A problem with the id {entry.external_id!r} was added to this course at the same time; "
                       "nothing was added.", field="id") from None
    return problem


def bank_record(course: Course, p: Problem, solution, key) -> dict:
    """One problem as a bank line (BANK_FIELDS, then the optional fields that say something): what
    `import_bank` reads back as it is. The dataset export (services/dataset.py) writes the same."""
    record = {
        "id": p.external_id or f"{course.code}-{p.id}",
        "question_type": p.question_type or DEFAULT_QUESTION_TYPE,
        "question": p.statement,
        "reference_solution": p.reference_solution,
        "reference_answer": p.reference_answer,
        "flawed_steps": list(solution.steps),
        "first_error_step": key.first_wrong_step,  # null: a correct solution
        "error_reason": key.reason,
        "solution_format": solution.solution_format or PROSE,
        "title": p.title,
        "error_kind": key.error_kind,
        "flawed_final_answer": solution.final_answer,
    }
    if p.lean_header:
        record["lean_header"] = p.lean_header
    if p.lean_statement:
        record["lean_statement"] = p.lean_statement
    if p.answer_mode and p.answer_mode != "auto":
        record["answer_mode"] = p.answer_mode
    if p.answer_tolerance:
        record["answer_tolerance"] = p.answer_tolerance
    if p.answer_tests:
        record["answer_tests"] = list(p.answer_tests)
    if p.grader_notes:
        record["grader_notes"] = p.grader_notes
    return record


@dataclass
class ExportResult:
    text: str
    exported: int
    without_solution: list[str]  # titles of problems left out: no approved solution yet


def export_bank(db: Session, actor: User, course: Course) -> ExportResult:
    """The course's problems with their current (approved) solution and key, one JSON object per line.

    A problem from a bank keeps its id; one written in the course gets COURSECODE-<number>."""
    courses.require_instructor(db, actor, course)
    lines = []
    left_out = []
    for p in problems.problems_of(db, course.id):
        solution, key = problems.approved_solution_with_key(db, p.id)
        if solution is None:
            left_out.append(p.title)
            continue
        record = bank_record(course, p, solution, key)
        lines.append(json.dumps(record, ensure_ascii=False))
    return ExportResult(text="".join(line + "\n" for line in lines), exported=len(lines), without_solution=left_out)
