"""Student submissions: immutable versions, deadlines and late work."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..models import Assignment, Grade, GradingJob, Problem, Submission, User, utcnow
from .. import jobs
from . import assignments, courses, problems
from .errors import DeadlinePassed, ErrorCollector, Forbidden, InvalidInput, NotFound
from .validation import clean_text, parse_int


@dataclass
class CritiqueDraft:
    error_step: object
    explanation: str
    correction: str = ""
    final_answer: str = ""
    lean_proof: str = ""


def submit(db: Session, actor: User, assignment_id: int, problem_id: int, draft: CritiqueDraft,
           now: Optional[datetime] = None) -> tuple[Submission, GradingJob]:
    """Save a new version and its grading job in one transaction, then queue the job.

    This is the one place a submission's grading starts (reviews.retry is the one place it
    starts again): the job goes on the queue only after the commit, so a worker never looks
    for a row that is not there yet.
    """
    assignment, course, teaches = assignments.assignment_for(db, actor, assignment_id)
    if teaches:
        raise Forbidden("Instructors preview assignments but do not submit to them.")
    problem = assignments.problem_in_assignment(db, assignment, problem_id)
    solution = problems.current_solution(db, problem.id)
    now = now or utcnow()
    state = assignments.status(assignment, now)
    if state == "not_open":
        raise NotFound("That assignment is not open yet.")
    if state == "closed":
        raise DeadlinePassed(
            "The deadline for this assignment has passed and it does not accept late work. "
            "Your last submission before the deadline is the one that counts."
        )
    n_steps = len(solution.steps)
    check = ErrorCollector()  # every wrong field is named at once
    step = check.check(parse_int, draft.error_step, "The first wrong step", field="error_step")
    if step is not None and not 1 <= step <= n_steps:
        check.add("error_step", f"Choose a step between 1 and {n_steps}; step {step} is not in the solution.")
    explanation = check.check(clean_text, draft.explanation, "Your explanation", "explanation", field="explanation")
    correction = check.check(clean_text, draft.correction, "Your correction", "correction", required=False,
                             field="correction")
    final_answer = check.check(clean_text, draft.final_answer, "Your final answer", "final_answer", required=False,
                               field="final_answer")
    lean_proof = check.check(clean_text, draft.lean_proof, "Your Lean proof", "lean", required=False,
                             field="lean_proof")
    check.raise_any()
    late = state == "late"
    for _attempt in range(3):
        version = (db.exec(select(func.max(Submission.version)).where(
            Submission.assignment_id == assignment.id, Submission.problem_id == problem.id,
            Submission.student_id == actor.id)).one() or 0) + 1
        submission = Submission(
            assignment_id=assignment.id, problem_id=problem.id, student_id=actor.id,
            flawed_solution_id=solution.id, version=version, error_step=step, explanation=explanation,
            correction=correction, final_answer=final_answer, lean_proof=lean_proof, is_late=late,
            late_penalty_percent=assignment.late_penalty_percent if late else 0, created_at=now,
        )
        db.add(submission)
        try:
            db.flush()
            job = GradingJob(submission_id=submission.id, assignment_id=assignment.id)
            db.add(job)
            db.commit()
            jobs.enqueue_grading(job.id)
            return submission, job
        except IntegrityError:
            # Two saves raced for the same version number; take the next one.
            db.rollback()
    raise InvalidInput("Your submission could not be saved because of heavy load; please submit again.")


def versions(db: Session, assignment_id: int, problem_id: int, student_id: int) -> list[Submission]:
    q = (select(Submission).where(Submission.assignment_id == assignment_id, Submission.problem_id == problem_id,
                                  Submission.student_id == student_id).order_by(Submission.version.desc()))
    return list(db.exec(q))


def latest_for_assignment(db: Session, assignment_id: int, student_id: Optional[int] = None) -> list[Submission]:
    """The counting (latest) version of each student's answer to each problem."""
    latest = (select(Submission.assignment_id, Submission.problem_id, Submission.student_id,
                     func.max(Submission.version).label("v"))
              .where(Submission.assignment_id == assignment_id)
              .group_by(Submission.assignment_id, Submission.problem_id, Submission.student_id))
    if student_id is not None:
        latest = latest.where(Submission.student_id == student_id)
    sub = latest.subquery()
    q = select(Submission).join(sub, (Submission.assignment_id == sub.c.assignment_id)
                                & (Submission.problem_id == sub.c.problem_id)
                                & (Submission.student_id == sub.c.student_id)
                                & (Submission.version == sub.c.v))
    return list(db.exec(q))


def submission_for(db: Session, actor: User, submission_id: int) -> tuple[Submission, Assignment, bool]:
    """Its author and the course's instructors may read a submission; others get 'not found'."""
    submission = db.get(Submission, submission_id)
    if submission is None:
        raise NotFound("That submission does not exist.")
    assignment = db.get(Assignment, submission.assignment_id)
    teaches = courses.is_instructor_of(db, actor, assignment.course_id)
    if not teaches and submission.student_id != actor.id:
        raise NotFound("That submission does not exist.")
    return submission, assignment, teaches


def grades_of(db: Session, submission_id: int) -> list[Grade]:
    return list(db.exec(select(Grade).where(Grade.submission_id == submission_id).order_by(Grade.id)))


def job_of(db: Session, submission_id: int) -> Optional[GradingJob]:
    return db.exec(select(GradingJob).where(GradingJob.submission_id == submission_id)).first()


def problem_of(db: Session, submission: Submission) -> Problem:
    return db.get(Problem, submission.problem_id)
