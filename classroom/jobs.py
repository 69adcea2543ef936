"""Background grading jobs with Huey.

The GradingJob row in our database is the source of truth; the Huey message
only says "look at job N". So a message lost with a killed worker costs
nothing: `recover_jobs` (run when a worker starts and then every
JOB_RECOVERY_SECONDS) puts jobs whose lease ran out back on the queue, and
the unique (submission, component) constraint on grades means a job that
somehow runs twice still writes its grades once. A running job's lease is
renewed while it runs, so it runs out only when its worker is really gone.

Storage: SQLite file by default, Redis when REDIS_URL is set, in-memory and
immediate when the app is created with HUEY_IMMEDIATE (tests).
"""
from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
import traceback
from datetime import timedelta, timezone
from functools import lru_cache
from typing import Callable, Optional

from flask import Flask, current_app
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from . import db as database
from .mail import invitation_mail, send_each
from .models import (
    INVITE_PENDING, JOB_DONE, JOB_FAILED, JOB_QUEUED, JOB_RUNNING, MAIL_FAILED, MAIL_QUEUED, MAIL_SENT,
    SCORE_FAILED, SCORE_QUEUED, SCORE_SENT, AnswerKey, Assignment, Conversation, Course, CourseInvitation,
    FlawedSolution, Grade, GradingJob, LtiContext, LtiPlatform, LtiResourceLink, LtiScoreSend, Problem, Submission,
    User, utcnow,
)

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    huey = _make_huey(app)

    @huey.task(name="grade_job")
    def grade_job(job_id: int) -> None:
        with app.app_context():
            run_job(job_id)

    @huey.task(name="recheck_answers")
    def recheck_task(problem_id: int, actor_id: int) -> None:
        with app.app_context():
            recheck_answers(problem_id, actor_id)

    @huey.task(name="lab_run")
    def lab_run_task(run_id: int) -> None:
        with app.app_context():
            run_lab(run_id)

    @huey.task(name="invitation_mail")
    def invitation_mail_task(items: list) -> None:
        with app.app_context():
            send_invitation_mail(items)

    @huey.task(name="lti_scores")
    def lti_scores_task(ids: list) -> None:
        with app.app_context():
            send_lti_scores(ids)

    app.extensions["huey"] = huey
    app.extensions["lti_scores_task"] = lti_scores_task
    app.extensions["invitation_mail_task"] = invitation_mail_task
    app.extensions["lab_run_task"] = lab_run_task
    app.extensions["grade_task"] = grade_job
    app.extensions["recheck_task"] = recheck_task


def _make_huey(app: Flask) -> Huey:
    name = app.config.get("JOB_QUEUE_NAME") or "classroom"
    if app.config.get("HUEY_IMMEDIATE"):
        return MemoryHuey(name, immediate=True)
    if app.config.get("REDIS_URL"):
        return RedisHuey(name, url=app.config["REDIS_URL"])
    return SqliteHuey(name, filename=app.config["HUEY_SQLITE_PATH"])


def huey() -> Huey:
    return current_app.extensions["huey"]


def enqueue_grading(job_id: int) -> None:
    """Put a committed job on the queue. If the queue is down the job stays
    'queued' in the database and recover_jobs sends it again later."""
    try:
        current_app.extensions["grade_task"](job_id)
    except Exception:  # noqa: BLE001 - the queue being down must not lose the submission
        log.exception("could not enqueue grading job %s; it will be retried by recovery", job_id)


def enqueue_recheck(problem_id: int, actor_id: int) -> None:
    """Check every answer sent to a problem again, in the background (its reference answer,
    answer mode or tolerance changed)."""
    try:
        current_app.extensions["recheck_task"](problem_id, actor_id)
    except Exception:  # noqa: BLE001 - the edit is saved; the instructor can save again to retry
        log.exception("could not enqueue the re-check of problem %s", problem_id)


def enqueue_invitation_mail(items: list[tuple[int, str, str]]) -> None:
    """E-mail course invitations in the background: [(invitation id, token, link)]. The token travels
    in the queue message only until the job has run (the database keeps only its hash). If the queue is
    down the invitations are marked failed, with the reason, so the instructor can send them again."""
    if not items:
        return
    ids = [i for i, _t, _u in items]
    with database.fresh_session() as s:
        _mark_mail(s, ids, MAIL_QUEUED, None)
    try:
        current_app.extensions["invitation_mail_task"]([list(item) for item in items])
    except Exception as exc:  # noqa: BLE001 - the invitations are saved; "send again" retries
        log.exception("could not enqueue invitation mail")
        with database.fresh_session() as s:
            _mark_mail(s, ids, MAIL_FAILED, f"the job queue could not be reached ({type(exc).__name__})")


def _mark_mail(s: Session, ids: list[int], state: str, error: Optional[str]) -> None:
    s.exec(update(CourseInvitation).where(CourseInvitation.id.in_(ids)).values(mail_state=state, mail_error=error))
    s.commit()


def send_invitation_mail(items: list) -> tuple[int, int]:
    """The mail job: e-mail each invitation still open with the token it was queued with (one replaced
    since, by a newer upload or "send again", is skipped: its link would not work), noting on each
    whether it was sent or why not. Returns (sent, failed)."""
    wanted = {int(i): (token, url) for i, token, url in items}
    settings = current_app.config.get("MAIL")
    with database.fresh_session() as s:
        if settings is None:
            _mark_mail(s, list(wanted), MAIL_FAILED, "e-mail is not set up on this server (SMTP_HOST)")
            return 0, len(wanted)
        rows = s.exec(select(CourseInvitation, User.email, Course.title)
                      .join(User, User.id == CourseInvitation.user_id)
                      .join(Course, Course.id == CourseInvitation.course_id)
                      .where(CourseInvitation.id.in_(list(wanted)), CourseInvitation.status == INVITE_PENDING)).all()
        rows = [(inv, email, title) for inv, email, title in rows
                if inv.token_hash == hashlib.sha256(wanted[inv.id][0].encode()).hexdigest()]
        expires = {inv.id: (inv.expires_at if inv.expires_at.tzinfo else inv.expires_at.replace(tzinfo=timezone.utc))
                   for inv, _e, _t in rows}
        failed = send_each(settings, [
            invitation_mail(email, inv.name, title, wanted[inv.id][1],
                            expires[inv.id].strftime("%Y-%m-%d %H:%M UTC")) for inv, email, title in rows])
        now = utcnow()
        for inv, email, _title in rows:
            s.exec(update(CourseInvitation).where(CourseInvitation.id == inv.id).values(
                mail_state=MAIL_FAILED if email in failed else MAIL_SENT, mail_error=failed.get(email),
                mailed_at=now))
        s.commit()
        return len(rows) - len(failed), len(failed)


def enqueue_lti_scores(ids: list[int]) -> None:
    """Send these students' scores (lti_score_send rows, committed as queued) to their LMS in the background.
    If the queue is down they are marked failed, with the reason, so the instructor can send them again."""
    if not ids:
        return
    try:
        current_app.extensions["lti_scores_task"](list(ids))
    except Exception as exc:  # noqa: BLE001 - the scores are saved; "send again" retries
        log.exception("could not enqueue the LMS scores")
        with database.fresh_session() as s:
            s.exec(update(LtiScoreSend).where(LtiScoreSend.id.in_(ids)).values(
                state=SCORE_FAILED, error=f"The job queue could not be reached ({type(exc).__name__}).")
                   .execution_options(synchronize_session=False))
            s.commit()


def send_lti_scores(ids: list[int], sleep=time.sleep) -> tuple[int, int]:
    """The LMS score job (AGS): posts each queued row's score to its assignment's line item in its LMS course,
    with PyLTI1p3 and the tool's key. An LMS that cannot be reached or answers 5xx/429 is tried again, up to
    LTI_SCORE_ATTEMPTS times, waiting LTI_SCORE_RETRY_SECONDS and twice as long each time after; each row
    keeps its tries, its last error, and when it was sent. Returns (sent, failed)."""
    from . import lti_calls

    config = current_app.config
    attempts = max(1, int(config["LTI_SCORE_ATTEMPTS"]))
    delay = float(config["LTI_SCORE_RETRY_SECONDS"])
    sent = failed = 0
    with database.fresh_session() as s:
        rows = list(s.exec(select(LtiScoreSend).where(LtiScoreSend.id.in_(list(ids)),
                                                      LtiScoreSend.state == SCORE_QUEUED).order_by(LtiScoreSend.id)))
        private_pem, missing = None, None
        try:
            with open(config["LTI_PRIVATE_KEY_FILE"]) as handle:
                private_pem = handle.read()
        except OSError as exc:
            missing = f"The tool's key file could not be read ({exc.strerror})."
        services: dict[tuple[int, int], object] = {}  # (context, assignment) -> (service, Ags, line item URL)
        connectors: dict[int, object] = {}
        lease, beat = float(config["JOB_LEASE_SECONDS"]), utcnow()

        def target(row: LtiScoreSend):
            key = (row.context_id, row.assignment_id)
            if key not in services:
                context = s.get(LtiContext, row.context_id)
                assignment = s.get(Assignment, row.assignment_id)
                ags = _ags_for(s, context, assignment.id)
                if ags is None:
                    raise lti_calls.LmsCallFailed("The LMS no longer offers this course's grade services.", False)
                if context.platform_id not in connectors:
                    connectors[context.platform_id] = lti_calls.connector(s.get(LtiPlatform, context.platform_id),
                                                                          private_pem)
                service = lti_calls.ags_service(connectors[context.platform_id], ags)
                url = lti_calls.line_item(service, ags, f"assignment-{assignment.id}", assignment.title,
                                          float(assignment.points))
                services[key] = (service, ags, url)
            return services[key]

        for attempt in range(attempts):
            again = []
            for index, row in enumerate(rows):
                if utcnow() - beat > timedelta(seconds=lease / 3):
                    # A sign of life, as a grading job renews its lease: recover_lti_scores leaves these to us.
                    beat = utcnow()
                    s.exec(update(LtiScoreSend).where(LtiScoreSend.id.in_([r.id for r in rows[index:]]),
                                                      LtiScoreSend.state == SCORE_QUEUED)
                           .values(queued_at=beat).execution_options(synchronize_session=False))
                row.attempts += 1
                try:
                    if private_pem is None:
                        raise lti_calls.LmsCallFailed(missing, False)
                    service, ags, url = target(row)
                    row.lineitem_url = url
                    lti_calls.post_score(service, ags, url, user_id=row.sub, score_given=row.score_given,
                                         score_maximum=row.score_maximum, activity_progress=row.activity_progress,
                                         grading_progress=row.grading_progress,
                                         timestamp=_iso(row.timestamp))
                except lti_calls.LmsCallFailed as exc:
                    services.pop((row.context_id, row.assignment_id), None)  # found again next time
                    row.error = f"Try {row.attempts}: {exc.reason}"[:2000]
                    if exc.retryable and attempt + 1 < attempts:
                        again.append(row)
                    else:
                        row.state = SCORE_FAILED
                        failed += 1
                else:
                    row.state, row.error, row.sent_at = SCORE_SENT, None, utcnow()
                    sent += 1
                s.add(row)
                s.commit()
            if not again:
                break
            sleep(delay * 2 ** attempt)
            rows = again
    return sent, failed


def _iso(moment) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


def _ags_for(s: Session, context: LtiContext, assignment_id: int):
    """Where an assignment's scores go in an LMS course: a link opening this assignment with its own line
    item, else the newest launch's line-items endpoint (the line item found or made by resourceId)."""
    from .lti_calls import Ags

    links = list(s.exec(select(LtiResourceLink).where(LtiResourceLink.context_id == context.id)
                        .order_by(LtiResourceLink.updated_at.desc(), LtiResourceLink.id.desc())))
    own = next((link for link in links if link.assignment_id == assignment_id and link.lineitem_url), None)
    if own is not None:
        return Ags(own.lineitems_url, own.lineitem_url, list(own.ags_scopes))
    shared = next((link for link in links if link.lineitems_url), None)
    return Ags(shared.lineitems_url, None, list(shared.ags_scopes)) if shared is not None else None


def enqueue_lab_run(run_id: int) -> None:
    """Put a committed lab run on the queue. If the queue is down the run stays 'queued', and the group
    can cancel it and start another."""
    try:
        current_app.extensions["lab_run_task"](run_id)
    except Exception:  # noqa: BLE001 - the run is saved; it can be sent again
        log.exception("could not enqueue lab run %s", run_id)


def run_lab(run_id: int) -> str:
    """The AI lab's model run (grading/lab_runs.py) with the solver model's settings."""
    from .config import model_settings
    from .grading import lab_runs

    return lab_runs.run_lab(database.engine(), run_id, model_settings(current_app.config, "SOLVER_MODEL"))


def recheck_answers(problem_id: int, actor_id: Optional[int]) -> list[dict]:
    """Every version's final-answer grade checked again against the problem as it is now.

    Only the machine's score changes; an instructor's override stays and still counts. Each
    changed score is written to the audit log (the instructor's list of what changed)."""
    from .grading.answers import check_answer
    from .models import BY_EXACT, AuditLog, Problem

    changes = []
    with Session(database.engine()) as s:
        problem = s.get(Problem, problem_id)
        if problem is None:
            return changes
        rows = s.exec(select(Submission, Grade).join(Grade, Grade.submission_id == Submission.id)
                      .where(Submission.problem_id == problem_id, Grade.component == "final_answer",
                             Grade.decided_by == BY_EXACT).order_by(Submission.id)).all()
        for submission, grade in rows:
            check = check_answer(submission.final_answer, problem.reference_answer, problem.answer_mode,
                                 problem.answer_tolerance)
            score = check.score if check.score is not None else 0.0
            if grade.score == score:
                continue
            change = {"submission": submission.id, "from": grade.score, "to": score, "verdict": check.verdict,
                      "overridden": grade.override_score is not None}
            grade.score, grade.feedback, grade.updated_at = score, check.note, utcnow()
            s.add(grade)
            s.add(AuditLog(course_id=problem.course_id, actor_id=actor_id, action="answer.recheck",
                           target=f"submission {submission.id} final_answer", details=change))
            changes.append(change)
        s.commit()
    return changes


def _claim(s: Session, job_id: int, lease_seconds: int) -> Optional[tuple[int, int]]:
    """Take the job if it is queued (or its runner's lease ran out). Atomic. Returns (submission id,
    attempt number) when taken, None when another runner has it or it is finished."""
    now = utcnow()
    row = s.execute(_claim_statement(), {"job_id": job_id, "now": now, "running": JOB_RUNNING,
                                         "queued": JOB_QUEUED,
                                         "lease_until": now + timedelta(seconds=lease_seconds)}).first()
    s.commit()
    return None if row is None else (row[0], row[1])


# The job's two updates are Core statements built once, with bound parameters: built for each job as ORM
# statements they cost a third of a quick job's time (expressions and the session's bookkeeping).
@lru_cache(maxsize=1)
def _claim_statement():
    t = GradingJob.__table__
    return (update(t).where(t.c.id == bindparam("job_id"))
            .where((t.c.state == bindparam("queued"))
                   | ((t.c.state == bindparam("running")) & (t.c.lease_until < bindparam("now"))))
            .values(state=bindparam("running"), attempts=t.c.attempts + 1, started_at=bindparam("now"),
                    lease_until=bindparam("lease_until"), last_error=None)
            .returning(t.c.submission_id, t.c.attempts))


@lru_cache(maxsize=1)
def _finish_statement():
    t = GradingJob.__table__
    return (update(t).where(t.c.id == bindparam("job_id"))
            .values(state=bindparam("state"), last_error=bindparam("error"), finished_at=bindparam("now"),
                    lease_until=None))


def run_job(job_id: int) -> str:
    """Grade the job's submission; returns the job's final state."""
    config = current_app.config
    with database.fresh_session() as s:
        claimed = _claim(s, job_id, config["JOB_LEASE_SECONDS"])
        if claimed is None:
            job = s.get(GradingJob, job_id)
            return job.state if job else "missing"
        submission_id, attempt = claimed
        # The version, its assignment, (teach mode) its conversation, and the problem, solution and key it
        # answered, in one query.
        row = s.exec(_job_rows_statement(), params={"id": submission_id}).one()
        submission, assignment, conversation, *answered = row
        try:
            with _LeaseKeeper(database.engine(), job_id, attempt, config["JOB_LEASE_SECONDS"]):
                grades = _grade(s, submission, assignment, conversation, answered, config)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job
            s.rollback()
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            log.warning("grading job %s failed: %s\n%s", job_id, reason, traceback.format_exc())
            _finish(s, job_id, JOB_FAILED, reason)
            return JOB_FAILED
        # A first attempt expects no grades and does not look (a query less on every job); a re-run after
        # a crash, or a first attempt that meets grades after all, keeps what was saved and adds the rest.
        for look in ((False, True) if attempt == 1 else (True,)):
            try:
                _save_grades(s, job_id, submission.id, grades, look)
                break
            except IntegrityError:
                s.rollback()
        else:  # another runner saved these grades first: the work is done once
            _finish(s, job_id, JOB_DONE, None)
        return JOB_DONE


def _save_grades(s: Session, job_id: int, submission_id: int, grades: list[Grade], look: bool) -> None:
    existing = {g.component for g in s.exec(select(Grade).where(Grade.submission_id == submission_id))} if look else ()
    rows = [{name: getattr(g, name) for name in _GRADE_COLUMNS} for g in grades if g.component not in existing]
    if rows:
        # One Core INSERT of plain rows: nothing reads the grades back here, and the session's unit of work
        # cost a fifth of a quick job's time.
        s.execute(insert(Grade.__table__), rows)
    _finish(s, job_id, JOB_DONE, None, commit=False)
    s.commit()


_GRADE_COLUMNS = tuple(c.name for c in Grade.__table__.columns if c.name != "id")


class _LeaseKeeper:
    """Renews a running job's lease from a side thread while it is graded.

    A slow grader (model retries, Lean) then never loses its job to a second
    worker, and the lease can be short, so a killed worker's job is taken up
    again within about JOB_LEASE_SECONDS. Only the attempt that claimed the
    job renews it: once another worker has taken it over, renewing stops.
    """

    def __init__(self, engine: Engine, job_id: int, attempt: int, lease_seconds: float) -> None:
        self.engine, self.job_id, self.attempt, self.lease_seconds = engine, job_id, attempt, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> "_LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.lease_seconds))

    def _run(self) -> None:
        interval = max(self.lease_seconds / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                with self.engine.begin() as conn:
                    renewed = conn.execute(update(GradingJob).where(
                        GradingJob.id == self.job_id, GradingJob.state == JOB_RUNNING,
                        GradingJob.attempts == self.attempt,
                    ).values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds))).rowcount
            except Exception:  # noqa: BLE001 - a missed renewal only risks a harmless second run
                log.warning("could not renew the lease of grading job %s", self.job_id, exc_info=True)
                continue
            if renewed == 0:
                log.warning("grading job %s was taken over by another worker", self.job_id)
                return


@lru_cache(maxsize=1)
def _job_rows_statement():
    """A job's version with everything grading reads about it, bound as :id (built once)."""
    return (select(Submission, Assignment, Conversation, Problem, FlawedSolution, AnswerKey)
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .outerjoin(Conversation, Conversation.submission_id == Submission.id)
            .join(FlawedSolution, FlawedSolution.id == Submission.flawed_solution_id)
            .join(Problem, Problem.id == FlawedSolution.problem_id)
            .outerjoin(AnswerKey, AnswerKey.flawed_solution_id == FlawedSolution.id)
            .where(Submission.id == bindparam("id")))


def _grade(s: Session, submission: Submission, assignment: Assignment, conversation: Optional[Conversation],
           answered: list, config) -> list[Grade]:
    """The input is built once (and the answer checked once); the model and the pipeline share it.
    `answered`: the version's problem, flawed solution and answer key."""
    from .config import model_settings
    from .grading import calibration, model_grading, pipeline, teaching

    if conversation is not None:  # a teach-mode conversation: its own components (docs/teach.md)
        return teaching.grade_conversation(s, submission, conversation, model_settings(config))
    problem, solution, key = answered
    if key is None:
        raise LookupError(f"the flawed solution {solution.id} that version {submission.id} answered has no answer key")
    inp = pipeline.grading_input(submission, problem, solution, key)
    settings = model_settings(config)
    if settings is not None:
        inp.calibration = calibration.examples_for(s, problem.id, config.get("GRADER_CALIBRATION_EXAMPLES", 0),
                                                   exclude_submission_id=submission.id)
    verdict = model_grading.verdict_for(s, submission.id, inp, settings)
    return pipeline.grade_submission(inp, submission, problem, config, model_verdict=verdict,
                                     confidence_threshold=assignment.confidence_threshold)


def _finish(s: Session, job_id: int, state: str, error: Optional[str], commit: bool = True) -> None:
    s.execute(_finish_statement(), {"job_id": job_id, "state": state, "error": (error or None) and error[:2000],
                                    "now": utcnow()})
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
    recover_lab_runs(now)
    recover_lti_scores(now)
    return len(ids)


def recover_lti_scores(now=None) -> list[int]:
    """LMS scores still queued JOB_LEASE_SECONDS after they were queued (or after the sending job last
    touched them): their job's worker died or its message was lost. Sent to the queue again; returns their ids.
    Runs with recover_jobs: at a worker's start and every JOB_RECOVERY_SECONDS."""
    now = now or utcnow()
    stale = now - timedelta(seconds=current_app.config["JOB_LEASE_SECONDS"])
    with database.fresh_session() as s:
        ids = list(s.exec(select(LtiScoreSend.id).where(LtiScoreSend.state == SCORE_QUEUED,
                                                        LtiScoreSend.queued_at < stale).order_by(LtiScoreSend.id)))
        if ids:
            # Only rows still stale as this runs: another worker's recovery at the same moment takes none twice.
            ids = [i for i in ids if s.exec(update(LtiScoreSend).where(
                LtiScoreSend.id == i, LtiScoreSend.state == SCORE_QUEUED, LtiScoreSend.queued_at < stale)
                .values(queued_at=now)).rowcount == 1]
            s.commit()
    if ids:
        log.info("recovered %d queued LMS scores on %s", len(ids), socket.gethostname())
        enqueue_lti_scores(ids)
    return ids


def recover_lab_runs(now=None) -> tuple[list[int], list[int]]:
    """Lab runs without a sign of life for JOB_LEASE_SECONDS: sent to the queue again, or failed with the
    reason after a few tries (grading/lab_runs.py). Runs with recover_jobs: at a worker's start and after."""
    from .grading import lab_runs

    return lab_runs.recover_runs(database.engine(), now or utcnow(), current_app.config["JOB_LEASE_SECONDS"],
                                 enqueue_lab_run)


def recovery_loop(app: Flask, stop: threading.Event, also: Optional[Callable[[], object]] = None) -> None:
    """Each worker process runs this in a thread: recover_jobs every JOB_RECOVERY_SECONDS, then `also` (the
    worker command passes the end of conversations left open past their deadline, a service of its layer).

    A thread rather than a Huey periodic task, whose finest interval is a minute."""
    interval = max(float(app.config["JOB_RECOVERY_SECONDS"]), 0.1)
    while not stop.wait(interval):
        try:
            with app.app_context():
                recover_jobs()
                if also is not None:
                    also()
        except Exception:  # noqa: BLE001 - the database may be briefly away; try again next time
            log.exception("job recovery failed; trying again in %s seconds", interval)


def retry_job(s: Session, job: GradingJob) -> None:
    """Put a failed job back on the queue (the instructor's retry button)."""
    s.exec(update(GradingJob).where(GradingJob.id == job.id).values(
        state=JOB_QUEUED, last_error=None, enqueued_at=utcnow(), finished_at=None))
    s.commit()
    enqueue_grading(job.id)
