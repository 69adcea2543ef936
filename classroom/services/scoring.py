"""From component scores to points.

The assignment's correction weight covers the exact final-answer check and
the written correction, split equally when the problem has a reference
answer. The Lean weight counts only for problems with a Lean statement.
Pending components count as zero in points and are listed as pending.

Also the one way numbers are written (format_points) and the words for where a submission stands
(grading_state) and what each side reads under a score, so every page and the CSV agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Iterable, Mapping, Optional

from ..grading.pipeline import REVIEW_NOTE
from ..models import (
    BY_EXACT, BY_INSTRUCTOR, BY_LEAN, BY_MODEL, GRADE_ERROR, GRADE_GRADED, GRADE_NEEDS_REVIEW, JOB_FAILED, JOB_HELD,
    JOB_RUNNING,
    Assignment, Grade, Submission,
)

LABELS = {
    "location": "First wrong step",
    "explanation": "Explanation",
    "final_answer": "Final answer",
    "correction": "Written correction",
    "lean": "Lean proof",
    "revision": "The model's revised answer",
    "teaching": "Teaching",
    "efficiency": "Fewer messages",
}
TEACH_COMPONENTS = {"revision", "teaching", "efficiency"}


def component_weights(assignment: Assignment, present: Iterable[str]) -> dict[str, float]:
    present = set(present)
    if present & TEACH_COMPONENTS:  # a teach-mode conversation (docs/teach.md)
        weights = {"revision": float(assignment.weight_revision), "teaching": float(assignment.weight_teaching)}
        if "efficiency" in present:
            weights["efficiency"] = float(assignment.weight_efficiency)
        return weights
    weights = {"location": float(assignment.weight_location), "explanation": float(assignment.weight_explanation)}
    if "final_answer" in present:
        weights["final_answer"] = assignment.weight_correction / 2
        weights["correction"] = assignment.weight_correction / 2
    elif "correction" in present or "location" not in present:
        weights["correction"] = float(assignment.weight_correction)
    # else: graded without a correction, as a correct solution is (nothing to correct): its weight
    # goes to the other components, since the fraction is taken over the weights present.
    if "lean" in present:
        weights["lean"] = float(assignment.weight_lean)
    return weights


@dataclass
class SubmissionScore:
    fraction: float  # decided part, pending counted as zero, before the late penalty
    points: float  # after the late penalty
    max_points: float
    pending: list[str] = field(default_factory=list)
    graded: bool = False  # grading job produced grades at all

    @property
    def complete(self) -> bool:
        return self.graded and not self.pending


def score_submission(assignment: Assignment, n_problems: int, submission: Optional[Submission],
                     grades: list[Grade]) -> SubmissionScore:
    if submission is None:
        return SubmissionScore(0.0, 0.0, assignment.points / max(1, n_problems), graded=True)
    return score_components(assignment, n_problems, submission.is_late, submission.late_penalty_percent,
                            {g.component: g.effective_score for g in grades})


def score_components(assignment: Assignment, n_problems: int, is_late: bool, late_penalty_percent: int,
                     effective: Mapping[str, Optional[float]]) -> SubmissionScore:
    """The score of one version from its components' effective scores (an instructor's override, else the
    machine's; None while undecided). The gradebook reads these straight from SQL, without Grade rows."""
    max_points = assignment.points / max(1, n_problems)
    if not effective:
        return SubmissionScore(0.0, 0.0, max_points, pending=["grading"], graded=False)
    weights = component_weights(assignment, effective)
    total_weight = sum(weights.values()) or 1.0
    earned = 0.0
    pending = []
    for component, weight in weights.items():
        score = effective.get(component)
        if score is None:
            if weight > 0:
                pending.append(component)
            continue
        earned += weight * score
    fraction = earned / total_weight
    penalty = late_penalty_percent / 100 if is_late else 0.0
    points = round_points(max_points * fraction * (1 - penalty))
    return SubmissionScore(fraction, points, max_points, pending=pending, graded=True)


# --------------------------------------------------------------------------- one way to write numbers

@lru_cache(maxsize=8192)  # pure, and called for every cell of a gradebook
# Both are pure functions of a float, called once per cell of a gradebook (80,000 for 2,000 students
# x 40 assignments) with few distinct values; Decimal arithmetic made them a third of the export's CPU.
@lru_cache(maxsize=65536)
def round_points(value: float) -> float:
    """Points to the hundredth, halves rounded up as a person does (9.625 -> 9.63; Python's round() would
    give 9.62). The float's shortest repr is what was meant: 10 * 0.9625 is 9.625, not 9.62499..."""
    return float(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) + 0.0


@lru_cache(maxsize=8192)  # a gradebook writes the same few values tens of thousands of times
@lru_cache(maxsize=65536)
def format_points(value: Optional[float]) -> str:
    """Points as every page and the gradebook CSV write them: whole numbers plain ("25"),
    anything with a fraction to two decimals ("11.25", "92.50")."""
    if value is None:
        return "—"
    value = round_points(value) + 0.0  # + 0.0 turns -0.0 into 0.0
    return str(int(value)) if value == int(value) else f"{value:.2f}"


def format_percent(fraction: Optional[float]) -> str:
    """A component score (a fraction in [0, 1]) as a percentage, by the same rule: "100%", "37.50%"."""
    return "—" if fraction is None else f"{format_points(fraction * 100)}%"


# --------------------------------------------------------------------------- what state a submission is in

@dataclass(frozen=True)
class GradingState:
    """Where one submission version stands, in words that are true on both sides."""
    key: str  # queued | held (instructors only) | grading | failed | needs_review | graded
    pending: int = 0  # components that wait for a person

    @property
    def label(self) -> str:
        if self.key == "needs_review":
            return f"Waiting for review ({self.pending})" if self.pending else "Waiting for review"
        return _STATE_LABELS[self.key]


def student_job_state(job_state: Optional[str]) -> str:
    """The job's state as a student may read it (API and polling): "failed" reads "needs_review", and a job
    held for the instructor's pilot of the grader model simply waits, "queued"."""
    if job_state is None:
        return "unknown"
    if job_state == JOB_HELD:
        return "queued"
    return "needs_review" if job_state == JOB_FAILED else job_state


_STATE_LABELS = {"queued": "Queued for grading", "held": "Held for the pilot", "grading": "Being graded",
                 "failed": "Grading failed", "graded": "Graded"}


def grading_state(job_state: Optional[str], score: SubmissionScore, for_student: bool = False) -> GradingState:
    """Queued, being graded, failed, waiting for review (n) or graded: from the job and the scores.

    A student never reads "failed": why grading failed is the instructor's business (the reason can
    quote the model's reply, and so the key), and for the student the work simply waits for a person."""
    if job_state == JOB_RUNNING:
        return GradingState("grading")
    if job_state == JOB_FAILED and not score.graded:
        return GradingState("needs_review") if for_student else GradingState("failed")
    if job_state == JOB_HELD and not score.graded:
        return GradingState("queued") if for_student else GradingState("held")
    if not score.graded:  # queued, or done a moment ago and its grades not visible yet
        return GradingState("queued")
    if score.pending:
        return GradingState("needs_review", len(score.pending))
    return GradingState("graded")


# --------------------------------------------------------------------------- what each side reads under a score

DECIDED_BY = {BY_EXACT: "exact check", BY_MODEL: "grader model", BY_LEAN: "Lean", BY_INSTRUCTOR: "instructor"}


def student_feedback(grade: Grade) -> str:
    """What a student reads under a component: the instructor's comment once they scored it, else the
    machine's feedback. Never the note that a component waits for review (that is the state's job, and
    it is false once someone scored it), nor why a machine could not decide (that stays with staff)."""
    if grade.override_score is not None:
        return grade.override_comment
    return grade.feedback if grade.status == GRADE_GRADED else ""


def machine_note(grade: Grade) -> str:
    """What the instructor reads about the machine's part in a component."""
    if grade.status == GRADE_GRADED and grade.score is not None:
        who = DECIDED_BY.get(grade.decided_by or "", grade.decided_by or "the machine")
        return f"{format_percent(grade.score)} by the {who}"
    if grade.status == GRADE_ERROR:
        return "could not decide"
    return "no score; a person decides"


def machine_feedback(grade: Grade) -> str:
    """The machine's own words for the instructor: feedback or the reason it could not decide, but not
    the waiting note written for students (the instructor is the one it waits for)."""
    return "" if grade.status == GRADE_NEEDS_REVIEW and grade.feedback == REVIEW_NOTE else grade.feedback
