"""The instructor's side of final-answer checking: answer modes, answer tests, live reading.

Answer tests are sample answers with the verdict each must get (`2.5 -> correct`,
`2.4 -> incorrect`), as in Moodle STACK: saving a problem runs them and names every one that
fails, and the course page marks a problem whose tests fail.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from sqlmodel import Session

from ..grading import answers
from ..models import Problem, User
from . import assignments
from .errors import InvalidInput
from .validation import LIMITS

MAX_ANSWER_TESTS = 30
MODE_LABELS = {
    "auto": "Automatic: numbers, expressions, equations, intervals, sets as a mathematician reads them",
    "numeric": "Numeric, within a tolerance",
    "exact": "Exact form (e.g. fractions in lowest terms, no decimals)",
    "set": "Set: order does not matter",
    "ordered": "Ordered: order matters",
    "text": "Text (case and spacing ignored)",
}
_ARROW = re.compile(r"\s*(?:->|=>|→)\s*(correct|incorrect|right|wrong|yes|no)\s*$", re.I)
_TRUE = {"correct", "right", "yes"}


@dataclass(frozen=True)
class AnswerTestResult:
    answer: str
    want_correct: bool
    verdict: str
    note: str

    @property
    def passed(self) -> bool:
        return (self.verdict == "correct") == self.want_correct

    def sentence(self) -> str:
        want = "correct" if self.want_correct else "not correct"
        return f"Answer test “{self.answer}” should be {want}, but the checker says {self.verdict}: {self.note}"


def validate_mode(mode, tolerance) -> tuple[str, Optional[str]]:
    try:
        return answers.validate_mode(None if mode is None else str(mode), tolerance)
    except ValueError as exc:
        field = "answer_tolerance" if "tolerance" in str(exc).lower() else "answer_mode"
        raise InvalidInput(str(exc), field=field)


def parse_answer_tests(value) -> list[dict]:
    """Answer tests from a bank or the API (a list of {answer, correct}) or from the problem form
    (one per line: `2.5 -> correct`); every wrong entry is named in one InvalidInput."""
    if value is None or value == "" or value == ():
        return []
    problems: list[str] = []
    tests: list[dict] = []
    if isinstance(value, str):
        for number, line in enumerate(value.replace("\r\n", "\n").split("\n"), start=1):
            if not line.strip():
                continue
            m = _ARROW.search(line)
            if not m or not line[:m.start()].strip():
                problems.append(f"Line {number}: write an answer, an arrow and the verdict, "
                                f"as in “2.5 -> correct” or “2.4 -> incorrect”.")
                continue
            tests.append({"answer": line[:m.start()].strip(), "correct": m.group(1).lower() in _TRUE})
    elif isinstance(value, (list, tuple)):
        for number, item in enumerate(value, start=1):
            if (not isinstance(item, dict) or set(item) - {"answer", "correct"}
                    or not isinstance(item.get("answer"), (str, int, float)) or isinstance(item.get("answer"), bool)
                    or not isinstance(item.get("correct"), bool)):
                problems.append(f"Test {number}: each answer test is {{\"answer\": text, \"correct\": true or false}}.")
                continue
            tests.append({"answer": str(item["answer"]).strip(), "correct": item["correct"]})
    else:
        raise InvalidInput("Answer tests are a list of {\"answer\": ..., \"correct\": true or false}.",
                           field="answer_tests")
    for number, test in enumerate(tests, start=1):
        if not test["answer"] or len(test["answer"]) > LIMITS["final_answer"]:
            problems.append(f"Test {number}: the answer must have 1 to {LIMITS['final_answer']} characters.")
    if len(tests) > MAX_ANSWER_TESTS:
        problems.append(f"At most {MAX_ANSWER_TESTS} answer tests per problem.")
    if problems:
        raise InvalidInput(" ".join(problems), field="answer_tests")
    return tests


def answer_tests_text(tests: list) -> str:
    """The tests as the problem form shows them."""
    return "\n".join(f"{t['answer']} -> {'correct' if t['correct'] else 'incorrect'}" for t in tests or [])


def run_answer_tests(reference: str, mode: str, tolerance: Optional[str], tests: list) -> list[AnswerTestResult]:
    results = []
    for test in tests or []:
        check = answers.check_answer(test["answer"], reference, mode, tolerance)
        results.append(AnswerTestResult(test["answer"], bool(test["correct"]), check.verdict, check.note))
    return results


def failing_tests(problem: Problem) -> list[AnswerTestResult]:
    return [r for r in run_answer_tests(problem.reference_answer, problem.answer_mode, problem.answer_tolerance,
                                        problem.answer_tests) if not r.passed]


def read_for_problem(problem: Problem, text) -> dict:
    """The live reading a student sees while typing; nothing about the reference is returned."""
    if text is not None and not isinstance(text, (str, int, float)) or isinstance(text, bool):
        raise InvalidInput("Send the answer as text.", field="answer")
    text = "" if text is None else str(text)
    if len(text) > LIMITS["final_answer"]:
        return {"readable": False, "read_as": "",
                "note": f"The final answer is too long ({len(text):,} characters; the limit is "
                        f"{LIMITS['final_answer']:,})."}
    reading = answers.read_answer(text, problem.reference_answer, problem.answer_mode)
    return {"readable": reading.readable, "read_as": reading.read_as, "note": reading.note}


def read_in_assignment(db: Session, actor: User, assignment_id: int, problem_id: int, text) -> dict:
    """The live reading for one problem of one assignment, for whoever may open that problem."""
    assignment, _course, _teaches = assignments.assignment_for(db, actor, assignment_id)
    problem = assignments.problem_in_assignment(db, assignment, problem_id)
    return read_for_problem(problem, text)
