"""From component scores to points.

The assignment's correction weight covers the exact final-answer check and
the written correction, split equally when the problem has a reference
answer. The Lean weight counts only for problems with a Lean statement.
Pending components count as zero in points and are listed as pending.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from ..models import Assignment, Grade, Submission

LABELS = {
    "location": "First wrong step",
    "explanation": "Explanation",
    "final_answer": "Final answer",
    "correction": "Written correction",
    "lean": "Lean proof",
}


def component_weights(assignment: Assignment, present: Iterable[str]) -> dict[str, float]:
    present = set(present)
    weights = {"location": float(assignment.weight_location), "explanation": float(assignment.weight_explanation)}
    if "final_answer" in present:
        weights["final_answer"] = assignment.weight_correction / 2
        weights["correction"] = assignment.weight_correction / 2
    else:
        weights["correction"] = float(assignment.weight_correction)
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
    max_points = assignment.points / max(1, n_problems)
    if submission is None:
        return SubmissionScore(0.0, 0.0, max_points, graded=True)
    if not grades:
        return SubmissionScore(0.0, 0.0, max_points, pending=["grading"], graded=False)
    by_component = {g.component: g for g in grades}
    weights = component_weights(assignment, by_component)
    total_weight = sum(weights.values()) or 1.0
    earned = 0.0
    pending = []
    for component, weight in weights.items():
        grade = by_component.get(component)
        if grade is None or grade.effective_score is None:
            if weight > 0:
                pending.append(component)
            continue
        earned += weight * grade.effective_score
    fraction = earned / total_weight
    penalty = submission.late_penalty_percent / 100 if submission.is_late else 0.0
    points = round(max_points * fraction * (1 - penalty), 2)
    return SubmissionScore(fraction, points, max_points, pending=pending, graded=True)
