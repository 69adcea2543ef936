"""Where PyLTI1p3 keeps a launch's state, nonce and launch data: on the server, not in the cookie session.

An LMS opens the tool in an iframe and posts the launch from its own site. A browser drops a
`SameSite=Lax` session cookie on that cross-site POST, and blocks third-party cookies more and more
(Safari always, Chrome in some modes), so nothing the launch needs may live in a cookie. This store is
PyLTI1p3's `LaunchDataStorage`: Redis when REDIS_URL is set (keys expire by themselves), else the
`lti_launch_data` table (expired rows are swept at each login).

The records are keyed by the state and the nonce alone (no per-browser session id: that would be a
cookie again). Each is good for one launch: `take` removes it atomically, so of two posts of the same
id_token only one gets through. See docs/lti.md.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from ..models import LtiLaunchData

STATE_LIFETIME = 10 * 60  # seconds from login initiation to launch
LAUNCH_LIFETIME = 60 * 60  # a deep-linking launch waits this long for the instructor's choice


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class _RedisRecords:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url)

    def set(self, key: str, value: Any, seconds: int) -> None:
        self.client.set(key, json.dumps(value), ex=seconds)

    def get(self, key: str) -> Any:
        raw = self.client.get(key)
        return None if raw is None else json.loads(raw)

    def take(self, key: str) -> Any:
        raw = self.client.getdel(key)
        return None if raw is None else json.loads(raw)

    def sweep(self) -> None:
        pass  # Redis expires keys itself


class _TableRecords:
    """Rows of lti_launch_data, each operation in a session (and transaction) of its own, so that a record
    is saved or spent at once, whatever the request's own session holds."""

    def __init__(self, db: Session):
        self.engine = db.get_bind()

    def set(self, key: str, value: Any, seconds: int) -> None:
        # One statement (INSERT ... ON CONFLICT DO UPDATE): a read-then-write here raced with a concurrent
        # launch spending the same key (PyLTI1p3 writes `<state>-id-token-hash` in every post of a launch),
        # whose DELETE left the UPDATE matching no row.
        row = {"key": key, "value": {"v": value}, "expires_at": _now() + timedelta(seconds=seconds)}
        insert = (postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert)(LtiLaunchData)
        statement = insert.values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[LtiLaunchData.key],
            set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at})
        with Session(self.engine) as s:
            s.exec(statement)
            s.commit()

    def get(self, key: str) -> Any:
        with Session(self.engine) as s:
            row = s.get(LtiLaunchData, key)
            if row is None or _aware(row.expires_at) <= _now():
                return None
            return row.value["v"]

    def take(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            return None
        # Only one of two concurrent launches deletes the row: the other finds nothing to delete.
        with Session(self.engine) as s:
            gone = s.exec(delete(LtiLaunchData).where(LtiLaunchData.key == key))
            s.commit()
        return value if gone.rowcount == 1 else None

    def sweep(self) -> None:
        with Session(self.engine) as s:
            s.exec(delete(LtiLaunchData).where(LtiLaunchData.expires_at < _now()))
            s.commit()


def launch_store(db: Session, redis_url: Optional[str]):
    """PyLTI1p3's launch data storage on Redis (REDIS_URL) or the database."""
    from pylti1p3.launch_data_storage.base import LaunchDataStorage

    records = _RedisRecords(redis_url) if redis_url else _TableRecords(db)

    class ServerLaunchStore(LaunchDataStorage):
        def get_session_cookie_name(self):
            return None  # no per-browser session id: the launch must work without any cookie

        def can_set_keys_expiration(self):
            return True

        def get_value(self, key):
            return records.get(self._prepare_key(key))

        def set_value(self, key, value, exp=None):
            records.set(self._prepare_key(key), value, int(exp or STATE_LIFETIME))

        def check_value(self, key):
            return records.get(self._prepare_key(key)) is not None

        def take(self, key):
            """The value, removed so that nobody gets it again; None when it was not there (any more)."""
            return records.take(self._prepare_key(key))

        def sweep(self):
            records.sweep()

    return ServerLaunchStore()
