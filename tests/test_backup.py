"""`flask --app app backup PATH`: a consistent copy of a live SQLite database."""
from __future__ import annotations

import sqlite3
import subprocess
import threading
import time

import pytest
from sqlalchemy import insert, text

from classroom import create_app
from classroom.backup import backup_command
from classroom.models import AuditLog
from process_support import app_env, flask_args
from support import PROJECT_ROOT


@pytest.fixture
def backend():
    """Overrides conftest's: the command copies SQLite files (PostgreSQL is refused, tested below)."""
    return "sqlite"


def _db_path(app) -> str:
    return app.config["DATABASE_URL"].split("sqlite:///", 1)[1]


def test_backup_while_another_thread_writes(app, tmp_path):
    engine = app.extensions["db_engine"]
    with engine.begin() as conn:  # some megabytes, so the copy takes many steps
        conn.execute(insert(AuditLog), [{"action": "bulk", "target": f"row {n}", "details": {"pad": "p" * 2000}}
                                        for n in range(3000)])
    committed: list[int] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer():
        try:
            while not stop.is_set():
                with engine.begin() as conn:
                    row_id = conn.execute(insert(AuditLog).values(action="live", target="w", details={})).inserted_primary_key[0]
                committed.append(row_id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(committed) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = committed[-1]  # committed before the backup started
        dest = tmp_path / "copy.sqlite3"
        result = subprocess.run(flask_args("backup", str(dest), "--pages-per-step", "16"), cwd=PROJECT_ROOT,
                                env=app_env(app.config), capture_output=True, text=True, timeout=120)
        during = committed[-1]
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors
    assert result.returncode == 0, result.stdout + result.stderr
    assert during > before, "the writer did not write while the backup ran"
    assert "pages (" in result.stderr and "%" in result.stderr  # progress for a big database
    assert "integrity check ok" in result.stdout
    assert not list(tmp_path.glob(".copy.sqlite3.partial-*"))
    con = sqlite3.connect(dest)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
        ids = [r[0] for r in con.execute("SELECT id FROM audit_log WHERE action = 'live' ORDER BY id")]
    finally:
        con.close()
    assert set(committed[: committed.index(before) + 1]) <= set(ids), "rows committed before the backup are missing"
    # A snapshot of one instant: the live rows it holds are exactly the first ones committed, no gaps.
    assert ids == committed[: len(ids)]
    # The copy is a working database for the app.
    restored = create_app(dict(app.config, DATABASE_URL=f"sqlite:///{dest}"))
    with restored.extensions["db_engine"].connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'bulk'")).scalar() == 3000
    restored.extensions["db_engine"].dispose()


def test_backup_refuses_to_overwrite_or_copy_onto_itself(app, tmp_path):
    runner = app.test_cli_runner()
    existing = tmp_path / "exists.sqlite3"
    existing.write_bytes(b"keep me")
    result = runner.invoke(backup_command, [str(existing)])
    assert result.exit_code != 0 and "already exists" in result.output and "--force" in result.output
    assert existing.read_bytes() == b"keep me"
    result = runner.invoke(backup_command, [_db_path(app)])
    assert result.exit_code != 0 and "live database itself" in result.output
    result = runner.invoke(backup_command, [str(existing), "--force"])
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(existing)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()


def test_backup_refuses_postgresql_and_names_pg_dump(app_config, tmp_path):
    config = dict(app_config, DATABASE_URL="postgresql://classroom:s3cret-pw@db.internal:5433/classroom")
    pg_app = create_app(config)  # no connection is made: the command refuses before touching it
    result = pg_app.test_cli_runner().invoke(backup_command, [str(tmp_path / "x.dump")])
    assert result.exit_code != 0
    assert "pg_dump --format=custom" in result.output and "--host=db.internal" in result.output
    assert "--port=5433" in result.output and "--username=classroom" in result.output
    assert "pg_restore" in result.output
    assert "s3cret-pw" not in result.output  # never print the password
    assert not (tmp_path / "x.dump").exists()
