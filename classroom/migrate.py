"""Running Alembic from the app: the schema lives in migrations/."""
from __future__ import annotations

from pathlib import Path

from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from . import listing_stamp
from .db import make_engine, normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would eat a '%' in a password.
    cfg.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return cfg


def current_revision(database_url: str) -> Optional[str]:
    """The schema's Alembic revision, or None for a database that has none yet (new or empty)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade_to_head(database_url: str) -> tuple[Optional[str], str]:
    """Upgrade the schema; returns (the revision before, the head it is at now)."""
    before = current_revision(database_url)
    command.upgrade(alembic_config(database_url), "head")
    # The listing stamp's triggers again, in case a later migration rebuilt one of their tables
    # (SQLite's batch mode copies a table into a new one, and its triggers do not follow).
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            listing_stamp.install(conn)
    finally:
        engine.dispose()
    return before, head_revision()
