"""The hot statements (services/hot_statements.py): on PostgreSQL the busiest statements are run by psycopg
itself; what they return must be what SQLAlchemy would have returned, on either database, and the
objects made from their rows must behave as loaded ones."""
from __future__ import annotations

import subprocess
import sys
from datetime import timezone

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, select

from classroom import db
from classroom.models import ApiToken, Course, User
from classroom.services import accounts, courses, hot_statements
from support import PG_URL, PROJECT_ROOT


def _token_row(app, token, driver: bool):
    with app.app_context():
        s = db.session()
        statement = accounts.token_statement()
        params = {"token_hash": accounts.token_hash_of(token)}
        if driver:
            return hot_statements.first(s, statement, params)
        row = s.connection().execute(statement, params).first()
        return None if row is None else tuple(row)


def test_a_hot_statement_returns_what_sqlalchemy_returns(app, world, dbs):
    c = world.classroom()
    token = accounts.create_token(dbs, c["alice"].email, "t")
    assert accounts.token_owner(dbs, token) is not None  # notes its last use: a datetime column to compare
    fast, plain = _token_row(app, token, True), _token_row(app, token, False)
    assert fast == plain
    assert isinstance(fast, tuple) and fast[1].tzinfo == timezone.utc  # SQLAlchemy's UTC conversion applied
    assert _token_row(app, "not-a-token", True) is None


def test_objects_from_rows_are_loaded_clean_and_save_their_changes(app, world, dbs):
    c = world.classroom()
    token = accounts.create_token(dbs, c["alice"].email, "t")
    with app.app_context():
        s = db.session()
        user, _token_id = accounts.token_owner(s, token)
        state = sa_inspect(user)
        assert state.persistent and not s.dirty and user in s
        assert s.get(User, user.id) is user  # the session's identity map holds it: no second object
        # The same row read again comes back as the same object, as a query's would.
        course, membership = courses.course_and_membership(s, user, c["course"].code)
        again, _ = courses.course_and_membership(s, user, c["course"].code)
        assert again is course and membership.user_id == user.id
        user.name = "Alice A. Adams"
        s.commit()
    dbs.expire_all()
    assert dbs.get(User, c["alice"].id).name == "Alice A. Adams"


def test_a_course_code_typed_without_its_dash_finds_the_course(app, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher, code="KQ7-M3X")
    student = world.student(course)
    with app.app_context():
        s = db.session()
        found, membership = courses.course_and_membership(s, student, "kq7m3x")
        assert found.id == course.id and membership.role == "student"
        with pytest.raises(courses.NotFound):
            courses.course_and_membership(s, student, "ZZZ-ZZZ")


def test_a_unique_key_broken_by_a_hot_statement_is_sqlalchemys_integrity_error(app, world, dbs):
    """(On PostgreSQL the statement goes to psycopg directly, whose own error must be translated.)"""
    c = world.classroom()
    accounts.create_token(dbs, c["alice"].email, "t")
    existing = dbs.exec(select(ApiToken)).first()
    table = ApiToken.__table__
    # An INSERT ... RETURNING of a token hash that exists: the error must be the one callers catch.
    statement = (table.insert().values(user_id=existing.user_id, token_hash=existing.token_hash, label="again",
                                       created_at=existing.created_at).returning(table.c.id))
    with app.app_context():
        s = db.session()
        dialect = s.get_bind().dialect
        assert (hot_statements._driver_form(statement, dialect) is not None) == (dialect.name == "postgresql")
        with pytest.raises(sa_exc.IntegrityError):
            hot_statements.first(s, statement, {})
        s.rollback()
        assert hot_statements.first(s, select(Course.__table__.c.id), {}) is not None  # the session goes on


def test_an_insert_with_defaults_computed_in_python_takes_sqlalchemys_path(app, world, dbs):
    c = world.classroom()
    table = ApiToken.__table__
    statement = table.insert().values(user_id=c["alice"].id, token_hash="h" * 64, label="x").returning(table.c.id)
    with app.app_context():
        s = db.session()
        assert hot_statements._driver_form(statement, s.get_bind().dialect) is None  # created_at is filled in Python
        token_id = hot_statements.first(s, statement, {})[0]
        s.commit()
    assert dbs.get(ApiToken, token_id).created_at is not None


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL")
def test_a_new_process_can_start_with_a_hot_statement(app, world, dbs):
    """gunicorn's first request may be a token check before any ORM query has set the mappers up."""
    c = world.classroom()
    token = accounts.create_token(dbs, c["alice"].email, "t")
    script = (
        "import sys\n"
        "from classroom import create_app, db\n"
        "from classroom.services import accounts\n"
        f"app = create_app({{'DATABASE_URL': {app.config['DATABASE_URL']!r}, 'SECRET_KEY': 'x'}})\n"
        "with app.app_context():\n"
        f"    user, _ = accounts.token_owner(db.session(), {token!r})\n"
        "    print(user.email)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith(c["alice"].email)


def test_the_listing_and_a_submission_run_their_hot_statements(app, world, dbs):
    """Through the API: the listing reads token, course and enrolment at once; the submission saves."""
    c = world.classroom()
    token = accounts.create_token(dbs, c["alice"].email, "t")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    listing = client.get(f"/api/v1/courses/{c['course'].code}/assignments", headers=headers)
    assert listing.status_code == 200 and listing.json["course"]["code"] == c["course"].code
    assert "Set-Cookie" not in listing.headers  # the API's session is Flask's null session
    path = f"/api/v1/assignments/{c['assignment'].id}/problems/{c['problem'].id}/submissions"
    body = {"error_step": 2, "explanation": "28 × 6 is 168.", "correction": "168", "final_answer": "168"}
    first_version = client.post(path, json=body, headers=headers)
    second_version = client.post(path, json=body, headers=headers)
    assert (first_version.status_code, second_version.status_code) == (201, 201)
    assert (first_version.json["version"], second_version.json["version"]) == (1, 2)
    assert client.get(f"/api/v1/courses/{c['course'].code}/assignments",
                      headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/courses/NOPE-99/assignments", headers=headers).status_code == 404
    with Session(app.extensions["db_engine"]) as s:
        assert s.get(User, c["alice"].id).email == c["alice"].email
