"""The course's listing stamp: `course.listing_version`, bumped by the database itself.

Every student of a course gets the same assignment listing, so the API serves it from a cache keyed
by the course's stamp (api/listing_cache.py). Triggers bump the stamp on every insert, update or
delete of what a listing shows: the course's assignments, their problem lists, the problems in them
and those problems' solutions. Being triggers, they see every write: the ORM's, Core statements,
bulk imports and a hand-typed UPDATE alike, so no service has to remember to bump anything.

A change that does not show in the listing (a problem's grader notes, say) bumps the stamp too;
the only cost is one rebuilt listing.

The same statements are created by `SQLModel.metadata.create_all` (tests, `init-db` on a new
database) and by migration 0014 (an existing database).
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

BUMP = "UPDATE course SET listing_version = listing_version + 1 WHERE id IN ({courses})"

# For each table: which courses a row belongs to, written with {row} for NEW or OLD.
COURSES_OF = {
    "assignment": "{row}.course_id",
    "assignment_problem": "SELECT course_id FROM assignment WHERE id = {row}.assignment_id",
    "problem": ("SELECT a.course_id FROM assignment a JOIN assignment_problem ap ON ap.assignment_id = a.id "
                "WHERE ap.problem_id = {row}.id"),
    "flawed_solution": ("SELECT a.course_id FROM assignment a JOIN assignment_problem ap ON ap.assignment_id = a.id "
                        "WHERE ap.problem_id = {row}.problem_id"),
}


def _bump(table: str, row: str) -> str:
    return BUMP.format(courses=COURSES_OF[table].format(row=row))


def sqlite_statements() -> list[str]:
    out = []
    for table in COURSES_OF:
        for op, rows in (("INSERT", ["NEW"]), ("UPDATE", ["OLD", "NEW"]), ("DELETE", ["OLD"])):
            name = f"listing_stamp_{table}_{op.lower()}"
            body = " ".join(_bump(table, row) + ";" for row in rows)
            out.append(f"DROP TRIGGER IF EXISTS {name}")
            out.append(f"CREATE TRIGGER {name} AFTER {op} ON {table} FOR EACH ROW BEGIN {body} END")
    return out


def postgresql_statements() -> list[str]:
    out = []
    for table in COURSES_OF:
        name = f"listing_stamp_{table}"
        out.append(f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {_bump(table, 'OLD')}; END IF;
  IF TG_OP <> 'DELETE' THEN {_bump(table, 'NEW')}; END IF;
  RETURN NULL;
END $$""")
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        out.append(f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {name}()")
    return out


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [s for table in COURSES_OF for s in (f"DROP TRIGGER IF EXISTS listing_stamp_{table} ON {table}",
                                                     f"DROP FUNCTION IF EXISTS listing_stamp_{table}()")]
    return [f"DROP TRIGGER IF EXISTS listing_stamp_{table}_{op}" for table in COURSES_OF
            for op in ("insert", "update", "delete")]


def install(conn: Connection) -> None:
    """Create (or replace) the triggers on this connection's database."""
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise RuntimeError(f"the listing stamp's triggers are written for SQLite and PostgreSQL, not {dialect}")
    for statement in postgresql_statements() if dialect == "postgresql" else sqlite_statements():
        conn.exec_driver_sql(statement)


@event.listens_for(SQLModel.metadata, "after_create")
def _after_create(_metadata, conn: Connection, **_kw) -> None:
    install(conn)
