"""Real background workers: a `flask worker` subprocess grades what the web app queued.

Two deployments: the embedded one (SQLite database, SQLite queue) and the one
at scale (PostgreSQL when TEST_DATABASE_URL is set, Redis queue from
TEST_REDIS_URL). Each test's Redis queue has a unique name, and only its keys
are deleted afterwards.
"""
from __future__ import annotations

import os

import uuid
from collections import Counter

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from classroom.models import Grade, GradingJob, ModelGradeCache, Submission
from classroom.services import submissions
from classroom.services.submissions import CritiqueDraft
from openai_server import Sleep
from process_support import app_env, delete_redis_keys, flask_args, kill_group, running, tail, wait_for
from support import PG_URL, REDIS_URL

WAIT = 60  # seconds: generous for a loaded CI machine, and still bounded


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue(request):
    if request.param == "redis-queue" and not REDIS_URL:
        pytest.skip("Redis queue tests skipped: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    return request.param


@pytest.fixture
def backend(queue):
    """Overrides conftest's: SQLite with the SQLite queue, PostgreSQL (where available) with Redis."""
    return "postgresql" if queue == "redis-queue" and PG_URL else "sqlite"


@pytest.fixture
def app_config(app_config, queue, tmp_path):
    name = f"classroom-test-{uuid.uuid4().hex[:10]}"
    app_config.update({
        "HUEY_IMMEDIATE": False,
        "JOB_QUEUE_NAME": name,
        "HUEY_SQLITE_PATH": str(tmp_path / "jobs.sqlite3"),
        "REDIS_URL": REDIS_URL if queue == "redis-queue" else None,
    })
    yield app_config
    if queue == "redis-queue":
        delete_redis_keys(REDIS_URL, name)


def _grader_env(server) -> dict:
    return {"GRADER_MODEL": "test-grader", "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "k",
            "GRADER_TIMEOUT": 20, "GRADER_MAX_ATTEMPTS": 1, "GRADER_BACKOFF_BASE": 0.01}


def _submit(app, dbs, student, w, explanation="Step 2 multiplies wrong: 28 × 6 = 168."):
    """Save a version; the service puts its job on the real queue, as for the web views."""
    with app.app_context():
        sub, job = submissions.submit(dbs, student, w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(2, explanation, "28 × 6 = 168", "168"))
    return sub, job


def _jobs(app) -> dict[int, GradingJob]:
    with Session(app.extensions["db_engine"]) as s:
        return {j.id: j for j in s.exec(select(GradingJob))}


def _all_done(app, n: int):
    states = Counter(j.state for j in _jobs(app).values())
    assert states.get("failed", 0) == 0, f"a job failed: {[j.last_error for j in _jobs(app).values()]}"
    return states.get("done", 0) == n


def _grade_rows(app) -> dict[int, Counter]:
    with Session(app.extensions["db_engine"]) as s:
        rows = s.exec(select(Grade.submission_id, Grade.component))
        out: dict[int, Counter] = {}
        for sub_id, component in rows:
            out.setdefault(sub_id, Counter())[component] += 1
        return out


def test_worker_grades_what_the_web_app_queued(app, world, dbs, tmp_path, queue):
    w = world.classroom()
    saved = [_submit(app, dbs, w["alice"], w), _submit(app, dbs, w["bob"], w),
             _submit(app, dbs, w["alice"], w, explanation="Second thoughts: step 2 is 168, not 158.")]
    assert {j.state for j in _jobs(app).values()} == {"queued"}  # nothing graded in the web process
    log = tmp_path / "worker.log"
    with running(flask_args("worker", "--workers", "2"), app_env(app.config, WORKER_NICENESS="3"), log) as proc:
        wait_for(lambda: _all_done(app, len(saved)), WAIT, "the worker to grade 3 submissions",
                 log_path=log, proc=proc)
        # The worker yields the CPU to web requests: 3 steps below the priority it was started with.
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 3
    assert ("Redis queue" if queue == "redis-queue" else "SQLite queue") in tail(log)
    assert "CPU priority +3 (nice)" in tail(log)
    grades = _grade_rows(app)
    for sub, _job in saved:
        assert grades[sub.id]["location"] == 1 and set(grades[sub.id].values()) == {1}, grades[sub.id]
    assert all(j.attempts == 1 for j in _jobs(app).values())


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_an_idle_priority_worker_still_grades(app, world, dbs, tmp_path, queue):
    """WORKER_NICENESS=idle: the worker's threads run under SCHED_IDLE (CPU time nothing else wants)."""
    w = world.classroom()
    sub, _job = _submit(app, dbs, w["alice"], w)
    log = tmp_path / "worker.log"
    with running(flask_args("worker", "--workers", "2"), app_env(app.config, WORKER_NICENESS="idle"), log) as proc:
        wait_for(lambda: _all_done(app, 1), WAIT, "the idle-priority worker to grade", log_path=log, proc=proc)
        assert os.sched_getscheduler(proc.pid) == os.SCHED_IDLE
    assert "CPU priority idle (SCHED_IDLE" in tail(log)
    assert _grade_rows(app)[sub.id]["location"] == 1


def test_killed_worker_loses_nothing_and_grades_once(app, world, dbs, tmp_path, openai_server, queue):
    """kill -9 in the middle of a model call; a new worker takes the job up when its lease runs out.

    Both workers use a 2-second lease: the lease is renewed while a job runs, so a short
    lease only runs out when the worker is really gone."""
    w = world.classroom()
    carol = world.student(w["course"], name="Carol Cole")
    openai_server.script([Sleep(3)])  # the first model request hangs; later ones answer at once
    env = app_env(app.config, JOB_LEASE_SECONDS=2, JOB_RECOVERY_SECONDS=0.5, **_grader_env(openai_server))
    slow, slow_job = _submit(app, dbs, w["alice"], w, explanation="SLOW-MARKER step 2 is wrong.")
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    with running(flask_args("worker", "--workers", "2"), env, first_log) as first:
        wait_for(lambda: _jobs(app)[slow_job.id].state == "running" and openai_server.chat_requests,
                 WAIT, "the first worker to be inside the model call", log_path=first_log, proc=first)
        # More work arrives while the first worker is busy; some of it may be in its hands when it dies.
        others = [_submit(app, dbs, w["bob"], w), _submit(app, dbs, carol, w)]
        kill_group(first)
        first.wait(timeout=10)
    assert _jobs(app)[slow_job.id].state == "running"  # the dead worker's job still looks taken
    with running(flask_args("worker", "--workers", "2"), env, second_log) as second:
        wait_for(lambda: _all_done(app, 3), WAIT, "the second worker to finish every job",
                 log_path=second_log, proc=second)
    done = _jobs(app)
    assert done[slow_job.id].attempts == 2, tail(second_log)
    assert all(j.attempts in (1, 2) and j.last_error is None for j in done.values())
    grades = _grade_rows(app)
    for sub, _job in [(slow, slow_job), *others]:
        assert set(grades[sub.id].values()) == {1}, f"a component graded twice: {grades[sub.id]}"
        assert {"location", "explanation"} <= set(grades[sub.id])
    with Session(app.extensions["db_engine"]) as s:
        assert s.exec(select(func.count()).select_from(Submission)).one() == 3
        assert s.exec(select(func.count()).select_from(ModelGradeCache)
                      .where(ModelGradeCache.submission_id == slow.id)).one() == 1
        explanation = s.exec(select(Grade).where(Grade.submission_id == slow.id,
                                                 Grade.component == "explanation")).one()
        assert explanation.decided_by == "model"
    # The killed call and the retry: the model was asked about the slow version exactly twice.
    assert sum("SLOW-MARKER" in r.text for r in openai_server.chat_requests) == 2


def _counts(progress: dict) -> dict:
    """The four job counts of progress.json (it also carries the pilot's figures and a sentence)."""
    return {k: progress[k] for k in ("queued", "running", "done", "failed")}


def test_assignment_progress_moves_while_a_worker_runs(app, world, dbs, tmp_path, openai_server, make_client,
                                                        queue):
    w = world.classroom()
    students = [w["alice"], w["bob"]] + [world.student(w["course"]) for _ in range(3)]
    for st in students:
        _submit(app, dbs, st, w)
    n = len(students)
    teacher = make_client(w["teacher"])
    url = f"/teach/assignments/{w['assignment'].id}/progress.json"
    assert _counts(teacher.get(url).get_json()) == {"queued": n, "running": 0, "done": 0, "failed": 0}
    page = teacher.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert f'data-poll="{url}"' in page  # the page polls while work is outstanding
    openai_server.delay = 0.4  # each grading takes a moment, so the counts can be seen moving
    seen = []
    log = tmp_path / "worker.log"
    with running(flask_args("worker", "--workers", "1"), app_env(app.config, **_grader_env(openai_server)),
                 log) as proc:
        def finished():
            counts = _counts(teacher.get(url).get_json())
            assert sum(counts.values()) == n, counts
            if not seen or seen[-1] != counts:
                seen.append(counts)
            return counts["done"] == n
        wait_for(finished, WAIT, "the progress to reach done", interval=0.05, log_path=log, proc=proc)
    dones = [c["done"] for c in seen]
    assert dones == sorted(dones), seen  # never goes backwards
    assert len(set(dones)) >= 3, f"progress did not move in steps: {seen}"
    assert any(c["running"] == 1 for c in seen), seen
    assert seen[-1] == {"queued": 0, "running": 0, "done": n, "failed": 0}
    page = teacher.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert "data-poll" not in page and f"{n} done" in page


def test_slow_grading_keeps_its_lease(app, world, dbs, tmp_path, openai_server, queue):
    """A job that takes longer than JOB_LEASE_SECONDS is not taken up a second time while its worker lives."""
    w = world.classroom()
    openai_server.delay = 3.0  # three leases long
    sub, job = _submit(app, dbs, w["alice"], w)
    log = tmp_path / "worker.log"
    # At normal priority: with a one-second lease, a niced worker on a busy CI machine can miss a renewal,
    # and this test is about the lease, not the worker's priority (tested on its own).
    env = app_env(app.config, JOB_LEASE_SECONDS=1, JOB_RECOVERY_SECONDS=0.3, WORKER_NICENESS="0",
                  **_grader_env(openai_server))
    with running(flask_args("worker", "--workers", "2"), env, log) as proc:
        wait_for(lambda: _all_done(app, 1), WAIT, "the slow job to finish", log_path=log, proc=proc)
    assert _jobs(app)[job.id].attempts == 1, tail(log)
    assert len(openai_server.chat_requests) == 1
