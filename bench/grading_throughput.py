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
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.harness import (  # noqa: E402 - after the path is set
    Scratch, default_admin_url, default_redis_url, loadavg, open_assignment_course, require_loopback,
)


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
    p.add_argument("--admin-url", default=default_admin_url(),
                   help='a PostgreSQL URL allowed to CREATE DATABASE (default: TEST_DATABASE_URL); "" = SQLite')
    p.add_argument("--redis-url", default=default_redis_url(),
                   help='scratch Redis for the job queue; "" = the SQLite queue')
    p.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    p.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = p.parse_args(argv)
    if not 1 <= args.submissions <= 5000 or not 1 <= args.workers <= 64 or not 0 <= args.model_seconds <= 60:
        p.error("--submissions 1..5000, --workers 1..64, --model-seconds 0..60")
    require_loopback(p, args.admin_url, args.redis_url)

    from openai_server import FakeOpenAIServer

    server = FakeOpenAIServer().start()
    server.delay = args.model_seconds
    try:
        with Scratch("grading", args.admin_url, args.redis_url) as scratch:
            scratch.ok = ok = _run(args, scratch, server)
    finally:
        server.stop()
    return 0 if ok else 1


def _run(args, scratch: Scratch, server) -> bool:
    from sqlmodel import Session

    from classroom.services import submissions
    from classroom.services.submissions import CritiqueDraft

    scratch.migrate()
    app = scratch.app(HUEY_IMMEDIATE=False)
    engine = app.extensions["db_engine"]
    with app.app_context(), Session(engine, expire_on_commit=False) as s:
        _teacher, _course, problem, assignment, students = open_assignment_course(s, args.submissions, "grading",
                                                                                  "GRADE1")

    env = scratch.env(GRADER_MODEL="bench-grader", OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="bench",
                      GRADER_MAX_ATTEMPTS="1", GRADER_TIMEOUT=str(max(30.0, 10 * args.model_seconds)))
    scratch.start_worker(env, args.workers)

    load = loadavg()
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
    print(f"{args.submissions} submissions, one worker running {args.workers} jobs at once, model answering in "
          f"{args.model_seconds:g} s ({scratch.backend} database, {'Redis' if args.redis_url else 'SQLite'} queue; "
          f"load average {load} at the start, {loadavg()} at the end)")
    print(f"all queued in {queued_s:.1f} s; jobs {states}; {requests} model requests, at most "
          f"{server.max_in_flight} at once")
    print(f"done in {elapsed:.1f} s; ideal {ideal:.1f} s; ratio {elapsed / ideal:.2f} "
          f"(target at most 1.2): {'met' if ok else 'NOT met'}", flush=True)
    if args.json:
        print(json.dumps({"submissions": args.submissions, "workers": args.workers,
                          "model_seconds": args.model_seconds, "seconds": round(elapsed, 2),
                          "ideal_seconds": ideal, "ratio": round(elapsed / ideal, 3),
                          "max_in_flight": server.max_in_flight, "jobs": states}))
    return ok


if __name__ == "__main__":
    sys.exit(main())
