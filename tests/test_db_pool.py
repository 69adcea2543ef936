"""The PostgreSQL pool tests a connection that sat idle before handing it out (db._ping_when_idle), so a
server restart or a killed backend costs no request an error, while a connection back in the pool a
moment ago is handed out without that extra round trip."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from classroom import db
from support import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL: set TEST_DATABASE_URL")


@pytest.fixture
def engine():
    engine = db.make_engine(PG_URL)
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _kill(pid: int) -> None:
    other = db.make_engine(PG_URL)
    try:
        with other.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        other.dispose()


def _count_pings(monkeypatch) -> list[int]:
    pings: list[int] = []
    ping = db._ping

    def counted(engine, dbapi_conn):
        pings.append(1)
        return ping(engine, dbapi_conn)

    monkeypatch.setattr(db, "_ping", counted)
    return pings


def test_a_dead_idle_connection_is_replaced_without_an_error(engine, monkeypatch):
    pings = _count_pings(monkeypatch)
    pid = _backend_pid(engine)
    _kill(pid)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection counts as idle
    assert _backend_pid(engine) != pid  # the ping found the dead one; the pool opened a new connection
    assert pings == [1, 1]


def test_a_connection_back_a_moment_ago_is_not_pinged(engine, monkeypatch):
    _backend_pid(engine)  # one connection, now in the pool
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60.0)
    pings = _count_pings(monkeypatch)
    _backend_pid(engine)
    assert pings == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _backend_pid(engine)
    assert pings == [1]  # idle long enough: tested first, then used
    with engine.connect() as conn:  # the ping left no transaction behind: autocommit can still be set
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("SELECT 1"))
