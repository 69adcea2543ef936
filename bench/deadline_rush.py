"""Deadline rush: many students submit through the API within one window while an instructor
exports the gradebook over and over. Loopback only.

What it does, all on this machine:
  1. creates a fresh PostgreSQL database (dropped at the end) and builds the schema with Alembic
     (what `flask --app app init-db` runs);
  2. seeds a course with N students and their API tokens (in-process, through the services; the
     students' rows are inserted in bulk with one shared password hash, to be fast);
  3. starts gunicorn (4 workers x 4 threads) and one `flask --app app worker`, with the job queue in
     a scratch Redis database under a queue name of its own (only its keys are deleted afterwards;
     bench/harness.py does this setting up and cleaning up for every benchmark here);
  4. each student lists the assignments and submits at a random moment of the window (a quarter
     submit a second version a little later), while the instructor downloads the gradebook CSV;
  5. reports p50/p95/p99 latency per route and every error, then proves that each accepted (201)
     submission is in the database exactly once (by id and by a unique marker in its text) and
     that every grading job reaches 'done'.

    python bench/deadline_rush.py                       # 300 students, 60 s
    python bench/deadline_rush.py --short               # 40 students, 10 s (what CI runs)
    python bench/deadline_rush.py --students 500 --window 90 --json result.json

Exit status 0 only when there were no errors and every check passed.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402 - after the path is set
    HOST, Scratch, default_admin_url, default_redis_url, free_port, libpq, loadavg, open_assignment_course,
    require_loopback, stop, wait_http,
)

REQUEST_TIMEOUT = 30.0


def _seed(scratch: Scratch, students: int) -> dict:
    """Course, problem, open assignment, N students with tokens; returns what the clients need."""

    from sqlmodel import Session

    from classroom import create_app
    from classroom.services import accounts

    app = create_app(scratch.config(HUEY_IMMEDIATE=True, REDIS_URL=None))
    with app.app_context(), Session(app.extensions["db_engine"], expire_on_commit=False) as s:
        teacher, course, problem, assignment, users = open_assignment_course(s, students, "rush", "RUSH01")
        tokens = [accounts.create_token(s, u.email, "rush") for u in users]
        teacher_token = accounts.create_token(s, teacher.email, "rush")
    app.extensions["db_engine"].dispose()
    return {"course": course.code, "assignment_id": assignment.id, "problem_id": problem.id,
            "tokens": tokens, "teacher_token": teacher_token}


# -- load ------------------------------------------------------------------------------------------

class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.accepted: list[tuple[int, str, int]] = []  # (submission id, marker, student index)

    def request(self, port: int, route: str, method: str, path: str, token: str, body: dict | None = None,
                expect: int = 200):
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            status = resp.status
            conn.close()
        except (OSError, http.client.HTTPException) as exc:
            with self.lock:
                self.errors[route][type(exc).__name__] += 1
            return None, None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[route].append(elapsed)
            if status != expect:
                self.errors[route][str(status)] += 1
        return status, payload


def _student(rec: Recorder, port: int, seed: dict, n: int, at: float, again: float | None, t0: float) -> None:
    token = seed["tokens"][n]
    time.sleep(max(0.0, t0 + at - time.monotonic()))
    status, payload = rec.request(port, "GET /api/v1/courses/<code>/assignments", "GET",
                                  f"/api/v1/courses/{seed['course']}/assignments", token)
    if status == 200:
        problem_id = json.loads(payload)["assignments"][0]["problems"][0]["id"]
    else:
        problem_id = seed["problem_id"]  # still try: the deadline does not wait
    path = f"/api/v1/assignments/{seed['assignment_id']}/problems/{problem_id}/submissions"
    for attempt, when in enumerate([at] + ([again] if again is not None else [])):
        time.sleep(max(0.0, t0 + when - time.monotonic()))
        marker = f"rush-{n}-{attempt}-{uuid.uuid4().hex[:8]}"
        status, payload = rec.request(port, "POST .../submissions", "POST", path, token, {
            "error_step": 2, "explanation": f"{marker}: step 2 says 28 × 6 = 158, but it is 168.",
            "correction": "28 × 6 = 168, so the total is 168 dollars.", "final_answer": "168"}, expect=201)
        if status == 201:
            with rec.lock:
                rec.accepted.append((json.loads(payload)["id"], marker, n))


def _instructor(rec: Recorder, port: int, seed: dict, until: float, every: float) -> int:
    n = 0
    while time.monotonic() < until:
        rec.request(port, "GET /api/v1/courses/<code>/gradebook.csv", "GET",
                    f"/api/v1/courses/{seed['course']}/gradebook.csv", seed["teacher_token"])
        n += 1
        time.sleep(every)
    return n


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


# -- saturated throughput and the framework's ceiling --------------------------------------------

def _gunicorn(args, port: int, app_spec: str, chdir: Path = ROOT) -> list[str]:
    """The one set of gunicorn settings the app and the bare-Flask ceiling both run under."""
    return [sys.executable, "-m", "gunicorn", "-w", str(args.gunicorn_workers), "-k", "gthread", "--threads",
            str(args.threads), "-b", f"{HOST}:{port}", "--timeout", "60", "--chdir", str(chdir), app_spec]


def _saturation(args, port: int, seed: dict, worker: subprocess.Popen) -> dict:
    """Requests per second each route serves when clients never pause (after the rush, on the same server).

    Submissions are measured twice. First with the grading worker at work beside the server, as in the
    rush: on this 2-core machine its grading takes about half the CPU the server could use. Then with the
    worker paused (SIGSTOP, then SIGCONT), which is what the server alone serves when the worker runs on a
    machine of its own, as the README advises at scale: the jobs wait in the queue meanwhile and are
    graded afterwards, and the run fails unless every one of them is done."""
    from bench import saturate

    tokens = seed["tokens"][:256]
    common = dict(connections=args.saturate_connections, processes=args.saturate_clients,
                  seconds=args.saturate_seconds)
    out = {}
    print(f"\nsaturating each route for {args.saturate_seconds:.0f} s with {args.saturate_connections} keep-alive "
          f"connections from {args.saturate_clients} client processes ...", flush=True)
    listing = saturate.measure(HOST, port, "get", (f"/api/v1/courses/{seed['course']}/assignments", tokens),
                               **common)
    out[LISTING] = listing.as_dict()
    path = f"/api/v1/assignments/{seed['assignment_id']}/problems/{seed['problem_id']}/submissions"
    body = {"error_step": 2, "explanation": "saturate-{n}: step 2 says 28 × 6 = 158, but it is 168.",
            "correction": "28 × 6 = 168.", "final_answer": "168"}
    out[SUBMITTING] = saturate.measure(HOST, port, "post_json", (path, tokens, body), expect=201, **common).as_dict()
    os.killpg(worker.pid, signal.SIGSTOP)
    try:
        body = {**body, "explanation": "saturate-paused-{n}: step 2 says 28 × 6 = 158, but it is 168."}
        out[SUBMITTING_ALONE] = saturate.measure(HOST, port, "post_json", (path, tokens, body), expect=201,
                                                 **common).as_dict()
    finally:
        os.killpg(worker.pid, signal.SIGCONT)
    return {"routes": out}


LISTING = "GET /api/v1/courses/<code>/assignments"
SUBMITTING = "POST .../submissions"
SUBMITTING_ALONE = "POST .../submissions, worker paused"


def _ceiling(args, scratch: Scratch, env: dict) -> dict:
    """A bare Flask hello-world (bench/hello_app.py) under the same gunicorn settings: what the framework
    and server can do at most on this machine, so each route's figure reads as a share of it."""
    from bench import saturate

    port = free_port()
    proc = scratch.start(_gunicorn(args, port, "hello_app:app", ROOT / "bench"), "ceiling", env)
    load = dict(connections=args.saturate_connections, processes=args.saturate_clients)
    try:
        wait_http(port, 60, proc, scratch.log("ceiling"), path="/")
        # The first answer comes while the other workers still boot: a first window measured then read 2,000/s
        # where the next ones read 4,200-4,700/s. The routes are measured on a server the rush warmed up, so
        # the ceiling gets a warm-up window of its own, not counted.
        saturate.measure(HOST, port, "get", ("/", []), seconds=2.0, **load)
        return saturate.measure(HOST, port, "get", ("/", []), seconds=args.saturate_seconds, **load).as_dict()
    finally:
        stop(proc)


def _print_saturation(sat: dict) -> None:
    ceiling = sat["ceiling"]["requests_per_s"]
    backlog = sat.get("backlog_graded_after_s")
    print("the saturated submissions' grading: " + (f"all done {backlog} s after the load, before the ceiling was "
                                                    "measured" if backlog is not None else "NOT all done in time"))
    print(f"bare Flask on the same gunicorn settings (the ceiling): {ceiling:.0f} requests/s "
          f"(client CPU {sat['ceiling']['client_cpu_s']} s)")
    for route, r in sat["routes"].items():
        share = 100 * r["requests_per_s"] / ceiling if ceiling else 0.0
        r["share_of_ceiling_percent"] = round(share, 1)
        print(f"{route:44} {r['requests_per_s']:>8.0f} requests/s = {share:5.1f} % of the ceiling; "
              f"errors {r['errors']} {r['statuses'] or ''} (client CPU {r['client_cpu_s']} s)")
    print(f"('{SUBMITTING_ALONE}': the server alone, as with the worker on a machine of its own; its jobs were "
          "graded after it)")
    print(f"load average after: {loadavg()}", flush=True)


# -- checks ----------------------------------------------------------------------------------------

def _verify(db_url: str, rec: Recorder, drain_timeout: float) -> dict:
    import psycopg

    result: dict = {}
    with psycopg.connect(libpq(db_url), autocommit=True) as conn:
        rows = conn.execute("SELECT id, student_id, explanation FROM submission").fetchall()
        by_marker: dict[str, list[int]] = defaultdict(list)
        for sub_id, _student_id, explanation in rows:
            by_marker[explanation.split(":", 1)[0]].append(sub_id)
        db_ids = {r[0] for r in rows}
        returned = [a[0] for a in rec.accepted]
        missing = [a for a in rec.accepted if a[0] not in db_ids]
        not_once = [a for a in rec.accepted if by_marker.get(a[1]) != [a[0]]]
        unreported = len(db_ids - set(returned))  # saved, but the client never heard (e.g. a timeout)
        versions = conn.execute(
            "SELECT count(*) FROM (SELECT student_id, problem_id, count(*) AS n, max(version) AS v "
            "FROM submission GROUP BY student_id, problem_id) t WHERE n <> v").fetchone()[0]
        result.update(accepted=len(returned), in_database=len(db_ids), duplicate_ids=len(returned) - len(set(returned)),
                      missing=len(missing), not_exactly_once=len(not_once), saved_but_unreported=unreported,
                      version_gaps=versions)
        # Each job is saved with its submission, so every saved submission has its job already.
        waited = _drain(db_url, drain_timeout)
        states = dict(conn.execute("SELECT state, count(*) FROM grading_job GROUP BY state").fetchall())
        result.update(jobs=sum(states.values()), job_states=states,
                      jobs_done_after_s=waited if waited is not None else round(drain_timeout, 1))
    return result


def _drain(db_url: str, timeout: float) -> Optional[float]:
    """Seconds until every grading job is done (None if some are not within `timeout`)."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(libpq(db_url), autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM grading_job WHERE state <> 'done'").fetchone()[0]:
            if time.monotonic() - started > timeout:
                return None
            time.sleep(0.5)
    return round(time.monotonic() - started, 1)


# -- main ------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=300)
    p.add_argument("--window", type=float, default=60.0, help="seconds in which every student submits")
    p.add_argument("--short", action="store_true", help="40 students in 10 s (for CI)")
    p.add_argument("--resubmit", type=float, default=0.25, help="share of students who send a second version")
    p.add_argument("--export-every", type=float, default=1.0, help="seconds between gradebook downloads")
    p.add_argument("--admin-url", default=default_admin_url(),
                   help="a PostgreSQL URL allowed to CREATE DATABASE (default: TEST_DATABASE_URL)")
    p.add_argument("--redis-url", default=default_redis_url(),
                   help="scratch Redis for the job queue; empty = the SQLite queue")
    p.add_argument("--gunicorn-workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--grading-threads", type=int, default=4, help="grading jobs the one worker process runs at once")
    p.add_argument("--worker-priority", default="idle",
                   help="the grading worker's WORKER_NICENESS: idle (default here: the web server and the worker "
                        "share this machine, and grading may wait for the rush to pass) or 0-19")
    p.add_argument("--drain-timeout", type=float, default=180.0, help="seconds to wait for grading to finish")
    p.add_argument("--seed", type=int, default=None, help="random seed for the arrival times")
    p.add_argument("--saturate-seconds", type=float, default=None,
                   help="after the rush, seconds of closed-loop load per route and on the bare-Flask ceiling; "
                        "0 = skip (default 5, or 0 with --short)")
    p.add_argument("--saturate-connections", type=int, default=32)
    p.add_argument("--saturate-clients", type=int, default=2, help="client processes for the saturation load")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    if args.short:
        args.students, args.window = 40, 10.0
    if args.saturate_seconds is None:
        args.saturate_seconds = 0.0 if args.short else 5.0
    if not 1 <= args.students <= 5000 or not 1 <= args.window <= 600:
        p.error("--students must be 1..5000 and --window 1..600 seconds")
    if not args.admin_url:
        p.error("the rush runs on PostgreSQL: give --admin-url")
    require_loopback(p, args.admin_url, args.redis_url)
    rng = random.Random(args.seed)

    report: dict = {"students": args.students, "window_s": args.window}
    try:
        with Scratch("rush", args.admin_url, args.redis_url) as scratch:
            report["ok"] = scratch.ok = _run(args, rng, scratch, report)
            if not scratch.ok:
                print(f"FAILED: see the numbers above; logs in {scratch.workdir}", flush=True)
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
    return 0 if report.get("ok") else 1


def _run(args, rng: random.Random, scratch: Scratch, report: dict) -> bool:
    t = time.monotonic()
    scratch.migrate()
    seed = _seed(scratch, args.students)
    report["seed_s"] = round(time.monotonic() - t, 1)
    report["loadavg_before"] = loadavg()
    print(f"database {scratch.db_name}: schema and {args.students} students with tokens in {report['seed_s']} s; "
          f"queue: {'Redis ' + args.redis_url if args.redis_url else 'SQLite'}; load average {report['loadavg_before']}",
          flush=True)

    env = scratch.env()
    worker = scratch.start_worker({**env, "WORKER_NICENESS": args.worker_priority}, args.grading_threads)
    port = free_port()
    gunicorn = scratch.start(_gunicorn(args, port, "app:create_app()"), "gunicorn", env)
    wait_http(port, 60, gunicorn, scratch.log("gunicorn"))
    print(f"gunicorn on {HOST}:{port} ({args.gunicorn_workers} workers x {args.threads} threads) "
          f"and one grading worker; {args.students} students submit within {args.window:.0f} s", flush=True)

    rec = Recorder()
    t0 = time.monotonic() + 0.5
    plans = []
    for n in range(args.students):
        at = rng.uniform(0, args.window)
        again = min(args.window, at + rng.uniform(1, 10)) if rng.random() < args.resubmit else None
        plans.append((n, at, again))
    threads = [threading.Thread(target=_student, args=(rec, port, seed, n, at, again, t0), daemon=True)
               for n, at, again in plans]
    exports = [0]
    teacher = threading.Thread(target=lambda: exports.__setitem__(0, _instructor(
        rec, port, seed, t0 + args.window, args.export_every)), daemon=True)
    for th in threads:
        th.start()
    teacher.start()
    hard_stop = t0 + args.window + 2 * REQUEST_TIMEOUT + 30
    for th in threads + [teacher]:
        th.join(timeout=max(0.0, hard_stop - time.monotonic()))
    stuck = sum(th.is_alive() for th in threads + [teacher])
    elapsed = time.monotonic() - t0
    report["loadavg_after_rush"] = loadavg()
    expected = args.students + sum(1 for _n, _at, again in plans if again is not None)

    routes = {}
    for route, values in sorted(rec.latencies.items()):
        values = sorted(values)
        routes[route] = {"count": len(values), "p50_ms": round(1000 * _percentile(values, 50), 1),
                         "p95_ms": round(1000 * _percentile(values, 95), 1),
                         "p99_ms": round(1000 * _percentile(values, 99), 1),
                         "max_ms": round(1000 * values[-1], 1),
                         "errors": dict(rec.errors.get(route, {}))}
    for route, errs in rec.errors.items():
        routes.setdefault(route, {"count": 0, "errors": dict(errs)})
    report.update(routes=routes, submissions_sent=expected, gradebook_exports=exports[0],
                  load_s=round(elapsed, 1), stuck_clients=stuck,
                  errors=sum(sum(e.values()) for e in rec.errors.values()))
    report["checks"] = _verify(scratch.db_url, rec, args.drain_timeout)
    _print(report)
    if args.saturate_seconds > 0:
        report["saturation"] = _saturation(args, port, seed, worker)
        stop(gunicorn)
        # The saturated submissions leave the worker a backlog: the ceiling is measured once it is graded,
        # on a machine as quiet as the rush found it (else the worker's grading lowers the ceiling and so
        # flatters every share).
        report["saturation"]["backlog_graded_after_s"] = _drain(scratch.db_url, args.drain_timeout)
        report["saturation"]["ceiling"] = _ceiling(args, scratch, env)
        _print_saturation(report["saturation"])
    c = report["checks"]
    return (report["errors"] == 0 and stuck == 0 and c["accepted"] == expected and c["missing"] == 0
            and c["not_exactly_once"] == 0 and c["duplicate_ids"] == 0 and c["version_gaps"] == 0
            and c["in_database"] == c["accepted"] and c["jobs"] == c["in_database"]
            and c["job_states"].get("done", 0) == c["jobs"]
            and (args.saturate_seconds <= 0 or report["saturation"]["backlog_graded_after_s"] is not None))


def _print(report: dict) -> None:
    print(f"\n{report['students']} students, {report['submissions_sent']} submissions in {report['window_s']:.0f} s "
          f"(load ran {report['load_s']} s); {report['gradebook_exports']} gradebook exports meanwhile")
    print(f"{'route':44} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  errors")
    for route, r in report["routes"].items():
        print(f"{route:44} {r['count']:>6} {r.get('p50_ms', 0):>8} {r.get('p95_ms', 0):>8} {r.get('p99_ms', 0):>8} "
              f"{r.get('max_ms', 0):>8}  {r['errors'] or 0}")
    c = report["checks"]
    print(f"accepted (201): {c['accepted']}; in the database: {c['in_database']}; each exactly once: "
          f"{c['not_exactly_once'] == 0 and c['missing'] == 0 and c['duplicate_ids'] == 0}; version gaps: "
          f"{c['version_gaps']}; saved but unreported: {c['saved_but_unreported']}")
    print(f"grading jobs: {c['jobs']} {c['job_states']}; all done {c['jobs_done_after_s']} s after the load ended")


if __name__ == "__main__":
    sys.exit(main())
