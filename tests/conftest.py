"""Shared fixtures: the app on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

Every test that takes `app` runs once per database backend available.
"""
from __future__ import annotations

import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from classroom import create_app
from classroom.db import make_engine, normalise_url
from classroom.models import ROLE_INSTRUCTOR, utcnow
from classroom.services import accounts, assignments, courses, problems
from classroom.services.assignments import AssignmentDraft
from classroom.services.problems import ProblemDraft

from support import PASSWORD, PG_URL, REDIS_URL, login  # noqa: F401  (login re-exported for tests)
from tests import openai_server as _openai_server_module

# tests/ is on sys.path too: make `import openai_server` the very same module as
# `tests.openai_server`, so Reply/Status/... are recognised whichever name a test used.
sys.modules.setdefault("openai_server", _openai_server_module)

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_report_header(config):
    lines = [f"database backends: {', '.join(BACKENDS)}"]
    if not PG_URL:
        lines.append("PostgreSQL tests skipped: set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/test)")
    if not REDIS_URL:
        lines.append("Redis tests skipped: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)")
    return lines


@pytest.fixture(autouse=True)
def _push_request_context():
    """Replaces pytest-flask's fixture of this name: it shares one app context
    (and so one flask.g, DB session and logged-in user) across every client
    request of a test, which no real server does."""
    yield


@pytest.fixture(scope="session")
def pg_engine():
    """A private PostgreSQL database for this run, with the schema built once."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    admin = make_engine(PG_URL)
    name = f"classroom_test_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalise_url(PG_URL).rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    import classroom.models  # noqa: F401
    SQLModel.metadata.create_all(engine)
    yield url, engine
    engine.dispose()
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def app_config(backend, tmp_path, request):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_DIR": str(tmp_path),
        "HUEY_IMMEDIATE": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "GRADER_MODEL": None,
        "TUTEE_MODEL": None,
        "OPENAI_BASE_URL": None,
        "REDIS_URL": None,
        "SERVER_NAME": "localhost",
    }
    if request.node.get_closest_marker("real_queue"):
        # Jobs wait in a SQLite queue for a worker instead of running inside the request.
        config.update(HUEY_IMMEDIATE=False, HUEY_SQLITE_PATH=str(tmp_path / "jobs.sqlite3"),
                      JOB_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}")
    if backend == "sqlite":
        config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        url, engine = request.getfixturevalue("pg_engine")
        _truncate(engine)
        config["DATABASE_URL"] = url
    return config


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    if app_config["DATABASE_URL"].startswith("sqlite"):
        SQLModel.metadata.create_all(app.extensions["db_engine"])
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def dbs(app):
    """A database session for test code (separate from the requests' sessions).

    No app context is held open: requests must each get their own, as on a server."""
    with Session(app.extensions["db_engine"], expire_on_commit=False) as s:
        yield s


class World:
    """Builds courses, people and work through the real services."""

    def __init__(self, app, s: Session):
        self.app = app
        self.s = s
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def user(self, role="student", email=None, name=None):
        n = self._next()
        with self.app.app_context():
            return accounts.create_user(self.s, email=email or f"{role}{n}@example.test",
                                        name=name or f"{role.title()} {n}", password=PASSWORD, role=role)

    def instructor(self, **kw):
        return self.user(ROLE_INSTRUCTOR, **kw)

    def student(self, course=None, **kw):
        u = self.user("student", **kw)
        if course is not None:
            with self.app.app_context():
                courses.join_course(self.s, u, course.code)
        return u

    def course(self, teacher, code=None, title="Algebra I"):
        with self.app.app_context():
            return courses.create_course(self.s, teacher, title=title, code=code)

    def problem(self, teacher, course, **overrides):
        values = dict(title="Tickets", statement="Costs \\$6 each for $n=28$ students.",
                      reference_solution="28 × 6 = 168", reference_answer="168",
                      steps=["Multiply $28 \\times 6$.", "That is $158$.", "So 158 dollars."],
                      flawed_final_answer="158", first_wrong_step=2, reason="28 × 6 = 168, not 158.",
                      error_kind="arithmetic")
        values.update(overrides)
        with self.app.app_context():
            return problems.create_problem(self.s, teacher, course, ProblemDraft(**values))

    def assignment(self, teacher, course, problem_list, *, opens_in=timedelta(days=-1), due_in=timedelta(days=7),
                   **overrides):
        now = utcnow()
        draft = AssignmentDraft(title=overrides.pop("title", "Week 1"), opens_at=now + opens_in, due_at=now + due_in,
                                problem_ids=[p.id for p in problem_list], **overrides)
        with self.app.app_context():
            return assignments.create_assignment(self.s, teacher, course, draft)

    def classroom(self):
        """A course with a teacher, two students, one problem and an open assignment."""
        teacher = self.instructor()
        course = self.course(teacher)
        problem = self.problem(teacher, course)
        assignment = self.assignment(teacher, course, [problem])
        alice = self.student(course, name="Alice Adams")
        bob = self.student(course, name="Bob Brown")
        return dict(teacher=teacher, course=course, problem=problem, assignment=assignment, alice=alice, bob=bob)


@pytest.fixture
def world(app, dbs):
    return World(app, dbs)


@pytest.fixture
def make_client(app):
    """A fresh browser-like client, optionally logged in as `user`."""
    def _make(user=None):
        c = app.test_client()
        if user is not None:
            login(c, user)
        return c
    return _make


@pytest.fixture
def openai_server():
    """A loopback OpenAI-compatible endpoint, fresh per test, so slow handlers never answer the next test."""
    server = _openai_server_module.FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lti_key_file(tmp_path_factory):
    """One LTI tool key for the run's apps (an RSA key takes a moment to make); the first launch makes it.
    A module using `lms` sets app_config's PUBLIC_URL="http://localhost" and LTI_PRIVATE_KEY_FILE to this."""
    return str(tmp_path_factory.mktemp("lti") / "lti_private_key.pem")


@pytest.fixture
def lms(app):
    """An LMS of the test's own on loopback (tests/lti_platform.py), registered with `flask lti-add-platform`.
    Its token endpoint checks the tool's signed assertions against the app's /lti/jwks."""
    from lti_platform import FakePlatform, register

    assert app.config.get("PUBLIC_URL") == "http://localhost", "set PUBLIC_URL and LTI_PRIVATE_KEY_FILE in app_config"
    platform = FakePlatform(tool_jwks=lambda: app.test_client().get("/lti/jwks").get_json())
    result = register(app, platform)
    assert result.exit_code == 0, result.output
    assert "Registered the LTI platform" in result.output and "deployment deploy-1 added" in result.output
    yield platform
    platform.close()
