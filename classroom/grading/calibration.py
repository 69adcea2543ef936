"""Calibration from corrections: an instructor's decision on a component the grader model decided (an
override) or suggested (low confidence sent it to review) becomes a worked example for that problem.
Later gradings of the problem show the model the most recent few (GRADER_CALIBRATION_EXAMPLES).

Only the same problem's examples are used: a verdict on another problem's critique says nothing about
what counts as naming this problem's error.
"""
from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, select

from ..llm.grader import CalibrationExample
from ..models import BY_MODEL, Grade, Submission

MODEL_COMPONENTS = ("explanation", "correction")


def examples_for(db: Session, problem_id: int, limit: int, exclude_submission_id: int | None = None
                 ) -> list[CalibrationExample]:
    """Up to `limit` of the instructor's most recent decisions on the model's work for this problem."""
    if limit <= 0:
        return []
    query = (select(Grade, Submission).join(Submission, Submission.id == Grade.submission_id)
             .where(Submission.problem_id == problem_id, Grade.component.in_(MODEL_COMPONENTS),
                    Grade.override_score.is_not(None),
                    or_(Grade.decided_by == BY_MODEL, Grade.suggested_score.is_not(None)))
             .order_by(Grade.override_at.desc(), Grade.id.desc()).limit(limit))
    if exclude_submission_id is not None:
        query = query.where(Submission.id != exclude_submission_id)
    return [CalibrationExample(component=g.component, student_step=sub.error_step,
                               student_explanation=sub.explanation, student_correction=sub.correction,
                               student_final_answer=sub.final_answer, instructor_score=g.override_score,
                               instructor_comment=g.override_comment or "")
            for g, sub in db.exec(query)]
