"""`flask --app app backup PATH`: a consistent copy of the live SQLite database.

SQLite's online backup API copies page by page while the app keeps running. The
source connection holds one read transaction for the whole copy, so the copy is
the database as it was at one instant (with WAL, writers are not blocked and do
not force the copy to restart). The copy is written beside PATH, checked with
PRAGMA integrity_check and only then renamed into place, so PATH never holds a
half-written file. PostgreSQL has its own tool (pg_dump); we point to it.
"""
from __future__ import annotations

import os
import shlex
import sqlite3
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from .db import normalise_url


def _pg_dump_hint(url, path: str) -> str:
    # Built from the parts, so a password in DATABASE_URL is never printed.
    conn = [f"--host={url.host}"] if url.host else []
    conn += [f"--port={url.port}"] if url.port else []
    conn += [f"--username={url.username}"] if url.username else []
    conn += [f"--dbname={url.database or ''}"]
    parts = ["pg_dump", "--format=custom", f"--file={path}", *conn]
    restore = ["pg_restore", "--clean", "--if-exists", "--no-owner", *conn, path]
    return ("DATABASE_URL is PostgreSQL; this command copies SQLite databases only. Back up PostgreSQL with "
            "pg_dump (it takes a consistent snapshot while the app runs; the password comes from PGPASSWORD "
            "or ~/.pgpass):\n  " + shlex.join(parts) + "\nRestore it with:\n  " + shlex.join(restore))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH if it already exists.")
@click.option("--pages-per-step", default=2048, show_default=True, type=click.IntRange(1),
              help="Pages copied per step (SQLite pages are usually 4 KiB); progress is shown between steps.")
@with_appcontext
def backup_command(path: str, force: bool, pages_per_step: int):
    """Copy the live SQLite database to PATH, consistently, while the app keeps running."""
    url = make_url(normalise_url(current_app.config["DATABASE_URL"]))
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(_pg_dump_hint(url, path))
    if not url.database or url.database == ":memory:":
        raise click.ClickException("DATABASE_URL names an in-memory database; there is no file to back up.")
    source = Path(url.database).resolve()
    if not source.is_file():
        raise click.ClickException(f"The database file {source} does not exist (run `flask --app app init-db`).")
    dest = Path(path).resolve()
    if dest == source:
        raise click.ClickException("PATH is the live database itself; choose another file.")
    if dest.exists() and not force:
        raise click.ClickException(f"{dest} already exists; choose a new name or add --force to replace it.")
    if not dest.parent.is_dir():
        raise click.ClickException(f"The folder {dest.parent} does not exist.")

    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    started = time.monotonic()
    last_report = [0.0]

    def progress(_status, remaining, total):
        now = time.monotonic()
        if total > pages_per_step and (now - last_report[0] >= 1.0 or remaining == 0):
            last_report[0] = now
            done = total - remaining
            click.echo(f"  copied {done:,} of {total:,} pages ({100 * done // max(total, 1)}%)", err=True)

    src = sqlite3.connect(str(source), timeout=30, isolation_level=None)
    dst = sqlite3.connect(str(partial), isolation_level=None)
    try:
        # One read transaction for the whole copy: a single snapshot, however long the copy takes.
        src.execute("BEGIN")
        total = src.execute("PRAGMA page_count").fetchone()[0]
        page_size = src.execute("PRAGMA page_size").fetchone()[0]
        click.echo(f"Backing up {source} ({total * page_size / 1e6:.1f} MB) to {dest}", err=True)
        src.backup(dst, pages=pages_per_step, progress=progress)
        src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = dst.execute("PRAGMA integrity_check").fetchall()
        if check != [("ok",)]:
            raise click.ClickException(f"The copy failed its integrity check: {check[:5]}")
        dst.close()
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, dest)
    except sqlite3.Error as exc:
        raise click.ClickException(f"The backup failed: {exc}") from exc
    finally:
        src.close()
        dst.close()
        if partial.exists():
            partial.unlink()
    click.echo(f"Backup written to {dest} ({dest.stat().st_size / 1e6:.1f} MB) in "
               f"{time.monotonic() - started:.1f} s; integrity check ok.")
