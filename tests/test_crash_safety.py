"""The server killed while submissions are being saved leaves each version whole or absent.

A child process saves submissions through services.submissions.submit from several
threads and is killed with SIGKILL at random moments, several times over; then the
database must hold only complete versions: each with exactly one grading job, each
job with its submission, versions numbered 1..n with no gap, and (SQLite) a file that
passes PRAGMA integrity_check.
"""
from __future__ import annotations

import json
import random
import sqlite3
import sys
import time

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from process_support import kill_group, start, stop, tail, wait_for
from support import PROJECT_ROOT

KILLS = 4


def _sqlite_path(url: str) -> str:
    return make_url(url).database


def test_killed_while_saving_leaves_whole_versions(app, world, tmp_path):
    w = world.classroom()
    extra = [world.student(w["course"]) for _ in range(2)]
    spec = {"assignment_id": w["assignment"].id, "problem_id": w["problem"].id,
            "student_ids": [w["alice"].id, w["bob"].id] + [u.id for u in extra]}
    url = app.config["DATABASE_URL"]
    rng = random.Random()
    engine = app.extensions["db_engine"]
    counts = []
    for n in range(KILLS):
        log = tmp_path / f"child-{n}.log"
        proc = start([sys.executable, str(PROJECT_ROOT / "tests" / "submit_loop.py"), url, str(tmp_path),
                      json.dumps(spec)], None, log)
        try:
            wait_for(lambda log=log: "saving" in tail(log), 60, "the child to start saving", log_path=log, proc=proc)
            time.sleep(rng.uniform(0.05, 0.6))
            assert proc.poll() is None, tail(log)  # killed while still saving, not after a crash of its own
            kill_group(proc)
            proc.wait(timeout=10)
        finally:
            stop(proc)
        with Session(engine) as s:
            counts.append(s.exec(text("SELECT count(*) FROM submission")).one()[0])
    assert counts[-1] > counts[0] > 1, f"the children saved too little to prove anything: {counts}"

    with Session(engine) as s:
        orphans = s.exec(text(
            "SELECT s.id, count(j.id) FROM submission s LEFT JOIN grading_job j ON j.submission_id = s.id "
            "GROUP BY s.id HAVING count(j.id) <> 1")).all()
        assert not orphans, f"submissions without exactly one grading job: {orphans[:10]}"
        lost = s.exec(text("SELECT j.id FROM grading_job j LEFT JOIN submission s ON s.id = j.submission_id "
                           "WHERE s.id IS NULL")).all()
        assert not lost, f"grading jobs without their submission: {lost[:10]}"
        rows = s.exec(text("SELECT assignment_id, problem_id, student_id, version FROM submission")).all()
        # Every saved version is complete (text and all).
        short = s.exec(text("SELECT id FROM submission WHERE explanation NOT LIKE 'Step 2 is wrong.%' "
                            "OR final_answer <> '168'")).all()
        assert not short, short
    by_key: dict[tuple, list[int]] = {}
    for a, p, st, v in rows:
        by_key.setdefault((a, p, st), []).append(v)
    for key, versions in by_key.items():
        assert sorted(versions) == list(range(1, len(versions) + 1)), (key, sorted(versions))

    if url.startswith("sqlite"):
        engine.dispose()
        con = sqlite3.connect(_sqlite_path(url))
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            con.close()
