"""Database engine and the per-request session.

SQLite (the default) gets WAL and foreign keys; PostgreSQL is used as it is.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from functools import wraps
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and drive both with psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


# A pooled connection that sat unused this long is tested with a round trip before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, but only for connections that sat idle: under load a connection comes
    back to the pool within milliseconds, and testing it at every checkout cost a round trip per request
    (a fifth of a listing's database time). After a server restart the first checkout of each idle
    connection still finds it dead and the pool opens a new one, as pre-ping would."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _note_idle(_dbapi_conn, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) >= PING_AFTER_IDLE_SECONDS:
            _ping(engine, dbapi_conn)


def _ping(engine: Engine, dbapi_conn) -> None:
    try:
        cursor = dbapi_conn.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_conn.rollback()  # leave no transaction open: the caller may want autocommit
    except engine.dialect.loaded_dbapi.Error as error:
        # The pool discards this connection and checks out another (SQLAlchemy's documented recipe).
        raise exc.DisconnectionError(str(error)) from error


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    # The same pool, each statement committing by itself: for the views marked @autocommit, on PostgreSQL.
    # (SQLite has no round trips to save, and its multi-statement writes keep their transactions.)
    app.extensions["db_autocommit_engine"] = (engine.execution_options(isolation_level="AUTOCOMMIT")
                                              if engine.dialect.name == "postgresql" else engine)
    app.teardown_request(_close_session)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["db_engine"]


def session() -> Session:
    """The session of the current app context (one per request or command)."""
    if "db_session" not in g:
        bind = current_app.extensions["db_autocommit_engine"] if g.get("db_autocommit") else engine()
        g.db_session = Session(bind, expire_on_commit=False)
    return g.db_session


def autocommit(view):
    """For a busy view whose every write is a single statement that stands alone (a token's last use, a
    submission saved with its job in one INSERT): on PostgreSQL its session sends no BEGIN, COMMIT or
    ROLLBACK, two of a three-query request's five round trips. Reads lose nothing: READ COMMITTED gives
    each statement its own snapshot inside a transaction too. Put it outside @token_required, whose lookup
    it then covers."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.db_autocommit = True
        return view(*args, **kwargs)

    return wrapper


@contextmanager
def fresh_session() -> Iterator[Session]:
    """A session of its own, for background jobs that must not share state."""
    with Session(engine(), expire_on_commit=False) as s:
        yield s


def _close_session(_exc) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()
