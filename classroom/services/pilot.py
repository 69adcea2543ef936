"""Pilot first: an assignment held for the pilot keeps its grading jobs off the queue ("held") until the
instructor grades a random sample with the grader model, checks those grades (overriding where the model
was wrong, which also teaches it: grading/calibration.py), and then grades the rest.

Only counting (latest) versions are sampled: an earlier version no longer counts, so grading it first
would tell the instructor nothing. "Grade the rest" queues every held job, earlier versions included, and
ends the hold, so later submissions are graded as they come.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import Session, select

from .. import jobs
from ..models import JOB_DONE, JOB_FAILED, JOB_HELD, JOB_QUEUED, Assignment, GradingJob, User, utcnow
from . import audit, submissions
from .errors import InvalidInput

DEFAULT_SAMPLE = 10
MAX_SAMPLE = 500


@dataclass
class PilotProgress:
    held: int  # jobs still waiting for the pilot or for "grade the rest"
    sampled: int  # jobs the pilot started
    sampled_done: int  # of those, finished (done or failed)

    @property
    def running(self) -> bool:
        return self.sampled_done < self.sampled

    def as_json(self) -> dict:
        return {"held": self.held, "pilot": self.sampled, "pilot_finished": self.sampled_done}


def progress(db: Session, assignment_id: int) -> PilotProgress:
    rows = db.exec(select(GradingJob.pilot, GradingJob.state, func.count())
                   .where(GradingJob.assignment_id == assignment_id)
                   .group_by(GradingJob.pilot, GradingJob.state)).all()
    held = sum(n for _pilot, state, n in rows if state == JOB_HELD)
    sampled = sum(n for pilot, _state, n in rows if pilot)
    finished = sum(n for pilot, state, n in rows if pilot and state in (JOB_DONE, JOB_FAILED))
    return PilotProgress(held, sampled, finished)


def _sample_size(count) -> int:
    if count is None or str(count).strip() == "":
        return DEFAULT_SAMPLE
    if isinstance(count, bool):
        raise InvalidInput("How many to grade must be a whole number.", field="count")
    try:
        n = int(str(count).strip())
    except ValueError:
        raise InvalidInput("How many to grade must be a whole number, such as 10.", field="count") from None
    if not 1 <= n <= MAX_SAMPLE:
        raise InvalidInput(f"How many to grade must be from 1 to {MAX_SAMPLE}.", field="count")
    return n


def grade_sample(db: Session, actor: User, assignment: Assignment, count=None, rng: random.Random | None = None
                 ) -> list[int]:
    """Queue a random `count` (default 10) of the held counting versions; the rest stay held. Returns the
    submission ids chosen."""
    n = _sample_size(count)
    latest_ids = {s.id for s in submissions.latest_for_assignment(db, assignment.id)}
    held = db.exec(select(GradingJob.id, GradingJob.submission_id).where(
        GradingJob.assignment_id == assignment.id, GradingJob.state == JOB_HELD)).all()
    candidates = sorted((job_id, sub_id) for job_id, sub_id in held if sub_id in latest_ids)
    if not candidates:
        raise InvalidInput("No submission is waiting for the grader model: there is nothing to sample yet.",
                           field="count")
    chosen = (rng or random.SystemRandom()).sample(candidates, min(n, len(candidates)))
    job_ids = [job_id for job_id, _sub in chosen]
    db.exec(update(GradingJob).where(GradingJob.id.in_(job_ids), GradingJob.state == JOB_HELD)
            .values(state=JOB_QUEUED, pilot=True, enqueued_at=utcnow()))
    audit.record(db, actor, assignment.course_id, "grading.pilot", f"assignment {assignment.id}",
                 {"asked": n, "sampled": len(job_ids), "held_before": len(candidates),
                  "submissions": sorted(sub for _job, sub in chosen)})
    db.commit()
    for job_id in job_ids:
        jobs.enqueue_grading(job_id)
    return sorted(sub for _job, sub in chosen)


def queue_held(db: Session, assignment: Assignment) -> int:
    """Queue every held job of the assignment (its hold has ended)."""
    job_ids = list(db.exec(select(GradingJob.id).where(GradingJob.assignment_id == assignment.id,
                                                      GradingJob.state == JOB_HELD)))
    if job_ids:
        db.exec(update(GradingJob).where(GradingJob.id.in_(job_ids), GradingJob.state == JOB_HELD)
                .values(state=JOB_QUEUED, enqueued_at=utcnow()))
        db.commit()
    for job_id in job_ids:
        jobs.enqueue_grading(job_id)
    return len(job_ids)


def grade_rest(db: Session, actor: User, assignment: Assignment) -> int:
    """End the hold: every held version is graded now, and new ones as they come."""
    assignment.hold_for_pilot = False
    db.add(assignment)
    audit.record(db, actor, assignment.course_id, "grading.rest", f"assignment {assignment.id}", {})
    db.commit()
    return queue_held(db, assignment)
