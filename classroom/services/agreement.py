"""How far to trust the grader model: its decisions beside the instructor's, per component.

A pair is one component of one counting (latest) version on which both the model and an instructor
decided: the model's score (its grade, or its suggestion where low confidence sent the component to
review) and the instructor's override or review score. Earlier versions never pair: only what counts
is measured.

Scores become verdict levels as the grader's contract has them: 1 is correct, 0 incorrect, anything
between partially correct. Cohen's kappa comes from scikit-learn (`cohen_kappa_score`, unweighted:
the levels are the grader's own categories, and a weighted kappa would hide partial-credit
disagreements that instructors want to see).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Optional

from sqlmodel import Session, select

from ..content import ERROR_KINDS
from ..models import BY_MODEL, AnswerKey, Assignment, Grade, Problem, Submission
from . import assignments as assignment_service
from . import submissions as submission_service

# The components a grader model decides (location and the final answer are exact checks).
MODEL_COMPONENTS = ("explanation", "correction")
LEVELS = ("correct", "partially_correct", "incorrect")
LEVEL_NAMES = {"correct": "Correct", "partially_correct": "Partly correct", "incorrect": "Incorrect"}


def level(score: float) -> str:
    if score >= 1.0:
        return "correct"
    if score <= 0.0:
        return "incorrect"
    return "partially_correct"


def model_score(grade: Grade) -> Optional[float]:
    """What the model decided for this component, or suggested where its low confidence sent the component
    to review; None where it did neither."""
    if grade.decided_by == BY_MODEL and grade.score is not None:
        return grade.score
    return grade.suggested_score


@dataclass(frozen=True)
class Pair:
    submission_id: int
    problem_id: int
    student_id: int
    component: str
    error_kind: str
    model_score: float
    instructor_score: float
    # How many of the instructor's worked examples the model's prompt held (0: graded before calibration).
    calibration_examples: int = 0

    @property
    def agrees(self) -> bool:
        return level(self.model_score) == level(self.instructor_score)

    @property
    def differs(self) -> bool:
        return abs(self.model_score - self.instructor_score) > 1e-9


@dataclass
class Figures:
    pairs: int
    agreement: Optional[float]
    kappa: Optional[float]
    mean_abs_diff: Optional[float]
    confusion: dict[str, dict[str, int]]  # model level -> instructor level -> count

    def as_json(self) -> dict:
        return {"pairs": self.pairs, "agreement": self.agreement, "kappa": self.kappa,
                "mean_abs_diff": self.mean_abs_diff, "confusion": self.confusion}


def figures(pairs: Iterable[Pair]) -> Figures:
    pairs = list(pairs)
    confusion = {m: {i: 0 for i in LEVELS} for m in LEVELS}
    for p in pairs:
        confusion[level(p.model_score)][level(p.instructor_score)] += 1
    if not pairs:
        return Figures(0, None, None, None, confusion)
    model = [level(p.model_score) for p in pairs]
    instructor = [level(p.instructor_score) for p in pairs]
    agreement = sum(a == b for a, b in zip(model, instructor)) / len(pairs)
    mean_abs = sum(abs(p.model_score - p.instructor_score) for p in pairs) / len(pairs)
    return Figures(len(pairs), round(agreement, 4), _kappa(model, instructor), round(mean_abs, 4), confusion)


def _kappa(model: list[str], instructor: list[str]) -> Optional[float]:
    """None where kappa is undefined: both sides used one and the same level throughout, so chance
    agreement is already 1 and there is nothing to measure against."""
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns before returning nan for the undefined case
        value = cohen_kappa_score(model, instructor, labels=list(LEVELS))
    return None if math.isnan(value) else round(float(value), 4)


def by_component(pairs: list[Pair]) -> dict[str, Figures]:
    return {c: figures(p for p in pairs if p.component == c) for c in MODEL_COMPONENTS}


@dataclass
class ProblemAgreement:
    problem: Problem
    components: dict[str, Figures]


@dataclass
class KindAgreement:
    error_kind: str
    label: str
    components: dict[str, Figures]


@dataclass
class Calibration:
    """Did the instructor's corrections help? The same figures for pairs the model graded without worked
    examples (before) and with at least one (after)."""
    before: dict[str, Figures]
    after: dict[str, Figures]

    @property
    def has_after(self) -> bool:
        return any(f.pairs for f in self.after.values())

    def change(self, component: str) -> Optional[float]:
        """After minus before, in agreement (a fraction); None until both sides have pairs."""
        b, a = self.before[component].agreement, self.after[component].agreement
        return None if a is None or b is None else round(a - b, 4)

    def as_json(self) -> dict:
        return {"before": {c: f.as_json() for c, f in self.before.items()},
                "after": {c: f.as_json() for c, f in self.after.items()}}


@dataclass
class Report:
    pairs: list[Pair]
    components: dict[str, Figures]
    problems: list[ProblemAgreement]
    error_kinds: list[KindAgreement]
    disagreements: list[Pair] = field(default_factory=list)
    calibration: Optional[Calibration] = None

    def as_json(self) -> dict:
        return {
            "components": {c: f.as_json() for c, f in self.components.items()},
            "problems": [{"problem_id": pa.problem.id, "title": pa.problem.title,
                          "components": {c: f.as_json() for c, f in pa.components.items()}}
                         for pa in self.problems],
            "error_kinds": [{"error_kind": ka.error_kind, "label": ka.label,
                             "components": {c: f.as_json() for c, f in ka.components.items()}}
                            for ka in self.error_kinds],
            "disagreements": [{"submission_id": p.submission_id, "component": p.component,
                               "model_score": p.model_score, "instructor_score": p.instructor_score}
                              for p in self.disagreements],
            "calibration": self.calibration.as_json() if self.calibration else None,
        }


def collect_pairs(db: Session, latest: list[Submission], grades_by_sub: dict[int, list[Grade]]) -> list[Pair]:
    """Pairs from the counting versions and their grades (already loaded by the caller); one query for the
    keys' error kinds, and only when there is a pair at all."""
    found = []
    for sub in latest:
        for g in grades_by_sub.get(sub.id, []):
            if g.component not in MODEL_COMPONENTS or g.override_score is None:
                continue
            machine = model_score(g)
            if machine is None:
                continue
            found.append((sub, g, machine))
    if not found:
        return []
    solution_ids = {sub.flawed_solution_id for sub, _g, _m in found}
    kinds = dict(db.exec(select(AnswerKey.flawed_solution_id, AnswerKey.error_kind)
                         .where(AnswerKey.flawed_solution_id.in_(solution_ids))).all())
    return [Pair(sub.id, sub.problem_id, sub.student_id, g.component, kinds.get(sub.flawed_solution_id, "other"),
                 machine, g.override_score, g.calibration_examples or 0)
            for sub, g, machine in found]


def build(db: Session, assignment: Assignment, problems: list[Problem], latest: list[Submission],
          grades_by_sub: dict[int, list[Grade]]) -> Report:
    """The report from what the assignment page has already loaded (the counting versions and grades)."""
    pairs = collect_pairs(db, latest, grades_by_sub)
    kinds_seen = sorted({p.error_kind for p in pairs}, key=lambda k: list(ERROR_KINDS).index(k)
                        if k in ERROR_KINDS else len(ERROR_KINDS))
    return Report(
        pairs=pairs,
        components=by_component(pairs),
        problems=[ProblemAgreement(pr, by_component([p for p in pairs if p.problem_id == pr.id])) for pr in problems],
        error_kinds=[KindAgreement(k, ERROR_KINDS.get(k, k), by_component([p for p in pairs if p.error_kind == k]))
                     for k in kinds_seen],
        disagreements=sorted((p for p in pairs if p.differs), key=lambda p: (p.submission_id, p.component)),
        calibration=Calibration(before=by_component([p for p in pairs if not p.calibration_examples]),
                                after=by_component([p for p in pairs if p.calibration_examples])),
    )


def report(db: Session, assignment: Assignment) -> Report:
    """The report for one assignment, loading what it needs (the API's way in)."""
    problems = assignment_service.problems_in(db, assignment.id)
    latest = submission_service.latest_for_assignment(db, assignment.id)
    grades_by_sub: dict[int, list[Grade]] = {}
    if latest:
        for g in db.exec(select(Grade).where(Grade.submission_id.in_([s.id for s in latest]),
                                             Grade.component.in_(MODEL_COMPONENTS))):
            grades_by_sub.setdefault(g.submission_id, []).append(g)
    return build(db, assignment, problems, latest, grades_by_sub)
