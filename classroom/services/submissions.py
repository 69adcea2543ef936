"""Student submissions: immutable versions, deadlines and late work."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple, Optional

from sqlalchemy import bindparam, func, insert, literal
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..models import (
    JOB_HELD, JOB_QUEUED, MODE_TEACH, ROLE_INSTRUCTOR, Assignment, AssignmentProblem, Enrollment, FlawedSolution,
    Grade, GradingJob, Problem, Submission, User, utcnow,
)
from .. import jobs
from ..content import step_choice
from . import assignments, courses
from .errors import Conflict, DeadlinePassed, ErrorCollector, Forbidden, InvalidInput, NotFound
from .hot_statements import attached_row, first
from .validation import clean_text, parse_int


class _Missing:
    """error_step not sent at all (the API's field must be present; null means "no step is wrong")."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


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
    target = _submit_target(db, actor, assignment_id, problem_id)
    if target.mode == MODE_TEACH:
        raise InvalidInput("This problem is a conversation with the model, not a critique: open it and talk "
                           "with the model instead.")
    now = now or utcnow()
    state = assignments.status(target, now)
    if state == "not_open":
        raise NotFound("That assignment is not open yet.")
    if state == "closed":
        raise DeadlinePassed(
            "The deadline for this assignment has passed and it does not accept late work. "
            "Your last submission before the deadline is the one that counts."
        )
    n_steps = len(target.steps)
    check = ErrorCollector()  # every wrong field is named at once
    if draft.error_step is MISSING:
        check.add("error_step", "Mark the first wrong step, or say that no step is wrong (error_step: null).")
        step = None
    elif step_choice(draft.error_step) is None:
        step = None  # the student says no step is wrong
    else:
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
    values = dict(assignment_id=target.assignment_id, problem_id=target.problem_id, student_id=actor.id,
                  flawed_solution_id=target.solution_id, error_step=step, explanation=explanation, correction=correction,
                  final_answer=final_answer, lean_proof=lean_proof, is_late=late,
                  late_penalty_percent=target.late_penalty_percent if late else 0, created_at=now)
    job_state = JOB_HELD if target.hold_for_pilot else JOB_QUEUED
    for attempt in range(VERSION_ATTEMPTS):
        try:
            sub_id, version, job_id = _insert(db, values, job_state)
            db.commit()
        except IntegrityError:
            # Two saves raced for the same version number; take the next one, after the other is saved.
            db.rollback()
            if attempt + 1 < VERSION_ATTEMPTS:  # no pause before the refusal
                time.sleep(random.uniform(0, FIRST_PAUSE_SECONDS * 2 ** attempt))
            continue
        # The rows are known whole (every column was sent): they join the session as loaded rows, no SELECT.
        submission = attached_row(db, Submission, dict(id=sub_id, version=version, **values))
        job = attached_row(db, GradingJob, dict(
            id=job_id, submission_id=sub_id, assignment_id=target.assignment_id, state=job_state, attempts=0,
            last_error=None, enqueued_at=now, started_at=None, finished_at=None, lease_until=None, pilot=False))
        if job.state == JOB_HELD:
            return submission, job
        jobs.enqueue_grading(job.id)
        if jobs.huey().immediate:  # the job already ran (tests, the demo): report how it ended
            db.refresh(job)
        return submission, job
    raise Conflict("Your submission could not be saved because of heavy load; please submit again.")


# A save that lost the race for its version number tries again after a short random pause, twice as
# long at most each time: a client sending several versions at once (a double click, parallel retries)
# gets them all saved in turn. (A lock held across the save would need a transaction, which the API's
# autocommit session does not have.)
VERSION_ATTEMPTS = 8
FIRST_PAUSE_SECONDS = 0.002


def _insert(db: Session, values: dict, job_state: str) -> tuple[int, int, int]:
    """Save the submission and its job: (submission id, version, job id). The version is numbered inside
    the INSERT (no read before the write) and RETURNING brings back what the database chose. On
    PostgreSQL both rows go in one statement, atomic by itself (so an autocommit session is safe: see
    db.autocommit); elsewhere two statements, which the session's transaction holds together."""
    if db.get_bind().dialect.name == "postgresql":
        # A hot statement (hot_statements.py): on PostgreSQL psycopg runs it itself.
        return first(db, _insert_submission_and_job(), {**values, "job_state": job_state,
                                                        "enqueued_at": values["created_at"]})
    sub_id, version = db.exec(_insert_submission(), params=values).one()
    job_id = db.exec(_insert_job(), params={"submission_id": sub_id, "assignment_id": values["assignment_id"],
                                            "state": job_state, "enqueued_at": values["created_at"]}).scalar_one()
    return sub_id, version, job_id


@lru_cache(maxsize=1)
def _insert_submission_and_job():
    # WITH sub AS (INSERT INTO submission ... RETURNING id, version),
    #      job AS (INSERT INTO grading_job ... SELECT FROM sub RETURNING id, submission_id)
    # SELECT sub.id, sub.version, job.id FROM sub JOIN job: one round trip, one statement.
    sub = _insert_submission().cte("sub")
    t = GradingJob.__table__
    job = (insert(t).from_select(
        ["submission_id", "assignment_id", "state", "enqueued_at", "attempts", "pilot"],
        select(sub.c.id, bindparam("assignment_id", type_=t.c.assignment_id.type),
               bindparam("job_state", type_=t.c.state.type), bindparam("enqueued_at", type_=t.c.enqueued_at.type),
               literal(0), literal(False)))
        .returning(t.c.id, t.c.submission_id).cte("job"))
    return select(sub.c.id, sub.c.version, job.c.id).select_from(sub.join(job, job.c.submission_id == sub.c.id))


@lru_cache(maxsize=1)
def _insert_submission():
    # Built once, with bound parameters: building it cost more Python time than running it.
    t = Submission.__table__
    version = (select(func.coalesce(func.max(t.c.version), 0) + 1)
               .where(t.c.assignment_id == bindparam("assignment_id"), t.c.problem_id == bindparam("problem_id"),
                      t.c.student_id == bindparam("student_id")).scalar_subquery())
    columns = ("assignment_id", "problem_id", "student_id", "flawed_solution_id", "error_step", "explanation",
               "correction", "final_answer", "lean_proof", "is_late", "late_penalty_percent", "created_at")
    return (insert(t).values({**{name: bindparam(name, type_=t.c[name].type) for name in columns}, "version": version})
            .returning(t.c.id, t.c.version))


@lru_cache(maxsize=1)
def _insert_job():
    t = GradingJob.__table__
    columns = ("submission_id", "assignment_id", "state", "enqueued_at")
    return (insert(t).values({**{name: bindparam(name, type_=t.c[name].type) for name in columns}, "attempts": 0,
                              "pilot": False})
            .returning(t.c.id))


def _target(db: Session, actor: User, assignment_id: int, problem_id: int
            ) -> tuple[Assignment, Problem, FlawedSolution]:
    """The assignment, the problem and the solution a student answers, with every access check, in one query."""
    return _target_with_mode(db, actor, assignment_id, problem_id)[:3]


def _target_with_mode(db: Session, actor: User, assignment_id: int, problem_id: int
                      ) -> tuple[Assignment, Problem, FlawedSolution, str]:
    """As `_target`, with the problem's mode in the assignment (critique or teach)."""
    row = db.exec(_target_statement(), params={"assignment_id": assignment_id, "problem_id": problem_id,
                                                "user_id": actor.id}).first()
    if row is None:
        raise NotFound("That assignment does not exist.")
    assignment, membership, problem, solution, mode = row
    _check_target(membership.role if membership else None, assignment.opens_at, problem is not None,
                  solution is not None)
    return assignment, problem, solution, mode


def _check_target(role: Optional[str], opens_at: datetime, has_problem: bool, has_solution: bool) -> None:
    if role is None:  # outsiders learn nothing, as courses.require_member says
        raise NotFound("That assignment does not exist.")
    if role == ROLE_INSTRUCTOR:
        raise Forbidden("Instructors preview assignments but do not submit to them.")
    if opens_at > utcnow():
        raise NotFound("That assignment is not open yet.")
    if not has_problem:
        raise NotFound("That problem is not part of this assignment.")
    if not has_solution:
        raise NotFound("This problem has no approved flawed solution yet.")


class SubmitTarget(NamedTuple):
    """What a submission needs of its target: one row of eleven columns rather than four whole rows."""
    assignment_id: int
    opens_at: datetime
    due_at: datetime
    allow_late: bool
    late_penalty_percent: int
    hold_for_pilot: bool
    role: Optional[str]
    problem_id: Optional[int]
    solution_id: Optional[int]
    steps: Optional[list]
    mode: Optional[str]


def _submit_target(db: Session, actor: User, assignment_id: int, problem_id: int) -> SubmitTarget:
    """The submission's `SubmitTarget`, with `_target`'s checks (a hot statement: hot_statements.py)."""
    row = first(db, _submit_target_statement(), {"assignment_id": assignment_id, "problem_id": problem_id,
                                                 "user_id": actor.id})
    if row is None:
        raise NotFound("That assignment does not exist.")
    target = SubmitTarget(*row)
    _check_target(target.role, target.opens_at, target.problem_id is not None, target.solution_id is not None)
    return target


def _target_joins(q):
    return (q.outerjoin(Enrollment, (Enrollment.course_id == Assignment.course_id)
                        & (Enrollment.user_id == bindparam("user_id")))
            .outerjoin(AssignmentProblem, (AssignmentProblem.assignment_id == Assignment.id)
                       & (AssignmentProblem.problem_id == bindparam("problem_id")))
            .outerjoin(Problem, Problem.id == AssignmentProblem.problem_id)
            .outerjoin(FlawedSolution, FlawedSolution.id == assignments.current_solution_id())
            .where(Assignment.id == bindparam("assignment_id")))


@lru_cache(maxsize=1)
def _submit_target_statement():
    # Built once, and narrow: decoding four whole rows' columns cost a tenth of a submission's time.
    # The columns come in SubmitTarget's order, which `_submit_target` reads them by.
    columns = {"assignment_id": Assignment.id, "opens_at": Assignment.opens_at, "due_at": Assignment.due_at,
               "allow_late": Assignment.allow_late, "late_penalty_percent": Assignment.late_penalty_percent,
               "hold_for_pilot": Assignment.hold_for_pilot, "role": Enrollment.role, "problem_id": Problem.id,
               "solution_id": FlawedSolution.id, "steps": FlawedSolution.steps, "mode": AssignmentProblem.mode}
    return _target_joins(select(*(columns[name].label(name) for name in SubmitTarget._fields)))


@lru_cache(maxsize=1)
def _target_statement():
    # Built once: constructing it cost more Python time than running it, on the busiest write.
    return _target_joins(select(Assignment, Enrollment, Problem, FlawedSolution, AssignmentProblem.mode))


def versions(db: Session, assignment_id: int, problem_id: int, student_id: int) -> list[Submission]:
    q = (select(Submission).where(Submission.assignment_id == assignment_id, Submission.problem_id == problem_id,
                                  Submission.student_id == student_id).order_by(Submission.version.desc()))
    return list(db.exec(q))


def latest_for_assignment(db: Session, assignment_id: int, student_id: Optional[int] = None) -> list[Submission]:
    """The counting (latest) version of each student's answer to each problem."""
    return list(db.exec(latest_for_assignment_query(assignment_id, student_id)))


def latest_for_assignment_query(assignment_id: int, student_id: Optional[int] = None):
    """The select behind latest_for_assignment, for callers that page or count it."""
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
    return q


def counting_page(db: Session, assignment_id: int, page: int, per_page: int
                  ) -> tuple[int, list[Submission], dict[int, list[Grade]], dict[int, GradingJob]]:
    """One page of the counting versions (oldest first, by id) with their grades and jobs: the total, the
    versions, grades by version and job by version, in four queries."""
    counting = latest_for_assignment_query(assignment_id).subquery()
    total = db.exec(select(func.count()).select_from(counting)).one()
    rows = list(db.exec(latest_for_assignment_query(assignment_id).order_by(Submission.id)
                        .offset((page - 1) * per_page).limit(per_page)))
    ids = [r.id for r in rows]
    grades: dict[int, list[Grade]] = {}
    jobs_by_submission: dict[int, GradingJob] = {}
    if ids:
        for g in db.exec(select(Grade).where(Grade.submission_id.in_(ids)).order_by(Grade.id)):
            grades.setdefault(g.submission_id, []).append(g)
        jobs_by_submission = {j.submission_id: j for j in db.exec(select(GradingJob)
                                                                  .where(GradingJob.submission_id.in_(ids)))}
    return total, rows, grades, jobs_by_submission


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
