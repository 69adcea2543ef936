"""What waits for a person, scoring by an instructor, and job progress."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import (
    GRADE_ERROR, GRADE_NEEDS_REVIEW, JOB_DONE, JOB_FAILED, JOB_HELD, JOB_QUEUED, JOB_RUNNING, Assignment,
    Course, Grade, GradingJob, Submission, User, utcnow,
)
from .. import jobs
from . import audit, courses, submissions
from .errors import Conflict, InvalidInput, NotFound
from .validation import clean_text

RUBRIC_LEVELS = [(1.0, "Full credit"), (0.5, "Partial credit"), (0.0, "No credit")]


@dataclass
class ReviewItem:
    grade: Grade
    submission: Submission
    student: "courses.CourseStudent"  # as the course lists them (the roster's name)
    assignment: Assignment


def review_queue(db: Session, course: Course, assignment_id: Optional[int] = None) -> list[ReviewItem]:
    """Undecided components of the counting (latest) versions, oldest first."""
    items = []
    for assignment in db.exec(select(Assignment).where(Assignment.course_id == course.id)):
        if assignment_id is not None and assignment.id != assignment_id:
            continue
        latest = {s.id: s for s in submissions.latest_for_assignment(db, assignment.id)}
        if not latest:
            continue
        grades = db.exec(select(Grade).where(Grade.submission_id.in_(list(latest)),
                                             Grade.status.in_([GRADE_NEEDS_REVIEW, GRADE_ERROR]),
                                             Grade.override_score.is_(None)))
        grades = list(grades)
        listed = courses.listed_people(db, course.id, [latest[g.submission_id].student_id for g in grades])
        for g in grades:
            sub = latest[g.submission_id]
            items.append(ReviewItem(g, sub, listed[sub.student_id], assignment))
    items.sort(key=lambda i: i.submission.created_at)
    return items


def grade_for_instructor(db: Session, actor: User, grade_id: int) -> tuple[Grade, Submission, Assignment]:
    grade = db.get(Grade, grade_id)
    if grade is None:
        raise NotFound("That grade does not exist.")
    submission = db.get(Submission, grade.submission_id)
    assignment = db.get(Assignment, submission.assignment_id)
    courses.require_instructor(db, actor, db.get(Course, assignment.course_id), "That grade does not exist.")
    return grade, submission, assignment


def set_score(db: Session, actor: User, grade_id: int, score, comment: str = "") -> Grade:
    """Review or override: the instructor's score sits beside the machine's."""
    grade, submission, assignment = grade_for_instructor(db, actor, grade_id)
    return _record(db, actor, grade, submission, assignment, percent_score(score), comment)


def percent_score(score) -> float:
    """A score as typed in a form: a percentage (or a fraction up to 1), as a fraction 0..1."""
    try:
        value = float(score)
    except (TypeError, ValueError):
        raise InvalidInput("The score must be a number between 0 and 100 (percent).", field="score")
    if value > 1.0:  # accept percentages as typed in the form
        value = value / 100
    if not 0.0 <= value <= 1.0:
        raise InvalidInput("The score must be between 0 and 100 percent.", field="score")
    return value


def score_component(db: Session, actor: User, submission_id: int, component: str, score, comment: str = "",
                    via: str = "api") -> Grade:
    """An instructor's decision on one component of one version, by name (the API's way): a review score
    where the component waits for a person, an override where a machine decided. The score is a fraction
    0..1 here, never a percentage, so a script's 1 cannot be misread as 1%."""
    submission = db.get(Submission, submission_id)
    if submission is None:
        raise NotFound("That submission does not exist.")
    assignment = db.get(Assignment, submission.assignment_id)
    courses.require_instructor(db, actor, db.get(Course, assignment.course_id))
    grade = db.exec(select(Grade).where(Grade.submission_id == submission.id, Grade.component == component)).first()
    if grade is None:
        graded = db.exec(select(Grade.component).where(Grade.submission_id == submission.id)).all()
        if not graded:
            raise Conflict("This submission has not been graded yet, so it has no components to score; "
                           "try again once its grading job is done.")
        raise NotFound(f"This submission has no component {component[:40]!r}; it has {', '.join(graded)}.",
                       field="component")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise InvalidInput("score must be a number from 0 to 1 (1 = full credit).", field="score")
    value = float(score)
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise InvalidInput(f"score must be from 0 to 1 (1 = full credit); {score!r} is outside.", field="score")
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput("comment must be text.", field="comment")
    return _record(db, actor, grade, submission, assignment, value, comment or "", via=via)


def _record(db: Session, actor: User, grade: Grade, submission: Submission, assignment: Assignment, value: float,
            comment: str, via: str = "web") -> Grade:
    apply_score(db, actor, grade, submission, assignment, value, comment, via=via)
    db.commit()
    return grade


def apply_score(db: Session, actor: User, grade: Grade, submission: Submission, assignment: Assignment,
                value: float, comment: str, via: str = "web", extra: Optional[dict] = None) -> Grade:
    """The instructor's score and its audit entry, added to the caller's transaction (not committed), so a
    group of scores commits or fails together; `extra` adds to the audit entry (a group's batch for undo)."""
    comment = clean_text(comment, "The comment", "comment", required=False, field="comment")
    before = grade.override_score
    grade.override_score = round(value, 4)
    grade.override_comment = comment
    grade.override_by_id = actor.id
    grade.override_at = utcnow()
    grade.updated_at = utcnow()
    db.add(grade)
    audit.record(db, actor, assignment.course_id, "grade.override" if grade.score is not None else "grade.review",
                 f"submission {submission.id} {grade.component}",
                 {"machine_score": grade.score, "previous_override": before, "new_score": grade.override_score,
                  "comment": comment, "student_id": submission.student_id, "via": via, **(extra or {})})
    return grade


def clear_override(db: Session, actor: User, grade_id: int) -> Grade:
    grade, submission, assignment = grade_for_instructor(db, actor, grade_id)
    before = grade.override_score
    grade.override_score = None
    grade.override_comment = ""
    grade.override_by_id = None
    grade.override_at = None
    db.add(grade)
    audit.record(db, actor, assignment.course_id, "grade.override_cleared",
                 f"submission {submission.id} {grade.component}",
                 {"previous_override": before, "machine_score": grade.score})
    db.commit()
    return grade


def job_progress(db: Session, assignment_id: int) -> dict:
    counts = dict(db.exec(select(GradingJob.state, func.count()).where(GradingJob.assignment_id == assignment_id)
                          .group_by(GradingJob.state)).all())
    return {state: counts.get(state, 0) for state in (JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_HELD)}


def progress_text(progress: dict) -> str:
    """The grading line of the assignment page (and of its polling), in one place."""
    text = (f"{progress[JOB_QUEUED]} queued, {progress[JOB_RUNNING]} running, {progress[JOB_DONE]} done, "
            f"{progress[JOB_FAILED]} failed")
    if progress.get(JOB_HELD):
        text += f", {progress[JOB_HELD]} held for the pilot"
    return text


def failed_jobs(db: Session, assignment_id: int) -> list[GradingJob]:
    return list(db.exec(select(GradingJob).where(GradingJob.assignment_id == assignment_id,
                                                 GradingJob.state == JOB_FAILED)))


def job_for_instructor(db: Session, actor: User, job_id: int) -> GradingJob:
    job = db.get(GradingJob, job_id)
    if job is None:
        raise NotFound("That grading job does not exist.")
    assignment = db.get(Assignment, job.assignment_id)
    courses.require_instructor(db, actor, db.get(Course, assignment.course_id), "That grading job does not exist.")
    return job


def retry(db: Session, actor: User, job_id: int) -> GradingJob:
    """Queue a failed job again (submissions.submit queues it the first time)."""
    job = job_for_instructor(db, actor, job_id)
    if job.state not in (JOB_FAILED,):
        raise InvalidInput("Only a failed grading job can be retried.")
    assignment = db.get(Assignment, job.assignment_id)
    audit.record(db, actor, assignment.course_id, "job.retry", f"job {job.id}", {"submission_id": job.submission_id})
    jobs.retry_job(db, job)
    return job


