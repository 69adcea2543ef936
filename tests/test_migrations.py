"""The Alembic migrations build exactly the schema the models describe."""
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import classroom.models  # noqa: F401
from classroom.db import make_engine, normalise_url
from classroom.migrate import upgrade_to_head

from support import PG_URL


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, SQLModel.metadata)


def test_sqlite_migrations_match_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    upgrade_to_head(url)
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) >= {t.name for t in SQLModel.metadata.sorted_tables}
    assert _diff(engine) == []
    upgrade_to_head(url)  # running it again changes nothing
    assert _diff(engine) == []


@pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set")
def test_postgresql_migrations_match_models():
    admin = make_engine(PG_URL)
    # A name of its own, so two runs on one server (CI and a developer) never drop each other's database.
    name = f"classroom_migration_check_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalise_url(PG_URL).rsplit("/", 1)[0] + "/" + name
    try:
        upgrade_to_head(url)
        engine = make_engine(url)
        assert _diff(engine) == []
        engine.dispose()
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
