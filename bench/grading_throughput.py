"""Grading throughput with a slow model: N submissions, one worker process, a model that takes 1 s.

What it does, all on loopback:
  1. starts the fake OpenAI-compatible server of the tests (tests/openai_server.py) answering each
     chat request after --model-seconds, and records how many requests were in flight at once;
  2. creates a fresh database (PostgreSQL through --admin-url, dropped at the end; SQLite with
     --admin-url "") and a course with one open assignment and N students;
  3. starts ONE `flask --app app worker --workers W` (queue in a scratch Redis database under a
     name of its own, or the SQLite queue with --redis-url "") with the grader model pointed at
     the fake server, and waits until it is ready;
  4. submits N answers through the services (each queues its grading job, as a web request does)
     and times how long until every job is done.

The ideal with W jobs at once is ceil(N / W) x model seconds (25 s for 200 submissions, 8 at once,
1 s each); the target of issue 13 is at most 1.2 x that.

    python bench/grading_throughput.py                      # 200 submissions, 8 at once, 1 s model
    python bench/grading_throughput.py --submissions 40 --json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _create_database(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"classroom_grading_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlsplit(admin_url)._replace(path="/" + name).geturl()


def _drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            pass


def _job_states(engine) -> dict[str, int]:
    from sqlalchemy import func, select

    from classroom.models import GradingJob

    with engine.connect() as conn:
        return dict(conn.execute(select(GradingJob.state, func.count()).group_by(GradingJob.state)).all())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--submissions", type=int, default=200)
    p.add_argument("--workers", type=int, default=8, help="grading jobs the one worker process runs at once")
    p.add_argument("--model-seconds", type=float, default=1.0, help="how long the model takes per request")
    p.add_argument("--admin-url", default=os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1/postgres",
                   help='a PostgreSQL URL allowed to CREATE DATABASE (default: TEST_DATABASE_URL); "" = SQLite')
    p.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
                   help='scratch Redis for the job queue; "" = the SQLite queue')
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    p.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = p.parse_args(argv)
    if not 1 <= args.submissions <= 5000 or not 1 <= args.workers <= 64 or not 0 <= args.model_seconds <= 60:
        p.error("--submissions 1..5000, --workers 1..64, --model-seconds 0..60")
    for url in (args.admin_url, args.redis_url):
        if url and urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            p.error("the benchmark only talks to servers on loopback")

    from openai_server import FakeOpenAIServer
    from sqlmodel import Session
    from werkzeug.security import generate_password_hash

    from classroom import create_app
    from classroom.migrate import upgrade_to_head
    from classroom.models import User, utcnow
    from classroom.services import accounts, assignments, courses, problems, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    from classroom.services.submissions import CritiqueDraft

    workdir = Path(tempfile.mkdtemp(prefix="grading-bench-"))
    queue_name = f"grading-bench-{uuid.uuid4().hex[:8]}"
    server = FakeOpenAIServer().start()
    server.delay = args.model_seconds
    db_name = worker = None
    ok = False
    try:
        if args.admin_url:
            db_name, url = _create_database(args.admin_url)
        else:
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade_to_head(url)
        config = {"DATABASE_URL": url, "INSTANCE_DIR": str(workdir), "SECRET_KEY": uuid.uuid4().hex,
                  "HUEY_IMMEDIATE": False, "REDIS_URL": args.redis_url or None, "JOB_QUEUE_NAME": queue_name,
                  "HUEY_SQLITE_PATH": str(workdir / "jobs.sqlite3")}
        app = create_app(config)
        engine = app.extensions["db_engine"]
        with app.app_context(), Session(engine, expire_on_commit=False) as s:
            teacher = accounts.create_user(s, email="teacher@grading.test", name="Teacher", password="bench-password",
                                           role="instructor")
            course = courses.create_course(s, teacher, title="Grading bench", code="GRADE1")
            problem = problems.create_problem(s, teacher, course, ProblemDraft(
                title="Tickets", statement="Tickets cost \\$6 each for $n=28$ students. What is the total?",
                reference_solution="28 × 6 = 168", reference_answer="168",
                steps=["Multiply $28 \\times 6$.", "That is $158$.", "So the total is 158 dollars."],
                flawed_final_answer="158", first_wrong_step=2, reason="28 × 6 = 168, not 158.",
                error_kind="arithmetic"))
            now = utcnow()
            assignment = assignments.create_assignment(s, teacher, course, AssignmentDraft(
                title="Due tonight", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=1),
                problem_ids=[problem.id]))
            shared_hash = generate_password_hash("bench-password")
            students = [User(email=f"s{n:04d}@grading.test", name=f"Student {n:04d}", password_hash=shared_hash)
                        for n in range(args.submissions)]
            s.add_all(students)
            s.commit()
            for u in students:
                courses.join_course(s, u, course.code)

        env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "DATABASE_URL", "REDIS_URL")}
        env.update(DATABASE_URL=url, CLASSROOM_INSTANCE_DIR=str(workdir), SECRET_KEY=config["SECRET_KEY"],
                   REDIS_URL=args.redis_url or "", JOB_QUEUE_NAME=queue_name,
                   HUEY_SQLITE_PATH=config["HUEY_SQLITE_PATH"], GRADER_MODEL="bench-grader",
                   OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="bench", GRADER_MAX_ATTEMPTS="1",
                   GRADER_TIMEOUT=str(max(30.0, 10 * args.model_seconds)), PYTHONUNBUFFERED="1")
        log = workdir / "worker.log"
        with open(log, "ab") as fh:
            worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker",
                                       "--workers", str(args.workers)], cwd=ROOT, env=env, stdout=fh,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while "Grading worker started" not in log.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        time.sleep(0.5)  # the consumer's threads start right after that line

        load = os.getloadavg()
        started = time.monotonic()
        with app.app_context(), Session(engine, expire_on_commit=False) as s:
            for n, u in enumerate(students):
                submissions.submit(s, u, assignment.id, problem.id, CritiqueDraft(
                    error_step=2, explanation=f"Student {n}: step 2 says 28 × 6 = 158, but it is 168.",
                    correction="28 × 6 = 168, so the total is 168 dollars.", final_answer="168"))
        queued_s = time.monotonic() - started
        states: dict[str, int] = {}
        while time.monotonic() - started < args.timeout:
            states = _job_states(engine)
            if states.get("done", 0) + states.get("failed", 0) >= args.submissions:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        ideal = math.ceil(args.submissions / args.workers) * args.model_seconds
        requests = len(server.chat_requests)
        ok = states.get("done", 0) == args.submissions and elapsed <= 1.2 * ideal
        backend = "PostgreSQL" if args.admin_url else "SQLite"
        print(f"{args.submissions} submissions, one worker running {args.workers} jobs at once, model answering in "
              f"{args.model_seconds:g} s ({backend} database, {'Redis' if args.redis_url else 'SQLite'} queue; "
              f"load average {load[0]:.2f} at the start)")
        print(f"all queued in {queued_s:.1f} s; jobs {states}; {requests} model requests, at most "
              f"{server.max_in_flight} at once")
        print(f"done in {elapsed:.1f} s; ideal {ideal:.1f} s; ratio {elapsed / ideal:.2f} "
              f"(target at most 1.2): {'met' if ok else 'NOT met'}", flush=True)
        engine.dispose()
        if args.json:
            print(json.dumps({"submissions": args.submissions, "workers": args.workers,
                              "model_seconds": args.model_seconds, "seconds": round(elapsed, 2),
                              "ideal_seconds": ideal, "ratio": round(elapsed / ideal, 3),
                              "max_in_flight": server.max_in_flight, "jobs": states}))
        return 0 if ok else 1
    finally:
        _stop(worker)
        server.stop()
        if db_name:
            try:
                _drop_database(args.admin_url, db_name)
            except Exception as exc:  # noqa: BLE001 - report, then go on cleaning
                print(f"could not drop database {db_name}: {exc}", file=sys.stderr)
        if args.redis_url:
            try:
                import redis

                client = redis.Redis.from_url(args.redis_url)
                keys = list(client.scan_iter(match=f"*{queue_name}*"))
                if keys:
                    client.delete(*keys)
                client.close()
            except Exception as exc:  # noqa: BLE001
                print(f"could not delete the queue's Redis keys: {exc}", file=sys.stderr)
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
