"""Grading: exact checks, the grader model, and the pipeline that combines them.

Modules:
- answers.py   exact final-answer equivalence with SymPy
- pipeline.py  grades one submission version: exact facts first, then the model
               (when configured) or the review queue, then Lean
- model_grader.py  the OpenAI-compatible grader model (prompt, validation, retries)
- evaluation.py    `evaluate-grader`: agreement of a grader with labelled critiques
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

ANSWER_CORRECT = "correct"
ANSWER_INCORRECT = "incorrect"
ANSWER_UNREADABLE = "unreadable"
ANSWER_ABSENT = "absent"


@dataclass(frozen=True)
class AnswerCheck:
    """Result of comparing a student's final answer with the reference, exactly."""
    verdict: str  # correct | incorrect | unreadable | absent
    note: str = ""

    @property
    def score(self) -> Optional[float]:
        if self.verdict == ANSWER_CORRECT:
            return 1.0
        if self.verdict in (ANSWER_INCORRECT, ANSWER_UNREADABLE):
            return 0.0
        return None


@dataclass
class GradingInput:
    """Everything a grader needs about one submission version (plain data, no ORM)."""
    problem_statement: str
    reference_solution: str
    reference_answer: str
    steps: list[str]
    key_first_wrong_step: int
    key_reason: str
    key_error_kind: str
    student_step: int
    student_explanation: str
    student_correction: str
    student_final_answer: str
    answer_check: AnswerCheck
    submission_id: Optional[int] = None


@dataclass
class ModelVerdict:
    """A validated grader-model reply plus its provenance."""
    location_correct: bool
    explanation_verdict: str  # correct | partially_correct | incorrect
    explanation_score: float
    correction_verdict: str  # correct | partially_correct | incorrect | absent
    correction_score: float
    feedback: str
    flags: list[str] = field(default_factory=list)
    model_name: str = ""
    prompt_version: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    raw_reply: str = ""
