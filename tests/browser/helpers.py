"""The live server and helpers shared by the browser tests and tests/browser/screenshots.py.

Fixtures live in conftest.py; this module has no pytest in it so the screenshot script can use it.
"""
from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import got_request_exception
from sqlalchemy import text
from sqlmodel import Session
from werkzeug.serving import WSGIRequestHandler, make_server

from support import PASSWORD, PG_URL

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests skipped: the playwright package is not installed"
    return None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request would bury pytest's output
        pass


class LiveServer:
    """The app served by werkzeug from a background thread on 127.0.0.1:<free port>."""

    def __init__(self, app, backend: str, cleanup=None):
        self.app = app
        self.backend = backend
        self.errors: list[str] = []
        self._cleanup = cleanup
        got_request_exception.connect(self._record, app, weak=False)
        # Port 0: the OS picks a free port and we read it back, so there is no race for it.
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)
        self._thread.start()

    def _record(self, sender, exception, **extra):
        self.errors.append(f"{type(exception).__name__}: {exception}")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self.app.extensions["db_engine"].dispose()
        if self._cleanup:
            self._cleanup()

    @contextmanager
    def session(self):
        """A database session on the server's engine (inside an app context), for the services."""
        with self.app.app_context(), Session(self.app.extensions["db_engine"], expire_on_commit=False) as s:
            yield s


def _pg_database():
    """A private PostgreSQL database: its URL and a function that drops it."""
    from classroom.db import make_engine, normalise_url
    admin = make_engine(PG_URL)
    name = f"classroom_browser_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return normalise_url(PG_URL).rsplit("/", 1)[0] + "/" + name, drop


def start_live_server(backend: str, tmp: Path) -> LiveServer:
    """The app as deployed (CSRF on, schema from the migrations), grading in-process, no rate limits."""
    from classroom import create_app
    from classroom.migrate import upgrade_to_head
    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'live.sqlite3'}"
    else:
        url, drop = _pg_database()
    try:
        upgrade_to_head(url)
        app = create_app({
            "SECRET_KEY": "browser-test-secret",
            "INSTANCE_DIR": str(tmp),
            "DATABASE_URL": url,
            "HUEY_IMMEDIATE": True,
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
            "GRADER_MODEL": None,
            "OPENAI_BASE_URL": None,
            "REDIS_URL": None,
            "LEAN_CMD": None,
        })
        return LiveServer(app, backend, cleanup=drop)
    except Exception:
        if drop:
            drop()
        raise


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@dataclass
class Classroom:
    teacher_email: str
    student_email: str
    code: str
    course_id: int
    problem_id: int
    assignment_id: int
    submission_id: int | None


STATEMENT = r"Tickets cost \$6 each. What do $n = 28$ students pay in total, i.e. what is $6n$?"
STEPS = [r"There are $n = 28$ students and each pays \$6.",
         r"So the total is $28 \times 6 = 158$.",
         "The students pay \\$158 in total.\n\n$$\\sum_{i=1}^{28} 6 = 158$$"]


def seed_classroom(server: LiveServer, *, submit: bool = False) -> Classroom:
    """A course with one problem, an open assignment and an enrolled student, built through the services."""
    from classroom import jobs
    from classroom.models import ROLE_INSTRUCTOR, utcnow
    from classroom.services import accounts, assignments, courses, problems, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    from classroom.services.submissions import CritiqueDraft

    tag = uuid.uuid4().hex[:8]
    with server.session() as s:
        teacher = accounts.create_user(s, email=f"t-{tag}@example.test", name="Tess Teacher", password=PASSWORD,
                                       role=ROLE_INSTRUCTOR)
        student = accounts.create_user(s, email=f"s-{tag}@example.test", name="Sam Student", password=PASSWORD)
        course = courses.create_course(s, teacher, title="Algebra I", code=f"ALG-{tag}".upper())
        courses.join_course(s, student, course.code)
        problem = problems.create_problem(s, teacher, course, ProblemDraft(
            title="Tickets", statement=STATEMENT, reference_solution=r"$28 \times 6 = 168$", reference_answer="168",
            steps=STEPS, flawed_final_answer="158", first_wrong_step=2,
            reason="$28 \\times 6 = 168$, not $158$.", error_kind="arithmetic"))
        now = utcnow()
        assignment = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Week 1", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=7),
            problem_ids=[problem.id]))
        submission_id = None
        if submit:
            sub, job = submissions.submit(s, student, assignment.id, problem.id, CritiqueDraft(
                error_step=2, explanation=r"$28 \times 6$ is $168$, not $158$.",
                correction=r"So the total is $28 \times 6 = 168$ dollars.", final_answer="168"))
            jobs.run_job(job.id)
            submission_id = sub.id
        return Classroom(teacher.email, student.email, course.code, course.id, problem.id, assignment.id,
                         submission_id)
