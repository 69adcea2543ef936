"""What the class missed, for a big course: how long the analysis pages take and how many statements they send.

It fills a fresh database in bulk as bench/gradebook.py does (N students, A assignments of P problems,
every student's graded versions, a quarter resubmitted, some components waiting for review) and then,
through the real app as the instructor, requests each --repeat times:

  - GET /teach/assignments/<id>/analysis             (the page, every chart drawn)
  - GET /api/v1/assignments/<id>/item-analysis       (the JSON)
  - GET /teach/assignments/<id>/analysis/steps.csv   (one chart's numbers)
  - GET /teach/courses/<code>/progress               (a page of 50 rows of small multiples, by name)
  - GET /teach/courses/<code>/progress?sort=average&order=desc&page=7   (the seventh page by average)
  - GET /teach/courses/<code>/progress.csv           (every student)

It reports the median, first and best times and the statements per request.

    python bench/item_analysis.py                                # 2000 students, 4 assignments of 4 problems
    python bench/item_analysis.py --students 200 --admin-url ""  # a quick look on SQLite

Target (issue 17): a 2,000-student course draws in well under a second, in a constant number of queries.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gradebook import PASSWORD, _count_statements, seed  # noqa: E402 - after the path
from bench.harness import Scratch, default_admin_url, loadavg, require_loopback  # noqa: E402


def measure(app, seeded: dict, repeat: int) -> dict:
    from sqlalchemy import select

    from classroom.models import Assignment, Course
    from classroom.services import accounts

    engine = app.extensions["db_engine"]
    with engine.connect() as conn:
        assignment_id = conn.execute(select(Assignment.id).join(Course, Course.id == Assignment.course_id)
                                     .where(Course.code == seeded["course"]).order_by(Assignment.id)).scalars().first()
    with app.app_context():
        from classroom import db
        token = accounts.create_token(db.session(), seeded["teacher_email"], "bench")
    client = app.test_client()
    if client.post("/login", data={"email": seeded["teacher_email"], "password": PASSWORD}).status_code != 302:
        raise SystemExit("could not log in as the instructor")
    counter, stop = _count_statements(engine)
    routes = (("page", f"/teach/assignments/{assignment_id}/analysis", {}),
              ("api", f"/api/v1/assignments/{assignment_id}/item-analysis", {"Authorization": f"Bearer {token}"}),
              ("csv", f"/teach/assignments/{assignment_id}/analysis/steps.csv", {}),
              ("progress", f"/teach/courses/{seeded['course']}/progress", {}),
              ("sorted", f"/teach/courses/{seeded['course']}/progress?sort=average&order=desc&page=7", {}),
              ("course-csv", f"/teach/courses/{seeded['course']}/progress.csv", {}))
    out = {}
    try:
        for name, path, headers in routes:
            times, statements = [], []
            for _ in range(repeat):
                counter["n"] = 0
                started = time.perf_counter()
                resp = client.get(path, headers=headers)
                resp.get_data()
                times.append(time.perf_counter() - started)
                statements.append(counter["n"])
                if resp.status_code != 200:
                    raise SystemExit(f"GET {path} answered {resp.status_code}")
            if name == "api":
                body = resp.get_json()
                answered = body["answered_students"]
                if answered != seeded["student_count"]:
                    raise SystemExit(f"the API counts {answered} students, expected {seeded['student_count']}")
            out[name] = {"median_s": round(statistics.median(times), 3), "first_s": round(times[0], 3),
                         "best_s": round(min(times), 3), "statements": max(statements)}
    finally:
        stop()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=2000)
    p.add_argument("--assignments", type=int, default=4)
    p.add_argument("--problems", type=int, default=4, help="problems per assignment")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--admin-url", default=default_admin_url(),
                   help='a PostgreSQL URL allowed to CREATE DATABASE (default: TEST_DATABASE_URL); "" = SQLite')
    p.add_argument("--json", action="store_true", help="end with one line of JSON")
    args = p.parse_args(argv)
    if not 1 <= args.students <= 20000 or not 1 <= args.assignments <= 100 or not 1 <= args.problems <= 10:
        p.error("--students 1..20000, --assignments 1..100, --problems 1..10")
    require_loopback(p, args.admin_url)
    with Scratch("items", args.admin_url) as scratch:
        scratch.migrate()
        app = scratch.app(HUEY_IMMEDIATE=True, REDIS_URL=None, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        started = time.perf_counter()
        seeded = seed(app, args.students, args.assignments, args.problems, random.Random(17))
        print(f"{scratch.backend}: {seeded['student_count']} students, {seeded['submissions']} versions, "
              f"{seeded['grades']} grades, seeded in {time.perf_counter() - started:.1f} s; load {loadavg()}")
        figures = measure(app, seeded, args.repeat)
        for name, f in figures.items():
            print(f"{name:10s} median {f['median_s']:.3f} s  first {f['first_s']:.3f} s  best {f['best_s']:.3f} s"
                  f"  {f['statements']} statements")
        print(f"load average after: {loadavg()}")
        scratch.ok = True
        if args.json:
            print(json.dumps({"backend": scratch.backend, **seeded, "figures": figures, "load": loadavg()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
