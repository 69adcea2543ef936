"""The busiest requests' statements: every API call's token check, the listing's course lookup, and a
submission's target and its INSERT.

Measured on PostgreSQL (bench/, issue 13), one such statement through the ORM cost about 230 µs of
Python, of which the query itself, sent by psycopg, was 36 µs: the rest was SQLAlchemy's execution and
loading layers. So these few statements, built once with SQLAlchemy Core, are compiled once to the
driver's SQL and run on the session's own connection by psycopg; each value gets the conversion
SQLAlchemy would apply (the UTC datetimes), SQLAlchemy's cursor events and exceptions are kept, rows
come back as plain tuples, and `attached` turns a row into the ORM object the rest of the code
expects, as though the session had loaded it. Another database (SQLite) takes the ordinary Core path,
with the same result.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Sequence, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import configure_mappers, instrumentation, make_transient_to_detached
from sqlalchemy.sql.expression import ReturnsRows
from sqlmodel import Session

T = TypeVar("T")


def first(db: Session, statement: ReturnsRows, params: dict) -> Optional[tuple]:
    """The statement's first row (a tuple), or None. The statement may write (an INSERT ... RETURNING
    inside it): it runs on the session's connection, so in the session's transaction if it has one."""
    conn = db.connection()
    driver = _driver_form(statement, conn.dialect)
    if driver is None:
        row = conn.execute(statement, params).first()
        return None if row is None else tuple(row)
    sql, fixed, convert_params, convert_columns = driver
    values = {**fixed, **params}
    for name, process in convert_params:
        values[name] = process(values[name])
    driver_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.driver_connection.cursor()
    # SQLAlchemy's cursor events still hear of the statement, so query counters (tests/test_query_budget.py)
    # and tracing see it; with no listener (a server in production) this costs nothing.
    events = conn.dispatch
    if events.before_cursor_execute:
        events.before_cursor_execute(conn, cursor, sql, values, None, False)
    try:
        # Prepared on the server at first use on each connection (psycopg keeps it per connection).
        row = cursor.execute(sql, values, prepare=True).fetchone()
    except driver_error as error:
        # The exception SQLAlchemy would raise (IntegrityError for a unique key, say), as callers expect.
        raise sa_exc.DBAPIError.instance(sql, values, error, driver_error) from error
    finally:
        cursor.close()
    if events.after_cursor_execute:
        events.after_cursor_execute(conn, cursor, sql, values, None, False)
    if row is None or not convert_columns:
        return row
    return tuple(value if process is None else process(value) for value, process in zip(row, convert_columns))


@lru_cache(maxsize=64)
def _driver_form(statement: ReturnsRows, dialect) -> Optional[tuple[str, dict, tuple, tuple]]:
    """What `first` needs to run the statement with psycopg itself: (its SQL with named parameters, the
    values it fixes itself (a LIMIT), SQLAlchemy's conversion of each parameter that has one (the UTC
    datetimes), and of each column, or None); None where the statement is not for psycopg, or where
    SQLAlchemy has work to do at execution (an INSERT's column defaults computed in Python)."""
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return None
    compiled = statement.compile(dialect=dialect)
    binds = compiled.binds
    if compiled.positional or any(b.expanding for b in binds.values()):
        return None
    if compiled.insert_prefetch or compiled.update_prefetch:  # defaults SQLAlchemy computes at execution
        return None
    fixed = {name: b.value for name, b in binds.items() if b.value is not None}
    convert_params = tuple((name, process) for name, process in
                           ((name, b.type.bind_processor(dialect)) for name, b in binds.items()) if process)
    convert_columns = tuple(column.type.result_processor(dialect, None) for column in statement.exported_columns)
    return compiled.string, fixed, convert_params, (convert_columns if any(convert_columns) else ())


@lru_cache(maxsize=None)
def columns_of(model: type) -> tuple:
    """The model's table columns, in the order `attached` takes their values."""
    return tuple(model.__table__.columns)


@lru_cache(maxsize=None)
def _attribute_names(model: type) -> tuple[str, ...]:
    # A query would set the mappers up on first use; in a new process this may come before any query.
    configure_mappers()
    mapper = sa_inspect(model)
    return tuple(mapper.get_property_by_column(c).key for c in columns_of(model))


def attached(db: Session, model: type[T], values: Sequence) -> T:
    """The `model` object whose columns (in `columns_of(model)` order) hold `values`, persistent in `db`.
    If the session already holds that row, its object is returned, as a query would."""
    return attached_row(db, model, dict(zip(_attribute_names(model), values)))


def attached_row(db: Session, model: type[T], row: dict) -> T:
    """As `attached`, from every column's value by attribute name (a row just written whole, say)."""
    if len(row) != len(_attribute_names(model)):
        raise ValueError(f"{model.__name__}: every column needs a value; missing "
                         f"{sorted(set(_attribute_names(model)) - set(row))}")
    mapper = sa_inspect(model)
    key = mapper.identity_key_from_primary_key([row[c.key] for c in mapper.primary_key])
    known = db.identity_map.get(key)
    if known is not None:
        return known
    # Made as the ORM makes the objects a query loads (not through __init__, whose defaults and
    # bookkeeping cost four times as much), then given the identity of the row it came from, unchanged.
    obj = instrumentation.manager_of_class(model).new_instance()
    obj.__dict__.update(row)
    make_transient_to_detached(obj)
    db.add(obj)
    return obj
