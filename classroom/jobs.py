"""Background grading jobs with Huey.

The GradingJob row in our database is the source of truth; the Huey message
only says "look at job N". So a message lost with a killed worker costs
nothing: `recover_jobs` (run when a worker starts and every minute) puts
jobs whose lease ran out back on the queue, and the unique (submission,
component) constraint on grades means a job that somehow runs twice still
writes its grades once.

Storage: SQLite file by default, Redis when REDIS_URL is set, in-memory and
immediate when the app is created with HUEY_IMMEDIATE (tests).
"""
from __future__ import annotations

import logging
import socket
import traceback
from datetime import timedelta
from typing import Optional

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from . import db as database
from .models import (
    JOB_DONE, JOB_FAILED, JOB_QUEUED, JOB_RUNNING, Grade, GradingJob, Submission, utcnow,
)

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    huey = _make_huey(app)

    @huey.task(name="grade_job")
    def grade_job(job_id: int) -> None:
        with app.app_context():
            run_job(job_id)

    @huey.periodic_task(crontab(minute="*"), name="recover_jobs")
    def recover_jobs_periodically() -> None:
        with app.app_context():
            recover_jobs()

    app.extensions["huey"] = huey
    app.extensions["grade_task"] = grade_job


def _make_huey(app: Flask) -> Huey:
    if app.config.get("HUEY_IMMEDIATE"):
        return MemoryHuey("classroom", immediate=True)
    if app.config.get("REDIS_URL"):
        return RedisHuey("classroom", url=app.config["REDIS_URL"])
    return SqliteHuey("classroom", filename=app.config["HUEY_SQLITE_PATH"])


def huey() -> Huey:
    return current_app.extensions["huey"]


def enqueue_grading(job_id: int) -> None:
    """Put a committed job on the queue. If the queue is down the job stays
    'queued' in the database and recover_jobs sends it again later."""
    try:
        current_app.extensions["grade_task"](job_id)
    except Exception:  # noqa: BLE001 - the queue being down must not lose the submission
        log.exception("could not enqueue grading job %s; it will be retried by recovery", job_id)


def _claim(s: Session, job_id: int, lease_seconds: int) -> bool:
    """Take the job if it is queued (or its runner's lease ran out). Atomic."""
    now = utcnow()
    result = s.exec(
        update(GradingJob)
        .where(GradingJob.id == job_id)
        .where((GradingJob.state == JOB_QUEUED)
               | ((GradingJob.state == JOB_RUNNING) & (GradingJob.lease_until < now)))
        .values(state=JOB_RUNNING, attempts=GradingJob.attempts + 1, started_at=now,
                lease_until=now + timedelta(seconds=lease_seconds), last_error=None)
    )
    s.commit()
    return result.rowcount == 1


def run_job(job_id: int) -> str:
    """Grade the job's submission; returns the job's final state."""
    config = current_app.config
    with database.fresh_session() as s:
        if not _claim(s, job_id, config["JOB_LEASE_SECONDS"]):
            job = s.get(GradingJob, job_id)
            return job.state if job else "missing"
        job = s.get(GradingJob, job_id)
        submission = s.get(Submission, job.submission_id)
        try:
            grades = _grade(s, submission, config)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job
            s.rollback()
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            log.warning("grading job %s failed: %s\n%s", job_id, reason, traceback.format_exc())
            _finish(s, job_id, JOB_FAILED, reason)
            return JOB_FAILED
        existing = {g.component for g in s.exec(select(Grade).where(Grade.submission_id == submission.id))}
        try:
            for g in grades:
                if g.component not in existing:  # a re-run after a crash keeps what was saved
                    s.add(g)
            _finish(s, job_id, JOB_DONE, None, commit=False)
            s.commit()
        except IntegrityError:
            # Another runner saved these grades first: the work is done once.
            s.rollback()
            _finish(s, job_id, JOB_DONE, None)
        return JOB_DONE


def _grade(s: Session, submission: Submission, config) -> list[Grade]:
    from .grading import model_runner, pipeline

    verdict = model_runner.verdict_for(s, submission, config)
    return pipeline.grade_submission(s, submission, config, model_verdict=verdict)


def _finish(s: Session, job_id: int, state: str, error: Optional[str], commit: bool = True) -> None:
    s.exec(update(GradingJob).where(GradingJob.id == job_id).values(
        state=state, last_error=(error or None) and error[:2000], finished_at=utcnow(), lease_until=None))
    if commit:
        s.commit()


def recover_jobs(now=None) -> int:
    """Requeue jobs whose worker died (lease passed) or whose message was lost."""
    now = now or utcnow()
    stale_queue = now - timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    with database.fresh_session() as s:
        ids = list(s.exec(select(GradingJob.id).where(
            ((GradingJob.state == JOB_RUNNING) & (GradingJob.lease_until < now))
            | ((GradingJob.state == JOB_QUEUED) & (GradingJob.enqueued_at < stale_queue)))))
        for job_id in ids:
            s.exec(update(GradingJob).where(GradingJob.id == job_id).values(enqueued_at=now))
        s.commit()
    for job_id in ids:
        enqueue_grading(job_id)
    if ids:
        log.info("recovered %d grading jobs on %s", len(ids), socket.gethostname())
    return len(ids)


def retry_job(s: Session, job: GradingJob) -> None:
    """Put a failed job back on the queue (the instructor's retry button)."""
    s.exec(update(GradingJob).where(GradingJob.id == job.id).values(
        state=JOB_QUEUED, last_error=None, enqueued_at=utcnow(), finished_at=None))
    s.commit()
    enqueue_grading(job.id)
