"""Gradebook at term's end: how long a big course's CSV export and gradebook page take.

It creates a fresh database (PostgreSQL through --admin-url, dropped at the end; or SQLite with
--admin-url ""), builds the schema with Alembic, and fills it in bulk: one course with N students
and A assignments (one problem each, unless --problems says otherwise), every student's graded
submission to every problem (a quarter with a second version, whose grades count instead), some
components waiting for review and some overridden by the instructor. Then, through the real app
(the Flask test client, logged in as the instructor, the same code path as a browser):

  - GET /teach/courses/<code>/gradebook.csv   (the CSV download)
  - GET /teach/courses/<code>/gradebook       (the page: its first 50 students by name, as a
                                               teacher opens it; the CSV holds everyone)

each --repeat times; it reports the median time, the first (cold) time and the SQL statements per
request, and checks the CSV: one row per student, one column per assignment, the totals add up.

    python bench/gradebook.py                                  # 2000 students x 40 assignments
    python bench/gradebook.py --students 200 --assignments 10  # quick look
    python bench/gradebook.py --json                           # last line: one JSON object

Targets (issue 13): the export and the page each in under 1 s for 2,000 students x 40 assignments.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import Scratch, default_admin_url, loadavg, require_loopback  # noqa: E402 - after the path

PASSWORD = "gradebook-bench"


def seed(app, students: int, assignments: int, problems_per: int, rng: random.Random) -> dict:
    """Bulk rows through SQLAlchemy Core (the services would take minutes for this many)."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from classroom.models import (
        AnswerKey, Assignment, AssignmentProblem, Course, Enrollment, FlawedSolution, Grade, GradingJob, Problem,
        Submission, User, utcnow,
    )

    engine = app.extensions["db_engine"]
    now = utcnow()
    pw = generate_password_hash(PASSWORD)
    with engine.begin() as conn:
        teacher_id = conn.execute(insert(User).values(email="teacher@gradebook.test", name="Gradebook Teacher",
                                                      password_hash=pw, role="instructor", created_at=now)
                                  .returning(User.id)).scalar_one()
        course_id = conn.execute(insert(Course).values(code="BOOK01", title="Big course", created_by_id=teacher_id,
                                                       created_at=now).returning(Course.id)).scalar_one()
        conn.execute(insert(Enrollment), [{"course_id": course_id, "user_id": teacher_id, "role": "instructor",
                                           "created_at": now}])
        conn.execute(insert(User), [{"email": f"s{n:05d}@gradebook.test", "name": f"Student {n:05d}",
                                     "password_hash": pw, "role": "student", "created_at": now}
                                    for n in range(students)])
        student_ids = list(conn.execute(select(User.id).where(User.role == "student").order_by(User.id)).scalars())
        conn.execute(insert(Enrollment), [{"course_id": course_id, "user_id": u, "role": "student", "created_at": now}
                                          for u in student_ids])
        plan = []  # (assignment id, [(problem id, solution id)])
        for a in range(assignments):
            assignment_id = conn.execute(insert(Assignment).values(
                course_id=course_id, title=f"Week {a + 1:02d}", instructions="", opens_at=now - timedelta(days=60),
                due_at=now - timedelta(days=59 - a), points=10, released_at=now, created_at=now)
                .returning(Assignment.id)).scalar_one()
            pairs = []
            for k in range(problems_per):
                problem_id = conn.execute(insert(Problem).values(
                    course_id=course_id, title=f"Problem {a + 1}.{k + 1}", statement="Tickets cost \\$6 each for "
                    "$n=28$ students.", reference_solution="28 × 6 = 168", reference_answer="168",
                    lean_header="", lean_statement="", created_at=now).returning(Problem.id)).scalar_one()
                solution_id = conn.execute(insert(FlawedSolution).values(
                    problem_id=problem_id, steps=["Multiply.", "That is 158.", "So 158."], final_answer="158",
                    approved=True, created_at=now).returning(FlawedSolution.id)).scalar_one()
                conn.execute(insert(AnswerKey).values(flawed_solution_id=solution_id, first_wrong_step=2,
                                                      reason="28 × 6 = 168.", error_kind="arithmetic"))
                conn.execute(insert(AssignmentProblem).values(assignment_id=assignment_id, problem_id=problem_id,
                                                              position=k))
                pairs.append((problem_id, solution_id))
            plan.append((assignment_id, pairs))

        subs = []
        for assignment_id, pairs in plan:
            for problem_id, solution_id in pairs:
                for u in student_ids:
                    for version in range(1, 3 if rng.random() < 0.25 else 2):
                        subs.append({"assignment_id": assignment_id, "problem_id": problem_id, "student_id": u,
                                     "flawed_solution_id": solution_id, "version": version,
                                     "error_step": rng.choice((2, 2, 2, 1, 3)), "explanation": "Step 2 is wrong.",
                                     "correction": "28 × 6 = 168", "final_answer": "168", "lean_proof": "",
                                     "is_late": False, "late_penalty_percent": 0, "created_at": now})
        sub_ids: list[int] = []
        for start in range(0, len(subs), 20_000):
            sub_ids += conn.execute(insert(Submission).returning(Submission.id, sort_by_parameter_order=True),
                                    subs[start:start + 20_000]).scalars().all()
        conn.execute(insert(GradingJob), [{"submission_id": s, "assignment_id": row["assignment_id"], "state": "done",
                                           "attempts": 1, "enqueued_at": now, "finished_at": now}
                                          for s, row in zip(sub_ids, subs)])
        grades = []
        for s, row in zip(sub_ids, subs):
            review = rng.random() < 0.05
            for component, score in (("location", 1.0 if row["error_step"] == 2 else 0.0),
                                     ("explanation", None if review else rng.choice((1.0, 0.5, 0.0))),
                                     ("final_answer", 1.0), ("correction", rng.choice((1.0, 0.5)))):
                grades.append({"submission_id": s, "component": component,
                               "status": "needs_review" if score is None else "graded",
                               "score": score, "decided_by": None if score is None else "exact", "feedback": "",
                               "override_score": 0.75 if score is not None and rng.random() < 0.02 else None,
                               "override_comment": "", "flags": [], "created_at": now, "updated_at": now})
        for start in range(0, len(grades), 50_000):
            conn.execute(insert(Grade), grades[start:start + 50_000])
    with engine.connect() as conn:
        # Statistics, as autovacuum would have gathered them over a term: without them the planner
        # takes these freshly loaded tables for empty ones.
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return {"teacher_email": "teacher@gradebook.test", "course": "BOOK01", "submissions": len(subs),
            "grades": len(grades), "student_count": len(student_ids)}


def _count_statements(engine):
    from sqlalchemy import event

    counter = {"n": 0}

    def count(*_args):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    return counter, lambda: event.remove(engine, "before_cursor_execute", count)


def measure(app, seeded: dict, repeat: int) -> dict:
    client = app.test_client()
    resp = client.post("/login", data={"email": seeded["teacher_email"], "password": PASSWORD})
    if resp.status_code != 302:
        raise SystemExit(f"could not log in as the instructor: {resp.status_code}")
    counter, stop = _count_statements(app.extensions["db_engine"])
    out = {}
    try:
        for name, path in (("export", f"/teach/courses/{seeded['course']}/gradebook.csv"),
                           ("page", f"/teach/courses/{seeded['course']}/gradebook")):
            times, statements, body = [], [], b""
            for _ in range(repeat):
                counter["n"] = 0
                started = time.perf_counter()
                resp = client.get(path)
                body = resp.get_data()
                times.append(time.perf_counter() - started)
                statements.append(counter["n"])
                if resp.status_code != 200:
                    raise SystemExit(f"GET {path} answered {resp.status_code}")
            out[name] = {"median_s": statistics.median(times), "first_s": times[0], "best_s": min(times),
                         "statements": max(statements), "bytes": len(body), "body": body}
    finally:
        stop()
    return out


def check_csv(body: bytes, students: int, assignments: int) -> None:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    header, rows = rows[0], rows[1:]
    if len(rows) != students:
        raise SystemExit(f"the CSV has {len(rows)} student rows, expected {students}")
    if len(header) != assignments + 4:  # Student, Email, one per assignment, Total, Awaiting review
        raise SystemExit(f"the CSV has {len(header)} columns, expected {assignments + 4}")
    for row in rows[:50]:
        total = sum(float(v) for v in row[2:2 + assignments])
        if abs(total - float(row[2 + assignments])) > 0.05 * assignments:
            raise SystemExit(f"a total does not add up: {row[:3]} ... {row[2 + assignments]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=2000)
    p.add_argument("--assignments", type=int, default=40)
    p.add_argument("--problems", type=int, default=1, help="problems per assignment")
    p.add_argument("--repeat", type=int, default=3, help="requests per route; the median is reported")
    p.add_argument("--admin-url", default=default_admin_url(),
                   help='a PostgreSQL URL allowed to CREATE DATABASE (default: TEST_DATABASE_URL); "" = SQLite')
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = p.parse_args(argv)
    if not 1 <= args.students <= 20000 or not 1 <= args.assignments <= 200 or not 1 <= args.problems <= 10:
        p.error("--students 1..20000, --assignments 1..200, --problems 1..10")
    require_loopback(p, args.admin_url)

    with Scratch("gradebook", args.admin_url) as scratch:
        scratch.migrate()
        app = scratch.app(HUEY_IMMEDIATE=True, REDIS_URL=None, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        started = time.monotonic()
        seeded = seed(app, args.students, args.assignments, args.problems, random.Random(args.seed))
        print(f"{scratch.backend} database with {args.students} students x {args.assignments} assignments "
              f"({args.problems} problem(s) each): {seeded['submissions']:,} submissions, {seeded['grades']:,} grades, "
              f"seeded in {time.monotonic() - started:.1f} s", flush=True)
        load = loadavg()
        result = measure(app, seeded, max(1, args.repeat))
        check_csv(result["export"]["body"], args.students, args.assignments)
        for name, label in (("export", "CSV export "), ("page", "gradebook page")):
            r = result[name]
            print(f"{label}: median {r['median_s']:.3f} s (first {r['first_s']:.3f} s, best {r['best_s']:.3f} s), "
                  f"{r['statements']} SQL statements, {r['bytes']:,} bytes", flush=True)
        ok = result["export"]["median_s"] < 1.0 and result["page"]["median_s"] < 1.0
        print(f"target (each under 1 s): {'met' if ok else 'NOT met'}; load average {load} before, "
              f"{loadavg()} after", flush=True)
        scratch.ok = True  # the checks passed; the timings are for the reader
        if args.json:
            print(json.dumps({"students": args.students, "assignments": args.assignments,
                              "export_seconds": round(result["export"]["median_s"], 3),
                              "page_seconds": round(result["page"]["median_s"], 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
